"""Template entities (``scaffolder.backstage.io/v1beta3``, kind ``Template``) as plain data.

Public API::

    template = parse_template(entity_dict)        # TemplateError with a clear message when malformed
    template.parameter_steps                       # list[ParameterStep] (title, schema)
    template.steps                                 # list[TemplateStep] (id, name, action, input, if_, each)
    template.output                                # {"links": [...], "text": [...], ...} unrendered
    template.secret_parameter_names()              # parameters shown as Secret fields / password widgets
    template.secret_values(values)                 # their given values, for log redaction

``spec.parameters`` is either one object schema or a list of form pages, each an object
schema with an optional ``title``; both are normalised to a list of ParameterStep.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

API_VERSION = "scaffolder.backstage.io/v1beta3"
_STEP_ID_RE = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]*$")
_ACTION_ID_RE = re.compile(r"^[A-Za-z0-9_:.-]+$")


class TemplateError(ValueError):
    """The template entity is malformed; the message names the field."""


@dataclass(frozen=True)
class ParameterStep:
    title: str | None
    schema: dict[str, Any]

    @property
    def properties(self) -> dict[str, Any]:
        props = self.schema.get("properties")
        return props if isinstance(props, dict) else {}


@dataclass(frozen=True)
class TemplateStep:
    id: str
    name: str
    action: str
    input: dict[str, Any] = field(default_factory=dict)
    if_: Any = None  # None (always), a bool, or a string expression
    each: Any = None  # None, a list/dict, or a string expression giving one


@dataclass(frozen=True)
class Template:
    name: str
    namespace: str
    title: str | None
    description: str | None
    owner: str | None
    type: str | None
    parameter_steps: list[ParameterStep]
    steps: list[TemplateStep]
    output: dict[str, Any]
    metadata: dict[str, Any]
    raw: dict[str, Any]

    @property
    def ref(self) -> str:
        return f"template:{self.namespace}/{self.name}"

    def iter_parameters(self) -> Iterator[tuple[str, dict[str, Any]]]:
        """(name, property schema) for every property of every page, including dependencies."""
        for page in self.parameter_steps:
            yield from _iter_properties(page.schema)

    def secret_parameter_names(self) -> list[str]:
        names: list[str] = []
        for name, schema in self.iter_parameters():
            options = schema.get("ui:options") if isinstance(schema.get("ui:options"), dict) else {}
            widget = schema.get("ui:widget") or options.get("widget")
            if schema.get("ui:field") == "Secret" or widget == "password":
                if name not in names:
                    names.append(name)
        return names

    def secret_values(self, values: Mapping[str, Any]) -> list[str]:
        found: list[str] = []
        for name in self.secret_parameter_names():
            value = values.get(name)
            if isinstance(value, str | int | float) and not isinstance(value, bool) and str(value):
                found.append(str(value))
        return found


def _iter_properties(schema: Any) -> Iterator[tuple[str, dict[str, Any]]]:
    if not isinstance(schema, dict):
        return
    props = schema.get("properties")
    if isinstance(props, dict):
        for name, prop in props.items():
            if isinstance(prop, dict):
                yield str(name), prop
    # Conditional parts of a form (JSON Schema dependencies / allOf / oneOf ...).
    for key in ("allOf", "anyOf", "oneOf"):
        for sub in schema.get(key) or []:
            yield from _iter_properties(sub)
    for key in ("then", "else", "if"):
        yield from _iter_properties(schema.get(key))
    deps = schema.get("dependencies")
    if isinstance(deps, dict):
        for dep in deps.values():
            yield from _iter_properties(dep)


def parse_template(entity: Any) -> Template:
    """Check and normalise a Template entity; raise TemplateError naming the bad field."""
    if not isinstance(entity, Mapping):
        raise TemplateError("a template must be a mapping with apiVersion, kind, metadata and spec")
    if entity.get("apiVersion") != API_VERSION:
        raise TemplateError(
            f"apiVersion must be {API_VERSION!r}, got {entity.get('apiVersion')!r} "
            "(older beta2 templates are not supported)"
        )
    if entity.get("kind") != "Template":
        raise TemplateError(f"kind must be 'Template', got {entity.get('kind')!r}")
    metadata = entity.get("metadata")
    if not isinstance(metadata, Mapping) or not isinstance(metadata.get("name"), str) or not metadata["name"]:
        raise TemplateError("metadata.name is required and must be text")
    spec = entity.get("spec")
    if not isinstance(spec, Mapping):
        raise TemplateError("spec is required and must be a mapping")

    return Template(
        name=metadata["name"],
        namespace=_optional_text(metadata, "namespace", "metadata") or "default",
        title=_optional_text(metadata, "title", "metadata"),
        description=_optional_text(metadata, "description", "metadata"),
        owner=_optional_text(spec, "owner", "spec"),
        type=_optional_text(spec, "type", "spec"),
        parameter_steps=_parse_parameters(spec.get("parameters")),
        steps=_parse_steps(spec.get("steps")),
        output=_parse_output(spec.get("output")),
        metadata=dict(metadata),
        raw=dict(entity),
    )


def _optional_text(mapping: Mapping[str, Any], key: str, where: str) -> str | None:
    value = mapping.get(key)
    if value is None:
        return None
    if not isinstance(value, str):
        raise TemplateError(f"{where}.{key} must be text, got {type(value).__name__}")
    return value


def _parse_parameters(raw: Any) -> list[ParameterStep]:
    if raw is None:
        return []
    pages = raw if isinstance(raw, list) else [raw]
    if not isinstance(raw, list | Mapping):
        raise TemplateError("spec.parameters must be an object schema or a list of them")
    result: list[ParameterStep] = []
    for index, page in enumerate(pages):
        where = f"spec.parameters[{index}]" if isinstance(raw, list) else "spec.parameters"
        if not isinstance(page, Mapping):
            raise TemplateError(f"{where} must be an object schema, got {type(page).__name__}")
        title = page.get("title")
        if title is not None and not isinstance(title, str):
            raise TemplateError(f"{where}.title must be text")
        props = page.get("properties")
        if props is not None and not isinstance(props, Mapping):
            raise TemplateError(f"{where}.properties must be a mapping of field names to schemas")
        for name, prop in (props or {}).items():
            if not isinstance(prop, Mapping):
                raise TemplateError(f"{where}.properties.{name} must be a schema (a mapping)")
        required = page.get("required")
        if required is not None and (
            not isinstance(required, list) or not all(isinstance(r, str) for r in required)
        ):
            raise TemplateError(f"{where}.required must be a list of field names")
        result.append(ParameterStep(title=title, schema=dict(page)))
    return result


def _parse_steps(raw: Any) -> list[TemplateStep]:
    if raw is None:
        return []
    if not isinstance(raw, list):
        raise TemplateError("spec.steps must be a list")
    steps: list[TemplateStep] = []
    seen: set[str] = set()
    for index, item in enumerate(raw):
        where = f"spec.steps[{index}]"
        if not isinstance(item, Mapping):
            raise TemplateError(f"{where} must be a mapping with at least an action")
        action = item.get("action")
        if not isinstance(action, str) or not _ACTION_ID_RE.match(action):
            raise TemplateError(f"{where}.action is required and must be an action id like 'fetch:template'")
        step_id = item.get("id", f"step-{index + 1}")
        if not isinstance(step_id, str) or not _STEP_ID_RE.match(step_id):
            raise TemplateError(f"{where}.id must be text of letters, digits, '-', '_' or '.', got {step_id!r}")
        if step_id in seen:
            raise TemplateError(f"{where}.id {step_id!r} is used by more than one step")
        seen.add(step_id)
        name = item.get("name", step_id)
        if not isinstance(name, str):
            raise TemplateError(f"{where}.name must be text")
        step_input = item.get("input", {})
        if step_input is None:
            step_input = {}
        if not isinstance(step_input, Mapping):
            raise TemplateError(f"{where}.input must be a mapping")
        condition = item.get("if")
        if condition is not None and not isinstance(condition, bool | str):
            raise TemplateError(f"{where}.if must be a boolean or an expression text")
        each = item.get("each")
        if each is not None and not isinstance(each, str | list | Mapping):
            raise TemplateError(f"{where}.each must be a list, a mapping or an expression text")
        steps.append(
            TemplateStep(id=step_id, name=name, action=action, input=dict(step_input), if_=condition, each=each)
        )
    return steps


def _parse_output(raw: Any) -> dict[str, Any]:
    if raw is None:
        return {}
    if not isinstance(raw, Mapping):
        raise TemplateError("spec.output must be a mapping")
    for key in ("links", "text"):
        items = raw.get(key)
        if items is None:
            continue
        if not isinstance(items, list) or not all(isinstance(i, Mapping) for i in items):
            raise TemplateError(f"spec.output.{key} must be a list of mappings")
    return dict(raw)
