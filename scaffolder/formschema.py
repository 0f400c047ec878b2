"""Form model for the parameters of Backstage software templates.

A ``scaffolder.backstage.io/v1beta3`` Template carries ``spec.parameters``: one JSON Schema
object, or a list of them, each a step of a wizard.  Properties carry react-jsonschema-form
hints inline (``ui:widget``, ``ui:field``, ``ui:options``, ``ui:order``, ...).  This module turns
them into a neutral description of form fields, computes which fields are visible for the
current values, converts HTML form posts into typed values, and validates them with
jsonschema (Draft 7, as the Backstage frontend does).  It imports nothing from Django.

Public API
----------
``parameter_steps(parameters) -> list[FormStep]``
    Normalise ``spec.parameters`` into steps.  Raises ``FormSchemaError`` for anything that
    cannot become a form (not a mapping, invalid JSON Schema, bad ``$ref``, bad regex, ...).
    ``FormStep.fields`` are the fields visible before the user typed anything (defaults
    applied), ``FormStep.all_fields`` every field any conditional branch can show,
    ``FormStep.controlling`` the dotted names whose change can show or hide other fields.
``fields_for(step, values) -> list[FieldSpec]``
    Fields visible for ``values`` (``dependencies``, ``if``/``then``/``else``, ``allOf``).
``coerce(step, raw) -> Coerced``
    Raw form strings (a dict of ``str`` or ``list[str]``, or anything with ``getlist`` such as
    a Django ``QueryDict``) into typed values; ``Coerced.errors`` holds input that could not
    be converted (e.g. "Enter a whole number").  Empty optional inputs are left out; an empty
    input whose field has a ``default`` gets the default; an unticked checkbox is ``False``.
``validate_step(step, values, extra_constraints=None) -> dict[str, list[str]]``
``validate_all(parameters, values, extra_constraints=None) -> dict[str, list[str]]``
    Error messages per dotted field name; errors not tied to a field use ``NON_FIELD``.
    ``extra_constraints`` maps a dotted field name to more JSON Schema the value must also
    satisfy (admin guardrails); ``{"required": true}`` inside it makes the field mandatory.
``clean_step(step, raw, extra_constraints=None) -> Coerced``
    ``coerce`` then ``validate_step``, with conversion errors taking precedence.
``review_rows(parameters, values, secrets_masked=True) -> list[ReviewRow]``
``secret_fields(parameters) -> set[str]``
``example_values(parameters) -> dict``
    A set of values built from defaults, enums, formats and patterns that validates where
    the schema allows it to (for tests and dry runs).

Field kinds (``FieldSpec.kind``, all listed in ``KINDS``): ``string``, ``textarea``,
``password``, ``secret``, ``integer``, ``number``, ``boolean``, ``select``, ``radio``,
``multiselect``, ``checkboxes``, ``list`` (array of scalars typed by ``item_type``),
``json`` (free-form object or array of objects, entered as JSON), ``hidden``, and the
Backstage pickers ``owner_picker``, ``entity_picker``, ``owned_entity_picker``,
``multi_entity_picker``, ``entity_name_picker``, ``entity_tags_picker``, ``repo_url_picker``,
``repo_branch_picker``, ``repo_owner_picker``, ``my_groups_picker``.  Objects with properties
are flattened: their fields get dotted names (``db.size``) and a ``group`` label.

Where a property is defined both in the base schema and in a conditional branch, the two
definitions are merged key by key (the branch wins), as the form renderer does.
"""

from __future__ import annotations

import copy
import datetime
import functools
import json
import math
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any
from urllib.parse import urlsplit

from jsonschema import Draft7Validator, FormatChecker
from jsonschema.exceptions import SchemaError

__all__ = [
    "KINDS",
    "MASK",
    "NON_FIELD",
    "Choice",
    "Coerced",
    "FieldSpec",
    "FormSchemaError",
    "FormStep",
    "ReviewRow",
    "clean_step",
    "coerce",
    "example_values",
    "fields_for",
    "parameter_steps",
    "review_rows",
    "secret_fields",
    "validate_all",
    "validate_step",
]

MASK = "••••••"
NON_FIELD = "__all__"

PICKER_KINDS: dict[str, str] = {
    "OwnerPicker": "owner_picker",
    "EntityPicker": "entity_picker",
    "OwnedEntityPicker": "owned_entity_picker",
    "MultiEntityPicker": "multi_entity_picker",
    "EntityNamePicker": "entity_name_picker",
    "EntityTagsPicker": "entity_tags_picker",
    "RepoUrlPicker": "repo_url_picker",
    "RepoBranchPicker": "repo_branch_picker",
    "RepoOwnerPicker": "repo_owner_picker",
    "MyGroupsPicker": "my_groups_picker",
}
KINDS = frozenset(
    {
        "string",
        "textarea",
        "password",
        "secret",
        "integer",
        "number",
        "boolean",
        "select",
        "radio",
        "multiselect",
        "checkboxes",
        "list",
        "json",
        "hidden",
        *PICKER_KINDS.values(),
    }
)
# Kinds whose value is an array entered as several values (or one comma/newline separated text).
_FREE_LIST_KINDS = frozenset({"list", "entity_tags_picker", "multi_entity_picker"})
_CHOICE_LIST_KINDS = frozenset({"multiselect", "checkboxes"})

CONSTRAINT_KEYS = (
    "pattern",
    "minLength",
    "maxLength",
    "format",
    "minimum",
    "maximum",
    "exclusiveMinimum",
    "exclusiveMaximum",
    "multipleOf",
    "minItems",
    "maxItems",
    "uniqueItems",
)
# Keywords whose values are data, not schemas: never walked as schemas.
_DATA_KEYWORDS = frozenset({"enum", "const", "default", "examples", "enumNames"})
_CONDITIONAL_KEYWORDS = frozenset({"dependencies", "if", "then", "else", "allOf"})
# Keywords a conditional part contributes through merging rather than as a residual constraint.
_MERGED_KEYWORDS = frozenset({"properties", "required", "title", "description", "type"}) | _CONDITIONAL_KEYWORDS

_MAX_REF_NODES = 20_000
_MAX_DEPTH = 24
_MAX_CONDITIONAL_PARTS = 500

_TRUE_STRINGS = frozenset({"on", "true", "1", "yes", "y", "checked"})
_FALSE_STRINGS = frozenset({"off", "false", "0", "no", "n", ""})


class FormSchemaError(ValueError):
    """The template's parameters cannot be turned into a form; the message says why."""


class _Absent:
    """Marker for 'no value': distinct from ``None``, which is a JSON value."""

    def __repr__(self) -> str:
        return "ABSENT"


ABSENT: Any = _Absent()


@dataclass(frozen=True)
class Choice:
    """One option of a select, radio group or multi-select.

    ``key`` is the string sent by the HTML form (the value itself for strings, its JSON text
    otherwise); ``value`` is the typed JSON value.
    """

    value: Any
    label: str
    key: str


@dataclass(frozen=True)
class FieldSpec:
    """Everything a form layer needs to render and read one input."""

    name: str
    kind: str
    label: str
    json_type: str | None = None
    item_type: str | None = None
    help: str = ""
    placeholder: str = ""
    required: bool = False
    has_default: bool = False
    default: Any = None
    choices: tuple[Choice, ...] = ()
    constraints: dict[str, Any] = field(default_factory=dict)
    widget: str | None = None
    ui_field: str | None = None
    options: dict[str, Any] = field(default_factory=dict)
    autofocus: bool = False
    readonly: bool = False
    disabled: bool = False
    secret: bool = False
    group: str = ""
    group_help: str = ""
    controlling: bool = False
    review_show: bool = True
    review_mask: str | None = None
    nullable: bool = False
    schema: dict[str, Any] = field(default_factory=dict)

    @property
    def is_multiple(self) -> bool:
        """True when the value is an array entered through several inputs or options."""
        return self.kind in _FREE_LIST_KINDS or self.kind in _CHOICE_LIST_KINDS


@dataclass
class FormStep:
    """One wizard step: its title, its (dereferenced) schema and its fields."""

    index: int
    title: str
    description: str
    schema: dict[str, Any]
    fields: list[FieldSpec] = field(default_factory=list)
    all_fields: list[FieldSpec] = field(default_factory=list)
    controlling: frozenset[str] = frozenset()


@dataclass
class Coerced:
    """Typed values read from a form post, and messages for input that could not be read."""

    values: dict[str, Any]
    errors: dict[str, list[str]]


@dataclass(frozen=True)
class ReviewRow:
    """One line of the review page."""

    step: str
    label: str
    value: str
    name: str


# --------------------------------------------------------------------------------------------
# Loading


def parameter_steps(parameters: Any) -> list[FormStep]:
    """Turn ``spec.parameters`` (a mapping, a list of mappings, or nothing) into steps."""
    if parameters is None:
        return []
    if isinstance(parameters, Mapping):
        raw_steps: list[Any] = [parameters]
    elif isinstance(parameters, list):
        raw_steps = parameters
    else:
        raise FormSchemaError(
            f"spec.parameters must be a mapping or a list of mappings, not {type(parameters).__name__}"
        )
    steps = []
    for index, raw in enumerate(raw_steps):
        where = f"parameters step {index + 1}"
        if not isinstance(raw, Mapping):
            raise FormSchemaError(f"{where} must be a mapping, not {type(raw).__name__}")
        steps.append(_load_step(index, dict(raw), where))
    return steps


def _load_step(index: int, raw: dict[str, Any], where: str) -> FormStep:
    schema = _dereference(raw, where)
    _check_shape(schema, where, depth=0)
    try:
        Draft7Validator.check_schema(_strip_ui(schema))
    except SchemaError as exc:
        location = "/".join(str(part) for part in exc.absolute_path) or "(top level)"
        raise FormSchemaError(f"{where}: invalid JSON Schema at {location}: {exc.message}") from None
    title = schema.get("title")
    description = schema.get("description")
    step = FormStep(
        index=index,
        title=str(title) if title not in (None, "") else f"Step {index + 1}",
        description=str(description) if description is not None else "",
        schema=schema,
    )
    controls: set[str] = set()
    union = _resolve(schema, {}, everything=True, controls=controls)
    step.controlling = frozenset(controls)
    step.all_fields = _mark_controlling(_collect_fields(union), step.controlling)
    step.fields = fields_for(step, _default_values(step))
    return step


def _dereference(step: dict[str, Any], where: str) -> dict[str, Any]:
    """Inline local ``$ref`` (``#/definitions/...``, ``#/$defs/...``); siblings of ``$ref`` win."""
    budget = [_MAX_REF_NODES]

    def walk(node: Any, active: frozenset[str]) -> Any:
        budget[0] -= 1
        if budget[0] < 0:
            raise FormSchemaError(f"{where}: schema is too large once its $ref are resolved")
        if isinstance(node, list):
            return [walk(item, active) for item in node]
        if not isinstance(node, dict):
            return node
        out: dict[str, Any] = {}
        for key, value in node.items():
            if key in ("$ref", "definitions", "$defs"):
                continue
            if key in _DATA_KEYWORDS or (isinstance(key, str) and key.startswith("ui:")):
                out[key] = copy.deepcopy(value)
            else:
                out[key] = walk(value, active)
        if "$ref" not in node:
            return out
        ref = node["$ref"]
        if not isinstance(ref, str) or not ref.startswith(("#/definitions/", "#/$defs/")):
            raise FormSchemaError(f"{where}: only references to #/definitions/... are supported, not {ref!r}")
        if ref in active:
            raise FormSchemaError(f"{where}: recursive reference {ref} cannot be shown as a form")
        target = _pointer(step, ref, where)
        resolved = walk(target, active | {ref})
        if not isinstance(resolved, dict):
            raise FormSchemaError(f"{where}: {ref} does not point at a schema object")
        return {**resolved, **out}

    return walk(step, frozenset())


def _pointer(document: dict[str, Any], ref: str, where: str) -> Any:
    node: Any = document
    for raw_part in ref[2:].split("/"):
        part = raw_part.replace("~1", "/").replace("~0", "~")
        if not isinstance(node, dict) or part not in node:
            raise FormSchemaError(f"{where}: reference {ref} points at nothing")
        node = node[part]
    return node


def _check_shape(schema: Any, where: str, depth: int) -> None:
    """Reject what jsonschema accepts but a form cannot show (dotted names, absurd nesting)."""
    if depth > _MAX_DEPTH:
        raise FormSchemaError(f"{where}: schema is nested more than {_MAX_DEPTH} levels deep")
    if not isinstance(schema, dict):
        return
    properties = schema.get("properties")
    if isinstance(properties, dict):
        for name, sub in properties.items():
            if not isinstance(name, str) or not name or "." in name:
                raise FormSchemaError(f"{where}: property name {name!r} cannot be used as a form field name")
            if not isinstance(sub, dict | bool):
                raise FormSchemaError(f"{where}: property {name!r} must be a mapping")
            _check_shape(sub, f"{where}, property {name}", depth + 1)
    for key, value in schema.items():
        if key in _DATA_KEYWORDS or key == "properties" or (isinstance(key, str) and key.startswith("ui:")):
            continue
        if isinstance(value, dict):
            if key == "dependencies":
                for dep in value.values():
                    _check_shape(dep, where, depth + 1)
            else:
                _check_shape(value, where, depth + 1)
        elif isinstance(value, list):
            for item in value:
                _check_shape(item, where, depth + 1)


def _strip_ui(node: Any) -> Any:
    """A copy of a schema without ``ui:*`` keys (data keywords are left untouched)."""
    if isinstance(node, list):
        return [_strip_ui(item) for item in node]
    if not isinstance(node, dict):
        return node
    return {
        key: (copy.deepcopy(value) if key in _DATA_KEYWORDS else _strip_ui(value))
        for key, value in node.items()
        if not (isinstance(key, str) and key.startswith("ui:"))
    }


# --------------------------------------------------------------------------------------------
# Conditionals


def _resolve(
    schema: dict[str, Any],
    values: Any,
    *,
    everything: bool = False,
    controls: set[str] | None = None,
    prefix: str = "",
    depth: int = 0,
) -> dict[str, Any]:
    """A plain object schema with the conditional parts that apply to ``values`` merged in.

    With ``everything`` every branch is merged (minus its ``required``), which lists every
    field that can ever appear; ``controls`` then collects the fields conditions look at.
    Constraints of merged parts other than properties/required are kept under ``allOf`` so
    validation against the result stays as strict as against the original.
    """
    values = values if isinstance(values, dict) else {}
    result = {key: value for key, value in schema.items() if key not in _CONDITIONAL_KEYWORDS}
    properties: dict[str, Any] = dict(schema.get("properties") or {})
    required: list[str] = list(schema.get("required") or [])
    residuals: list[dict[str, Any]] = []
    pending = [schema]
    handled = 0
    while pending:
        source = pending.pop(0)
        for part, adds_required in _conditional_parts(source, values, everything, controls, prefix):
            handled += 1
            if handled > _MAX_CONDITIONAL_PARTS:
                raise FormSchemaError("schema has too many conditional parts")
            for name, sub in (part.get("properties") or {}).items():
                existing = properties.get(name)
                if isinstance(existing, dict) and isinstance(sub, dict):
                    properties[name] = _merge_property(existing, sub)
                else:
                    properties[name] = sub
            if adds_required:
                for name in part.get("required") or []:
                    if name not in required:
                        required.append(name)
            residual = {k: v for k, v in part.items() if k not in _MERGED_KEYWORDS and not k.startswith("ui:")}
            if residual and not everything:
                residuals.append(residual)
            pending.append(part)
    for name, sub in list(properties.items()):
        if isinstance(sub, dict) and _is_group(sub) and depth < _MAX_DEPTH:
            properties[name] = _resolve(
                sub,
                values.get(name),
                everything=everything,
                controls=controls,
                prefix=f"{prefix}{name}.",
                depth=depth + 1,
            )
    if properties or "properties" in schema:
        result["properties"] = properties
    if required:
        result["required"] = required
    if residuals:
        result["allOf"] = list(result.get("allOf", [])) + residuals
    return result


def _conditional_parts(
    source: dict[str, Any], values: dict[str, Any], everything: bool, controls: set[str] | None, prefix: str
) -> Iterable[tuple[dict[str, Any], bool]]:
    """The schemas ``source``'s conditionals contribute for ``values``, with whether they add ``required``."""
    dependencies = source.get("dependencies")
    if isinstance(dependencies, dict):
        for key, dependency in dependencies.items():
            if controls is not None and isinstance(dependency, dict | list):
                # A list dependency only changes which fields are required, which the form shows.
                controls.add(prefix + key)
            present = key in values
            if isinstance(dependency, list):
                if present:
                    yield {"required": dependency}, True
                continue
            if not isinstance(dependency, dict) or not (present or everything):
                continue
            branches = [
                branch
                for keyword in ("oneOf", "anyOf")
                for branch in (dependency.get(keyword) or [])
                if isinstance(branch, dict)
            ]
            plain = {k: v for k, v in dependency.items() if k not in ("oneOf", "anyOf")}
            yield plain, not everything
            for branch in branches:
                branch_properties = branch.get("properties") or {}
                condition = branch_properties.get(key)
                if condition is None:
                    continue
                if everything or (present and _is_valid(condition, values[key])):
                    # The controlling field keeps its own definition: the branch only names the
                    # value that selects it.
                    stripped_properties = {k: v for k, v in branch_properties.items() if k != key}
                    yield {**branch, "properties": stripped_properties}, not everything
                    if not everything:
                        break
    condition = source.get("if")
    if isinstance(condition, dict | bool) and ("then" in source or "else" in source):
        if controls is not None:
            controls.update(_names_in_condition(condition, prefix))
        if everything:
            chosen = [source.get("then"), source.get("else")]
        else:
            chosen = [source.get("then") if _is_valid(condition, values) else source.get("else")]
        for part in chosen:
            if isinstance(part, dict):
                yield part, not everything
    for part in source.get("allOf") or []:
        if isinstance(part, dict):
            yield part, not everything


def _names_in_condition(condition: Any, prefix: str) -> set[str]:
    if not isinstance(condition, dict):
        return set()
    names = {prefix + name for name in condition.get("required") or [] if isinstance(name, str)}
    for name, sub in (condition.get("properties") or {}).items():
        if isinstance(sub, dict) and isinstance(sub.get("properties"), dict):
            names |= _names_in_condition(sub, f"{prefix}{name}.")
        else:
            names.add(prefix + name)
    for keyword in ("allOf", "anyOf", "oneOf"):
        for part in condition.get(keyword) or []:
            names |= _names_in_condition(part, prefix)
    return names


def _merge_property(base: dict[str, Any], extra: dict[str, Any]) -> dict[str, Any]:
    merged = {**base, **extra}
    if isinstance(base.get("properties"), dict) and isinstance(extra.get("properties"), dict):
        properties = dict(base["properties"])
        for name, sub in extra["properties"].items():
            existing = properties.get(name)
            both = isinstance(existing, dict) and isinstance(sub, dict)
            properties[name] = _merge_property(existing, sub) if both else sub
        merged["properties"] = properties
    if isinstance(base.get("required"), list) and isinstance(extra.get("required"), list):
        merged["required"] = list(dict.fromkeys([*base["required"], *extra["required"]]))
    return merged


def _is_valid(schema: Any, instance: Any) -> bool:
    try:
        return Draft7Validator(_strip_ui(schema), format_checker=_format_checker()).is_valid(instance)
    except (re.error, RecursionError, TypeError, ValueError):
        return False


def _is_group(prop: dict[str, Any]) -> bool:
    """An object whose properties become separate, dotted fields."""
    return (
        isinstance(prop.get("properties"), dict)
        and bool(prop["properties"])
        and _json_type(prop)[0] == "object"
        and "ui:field" not in prop
        and _ui(prop, "widget") != "hidden"
    )


# --------------------------------------------------------------------------------------------
# Fields


def fields_for(step: FormStep, values: Any) -> list[FieldSpec]:
    """The fields visible on ``step`` when the form holds ``values`` (in display order)."""
    resolved = _resolve(step.schema, values)
    return _mark_controlling(_collect_fields(resolved), step.controlling)


def _mark_controlling(fields: list[FieldSpec], controlling: frozenset[str]) -> list[FieldSpec]:
    return [replace(spec, controlling=True) if spec.name in controlling else spec for spec in fields]


def _default_values(step: FormStep) -> dict[str, Any]:
    values: dict[str, Any] = {}
    for _ in range(8):
        new: dict[str, Any] = {}
        for spec in _collect_fields(_resolve(step.schema, values)):
            if spec.has_default:
                set_path(new, spec.name, copy.deepcopy(spec.default))
        if new == values:
            break
        values = new
    return values


def _collect_fields(
    schema: dict[str, Any],
    prefix: str = "",
    group: str = "",
    group_help: str = "",
    required_chain: bool = True,
    parent_default: Any = ABSENT,
    depth: int = 0,
) -> list[FieldSpec]:
    properties = schema.get("properties") or {}
    required = set(schema.get("required") or [])
    out: list[FieldSpec] = []
    for name in _ordered_names(properties, schema.get("ui:order")):
        prop = properties[name]
        if not isinstance(prop, dict):
            # ``true``/``false`` property schemas carry nothing to render.
            continue
        path = prefix + name
        inherited = parent_default.get(name, ABSENT) if isinstance(parent_default, dict) else ABSENT
        if _is_group(prop) and depth < _MAX_DEPTH:
            label = _text(_ui(prop, "title") or prop.get("title")) or name
            out.extend(
                _collect_fields(
                    prop,
                    prefix=path + ".",
                    group=f"{group} / {label}" if group else label,
                    group_help=_text(prop.get("description")),
                    required_chain=required_chain and name in required,
                    parent_default=prop.get("default", inherited),
                    depth=depth + 1,
                )
            )
            continue
        out.append(_field_spec(path, prop, required_chain and name in required, group, group_help, inherited))
    return out


def _ordered_names(properties: dict[str, Any], order: Any) -> list[str]:
    names = list(properties)
    if not isinstance(order, list):
        return names
    order = [item for item in order if isinstance(item, str)]
    if "*" in order:
        star = order.index("*")
        before, after = order[:star], order[star + 1 :]
    else:
        before, after = order, []
    listed_before = [n for n in dict.fromkeys(before) if n in properties]
    listed_after = [n for n in dict.fromkeys(after) if n in properties and n not in listed_before]
    rest = [n for n in names if n not in listed_before and n not in listed_after]
    return listed_before + rest + listed_after


def _ui(prop: dict[str, Any], key: str) -> Any:
    """A ``ui:<key>`` hint, also accepted inside ``ui:options`` as the form renderer allows."""
    if f"ui:{key}" in prop:
        return prop[f"ui:{key}"]
    options = prop.get("ui:options")
    if isinstance(options, dict):
        return options.get(key)
    return None


def _text(value: Any) -> str:
    return value if isinstance(value, str) else ("" if value is None else str(value))


def _json_type(prop: dict[str, Any]) -> tuple[str | None, bool]:
    """The JSON type of a property (inferred when not declared) and whether ``null`` is allowed."""
    declared = prop.get("type")
    nullable = False
    if isinstance(declared, list):
        nullable = "null" in declared
        others = [t for t in declared if t != "null" and isinstance(t, str)]
        declared = others[0] if others else ("null" if nullable else None)
    if isinstance(declared, str):
        return declared, nullable
    if isinstance(prop.get("enum"), list) and prop["enum"]:
        return _type_of(prop["enum"][0]), nullable
    if "const" in prop:
        return _type_of(prop["const"]), nullable
    if isinstance(prop.get("properties"), dict):
        return "object", nullable
    if "items" in prop:
        return "array", nullable
    consts = _const_choices(prop)
    if consts:
        return _type_of(consts[0].value), nullable
    return None, nullable


def _type_of(value: Any) -> str | None:
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    if isinstance(value, dict):
        return "object"
    return None


def _choice_key(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value)


def _choice_label(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value)


def _const_choices(prop: dict[str, Any]) -> tuple[Choice, ...]:
    for keyword in ("oneOf", "anyOf"):
        options = prop.get(keyword)
        if isinstance(options, list) and options and all(isinstance(o, dict) and "const" in o for o in options):
            return tuple(
                Choice(o["const"], _text(o.get("title")) or _choice_label(o["const"]), _choice_key(o["const"]))
                for o in options
            )
    return ()


def _choices(prop: dict[str, Any]) -> tuple[Choice, ...]:
    enum = prop.get("enum")
    if isinstance(enum, list) and enum:
        names = prop.get("enumNames")
        labels = names if isinstance(names, list) and len(names) == len(enum) else None
        return tuple(
            Choice(value, _text(labels[i]) if labels else _choice_label(value), _choice_key(value))
            for i, value in enumerate(enum)
        )
    return _const_choices(prop)


_BOOLEAN_CHOICES = (Choice(True, "Yes", "true"), Choice(False, "No", "false"))


def _kind(prop: dict[str, Any], json_type: str | None) -> tuple[str, str | None, tuple[Choice, ...]]:
    """(kind, item type, choices) for a property."""
    widget = _ui(prop, "widget")
    ui_field = prop.get("ui:field")
    items = prop.get("items") if isinstance(prop.get("items"), dict) else {}
    item_type = _json_type(items)[0] if json_type == "array" else None
    if widget == "hidden":
        return "hidden", item_type, _choices(prop)
    if ui_field == "Secret":
        return "secret", None, ()
    if isinstance(ui_field, str) and ui_field in PICKER_KINDS:
        kind = PICKER_KINDS[ui_field]
        if kind in _FREE_LIST_KINDS:
            item_type = item_type or "string"
        return kind, item_type, _choices(items) if kind in _FREE_LIST_KINDS else _choices(prop)
    if json_type == "array":
        item_choices = _choices(items)
        if item_choices:
            return ("checkboxes" if widget == "checkboxes" else "multiselect"), item_type, item_choices
        if item_type in (None, "string", "integer", "number", "boolean") and not _is_group(items):
            return "list", item_type or "string", ()
        return "json", item_type, ()
    choices = _choices(prop)
    if choices:
        return ("radio" if widget == "radio" else "select"), None, choices
    if json_type == "object":
        return "json", None, ()
    if json_type == "boolean":
        if widget in ("radio", "select"):
            return widget, None, _BOOLEAN_CHOICES
        return "boolean", None, ()
    if json_type in ("integer", "number"):
        return json_type, None, ()
    if widget == "textarea":
        return "textarea", None, ()
    if widget == "password":
        return "password", None, ()
    return "string", None, ()


def _field_spec(
    name: str, prop: dict[str, Any], required: bool, group: str, group_help: str, inherited_default: Any
) -> FieldSpec:
    json_type, nullable = _json_type(prop)
    if json_type is None and isinstance(prop.get("ui:field"), str):
        json_type = "array" if PICKER_KINDS.get(prop["ui:field"]) in _FREE_LIST_KINDS else "string"
    kind, item_type, choices = _kind(prop, json_type)
    options = prop.get("ui:options")
    options = copy.deepcopy(options) if isinstance(options, dict) else {}
    help_parts = [_text(_ui(prop, "description") or prop.get("description")), _text(_ui(prop, "help"))]
    constraints = {key: prop[key] for key in CONSTRAINT_KEYS if key in prop}
    items = prop.get("items")
    if isinstance(items, dict):
        item_constraints = {key: items[key] for key in CONSTRAINT_KEYS if key in items}
        if item_constraints:
            constraints["items"] = item_constraints
    if "default" in prop:
        has_default, default = True, copy.deepcopy(prop["default"])
    elif inherited_default is not ABSENT:
        has_default, default = True, copy.deepcopy(inherited_default)
    else:
        has_default, default = False, None
    backstage = prop.get("ui:backstage")
    review = backstage.get("review") if isinstance(backstage, dict) else None
    review = review if isinstance(review, dict) else {}
    widget = _ui(prop, "widget")
    ui_field = prop.get("ui:field")
    return FieldSpec(
        name=name,
        kind=kind,
        label=_text(_ui(prop, "title") or prop.get("title")) or name.rsplit(".", 1)[-1],
        json_type=json_type,
        item_type=item_type,
        help=" ".join(part for part in help_parts if part),
        placeholder=_text(_ui(prop, "placeholder")),
        required=required,
        has_default=has_default,
        default=default,
        choices=choices,
        constraints=constraints,
        widget=widget if isinstance(widget, str) else None,
        ui_field=ui_field if isinstance(ui_field, str) else None,
        options=options,
        autofocus=bool(_ui(prop, "autofocus")),
        readonly=bool(_ui(prop, "readonly") or prop.get("readOnly")),
        disabled=bool(_ui(prop, "disabled")),
        secret=kind in ("secret", "password"),
        group=group,
        group_help=group_help,
        review_show=review.get("show", True) is not False,
        review_mask=review["mask"] if isinstance(review.get("mask"), str) else None,
        nullable=nullable,
        schema=prop,
    )


# --------------------------------------------------------------------------------------------
# Coercion


class _Unreadable(Exception):
    """Raw input that cannot be converted; the message is shown to the user."""


def coerce(step: FormStep, raw: Mapping[str, Any]) -> Coerced:
    """Typed values from raw form input for the fields visible once the input is read."""
    fields = fields_for(step, {})
    seen: tuple[str, ...] | None = None
    values: dict[str, Any] = {}
    errors: dict[str, list[str]] = {}
    # Controlling fields decide which other fields exist: read, recompute, until stable.
    for _ in range(_MAX_DEPTH):
        values, errors = _coerce_fields(fields, raw)
        _ensure_required_groups(_resolve(step.schema, values), values)
        names = tuple(spec.name for spec in fields)
        if names == seen:
            break
        seen = names
        fields = fields_for(step, values)
        if tuple(spec.name for spec in fields) == names:
            break
    return Coerced(values=values, errors=errors)


def _raw_values(raw: Mapping[str, Any], name: str) -> list[str] | None:
    if hasattr(raw, "getlist"):
        if name not in raw:
            return None
        found: Any = raw.getlist(name)
    else:
        if name not in raw:
            return None
        found = raw[name]
    if found is None:
        return []
    if isinstance(found, list | tuple):
        return ["" if item is None else _as_text(item) for item in found]
    return [_as_text(found)]


def _as_text(value: Any) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float | dict | list):
        return json.dumps(value)
    return str(value)


def _coerce_fields(fields: list[FieldSpec], raw: Mapping[str, Any]) -> tuple[dict[str, Any], dict[str, list[str]]]:
    values: dict[str, Any] = {}
    errors: dict[str, list[str]] = {}
    for spec in fields:
        try:
            value = _coerce_one(spec, _raw_values(raw, spec.name))
        except _Unreadable as exc:
            errors.setdefault(spec.name, []).append(str(exc))
            # Keep what was typed so the form can show it again.
            given = _raw_values(raw, spec.name) or [""]
            value = given if spec.is_multiple else given[-1]
        if value is not ABSENT:
            set_path(values, spec.name, value)
    return values, errors


def _coerce_one(spec: FieldSpec, given: list[str] | None) -> Any:
    if spec.kind == "boolean":
        # An unticked checkbox is not posted at all.
        return _read_boolean(given[-1]) if given else False
    if spec.is_multiple or (spec.kind == "hidden" and spec.json_type == "array" and not _looks_json(given)):
        return _coerce_many(spec, given)
    text = given[-1] if given else None
    if text is None or (text.strip() == "" and spec.kind not in ("string", "textarea", "password", "secret")):
        text = ""
    if text == "":
        return copy.deepcopy(spec.default) if spec.has_default else ABSENT
    if spec.choices:
        for choice in spec.choices:
            if choice.key == text:
                return copy.deepcopy(choice.value)
        if spec.json_type in ("integer", "number", "boolean"):
            # Unknown option: convert by type so validation can name the allowed options.
            return _read_scalar(spec.json_type, text)
        return text
    if spec.kind == "json" or spec.json_type in ("object", "array"):
        return _read_json(text)
    if spec.kind == "textarea":
        return text.replace("\r\n", "\n")
    if spec.json_type in ("integer", "number", "boolean", "null"):
        return _read_scalar(spec.json_type, text)
    return text


def _looks_json(given: list[str] | None) -> bool:
    return bool(given) and len(given) == 1 and given[0].lstrip().startswith("[")


def _coerce_many(spec: FieldSpec, given: list[str] | None) -> Any:
    items: list[str] = []
    for text in given or []:
        if spec.kind in _CHOICE_LIST_KINDS:
            items.append(text)
        else:
            items.extend(re.split(r"[,\r\n]+", text))
    items = [item.strip() for item in items if item.strip()]
    if not items:
        return copy.deepcopy(spec.default) if spec.has_default else ABSENT
    out = []
    problems = []
    by_key = {choice.key: choice.value for choice in spec.choices}
    for position, item in enumerate(items, start=1):
        if item in by_key:
            out.append(copy.deepcopy(by_key[item]))
            continue
        try:
            out.append(_read_scalar(spec.item_type, item))
        except _Unreadable as exc:
            problems.append(f"Item {position}: {exc}")
    if problems:
        raise _Unreadable("; ".join(problems))
    return out


_INTEGER_TEXT = re.compile(r"[+-]?\d{1,300}")
_NUMBER_TEXT = re.compile(r"[+-]?(?:\d{1,300}(?:\.\d{0,300})?|\.\d{1,300})(?:[eE][+-]?\d{1,4})?")


def _read_scalar(json_type: str | None, text: str) -> Any:
    stripped = text.strip()
    if json_type == "integer":
        if _INTEGER_TEXT.fullmatch(stripped):
            return int(stripped)
        if _NUMBER_TEXT.fullmatch(stripped) and float(stripped).is_integer() and math.isfinite(float(stripped)):
            return int(float(stripped))
        raise _Unreadable(f"Enter a whole number (got {_short(text)})")
    if json_type == "number":
        if _INTEGER_TEXT.fullmatch(stripped):
            return int(stripped)
        if _NUMBER_TEXT.fullmatch(stripped):
            number = float(stripped)
            if math.isfinite(number):
                return number
        raise _Unreadable(f"Enter a number (got {_short(text)})")
    if json_type == "boolean":
        return _read_boolean(text)
    if json_type == "null":
        if stripped in ("", "null"):
            return None
        raise _Unreadable("This field must be left empty")
    return text


def _read_boolean(text: str) -> bool:
    lowered = text.strip().lower()
    if lowered in _TRUE_STRINGS:
        return True
    if lowered in _FALSE_STRINGS:
        return False
    raise _Unreadable(f"Choose yes or no (got {_short(text)})")


def _read_json(text: str) -> Any:
    try:
        return json.loads(text)
    except (ValueError, RecursionError) as exc:
        message = exc.msg if isinstance(exc, json.JSONDecodeError) else "too deeply nested"
        raise _Unreadable(f"Enter valid JSON ({message})") from None


def _short(text: str, limit: int = 40) -> str:
    return repr(text if len(text) <= limit else text[:limit] + "…")


def _ensure_required_groups(schema: dict[str, Any], values: dict[str, Any]) -> None:
    """Create required nested objects so validation reports their missing fields by name."""
    properties = schema.get("properties") or {}
    required = schema.get("required") or []
    for name, sub in properties.items():
        if not isinstance(sub, dict) or not _is_group(sub):
            continue
        if name in required and name not in values:
            values[name] = {}
        if isinstance(values.get(name), dict):
            _ensure_required_groups(sub, values[name])


def set_path(values: dict[str, Any], name: str, value: Any) -> None:
    """Put ``value`` at a dotted field name (``db.size``), creating the objects on the way."""
    node = values
    parts = name.split(".")
    for part in parts[:-1]:
        child = node.get(part)
        if not isinstance(child, dict):
            child = {}
            node[part] = child
        node = child
    node[parts[-1]] = value


def _get_path(values: Any, name: str) -> Any:
    node = values
    for part in name.split("."):
        if not isinstance(node, dict) or part not in node:
            return ABSENT
        node = node[part]
    return node


# --------------------------------------------------------------------------------------------
# Validation


@functools.cache
def _format_checker() -> FormatChecker:
    """Draft 7 formats, plus the common ones jsonschema only checks with optional packages."""
    checker = FormatChecker(formats=list(Draft7Validator.FORMAT_CHECKER.checkers))

    @checker.checks("uri", raises=ValueError)
    def _uri(value: object) -> bool:
        if not isinstance(value, str):
            return True
        parts = urlsplit(value)
        return bool(re.fullmatch(r"[A-Za-z][A-Za-z0-9+.-]*", parts.scheme)) and " " not in value

    @checker.checks("date-time", raises=ValueError)
    def _date_time(value: object) -> bool:
        if not isinstance(value, str):
            return True
        if not re.fullmatch(r"\d{4}-\d\d-\d\d[Tt ]\d\d:\d\d:\d\d(\.\d+)?([Zz]|[+-]\d\d:\d\d)", value):
            return False
        datetime.datetime.fromisoformat(value.upper().replace("Z", "+00:00"))
        return True

    @checker.checks("hostname")
    def _hostname(value: object) -> bool:
        if not isinstance(value, str):
            return True
        label = r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
        return len(value) <= 253 and bool(re.fullmatch(rf"{label}(?:\.{label})*\.?", value))

    return checker


def validate_step(
    step: FormStep, values: Any, extra_constraints: Mapping[str, Any] | None = None
) -> dict[str, list[str]]:
    """Error messages per dotted field name for ``values`` against the step's visible schema."""
    if not isinstance(values, dict):
        return {NON_FIELD: ["Parameter values must be a mapping of field names to values"]}
    extras = _check_extra_constraints(extra_constraints)
    schema = _strip_ui(_resolve(step.schema, values))
    schema.setdefault("type", "object")
    for name, extra in extras.items():
        _apply_extra(schema, name, extra)
    known = {spec.name for spec in fields_for(step, values)}
    validator = Draft7Validator(schema, format_checker=_format_checker())
    errors: dict[str, list[str]] = {}
    try:
        found = sorted(validator.iter_errors(values), key=lambda e: [str(p) for p in e.absolute_path])
    except (re.error, RecursionError) as exc:
        raise FormSchemaError(f"step {step.title!r} cannot be validated: {exc}") from None
    for error in found:
        for name, message in _describe(error, known):
            bucket = errors.setdefault(name, [])
            if message not in bucket:
                bucket.append(message)
    return errors


def validate_all(
    parameters: Any, values: Any, extra_constraints: Mapping[str, Any] | None = None
) -> dict[str, list[str]]:
    """Validate the merged values of every step (each step sees the whole values mapping)."""
    errors: dict[str, list[str]] = {}
    for step in _as_steps(parameters):
        for name, messages in validate_step(step, values, extra_constraints).items():
            bucket = errors.setdefault(name, [])
            bucket.extend(m for m in messages if m not in bucket)
    return errors


def clean_step(step: FormStep, raw: Mapping[str, Any], extra_constraints: Mapping[str, Any] | None = None) -> Coerced:
    """Read and validate a form post; a field's conversion error replaces its schema errors."""
    coerced = coerce(step, raw)
    errors = {name: list(messages) for name, messages in coerced.errors.items()}
    for name, messages in validate_step(step, coerced.values, extra_constraints).items():
        if name not in coerced.errors:
            errors[name] = messages
    return Coerced(values=coerced.values, errors=errors)


def _as_steps(parameters: Any) -> list[FormStep]:
    if isinstance(parameters, list) and parameters and all(isinstance(s, FormStep) for s in parameters):
        return parameters
    if isinstance(parameters, FormStep):
        return [parameters]
    return parameter_steps(parameters)


def _check_extra_constraints(extra: Mapping[str, Any] | None) -> dict[str, dict[str, Any]]:
    if extra is None:
        return {}
    if not isinstance(extra, Mapping):
        raise FormSchemaError("extra constraints must be a mapping of field names to JSON Schema")
    checked = {}
    for name, schema in extra.items():
        if not isinstance(name, str) or not name:
            raise FormSchemaError(f"extra constraint key {name!r} is not a field name")
        if not isinstance(schema, Mapping):
            raise FormSchemaError(f"extra constraint for {name!r} must be a mapping")
        schema = dict(schema)
        required = schema.pop("required", None) if isinstance(schema.get("required"), bool) else None
        try:
            Draft7Validator.check_schema(schema)
        except SchemaError as exc:
            raise FormSchemaError(f"extra constraint for {name!r} is not valid JSON Schema: {exc.message}") from None
        if required is not None:
            schema["ui:required"] = required
        checked[name] = schema
    return checked


def _apply_extra(schema: dict[str, Any], name: str, extra: dict[str, Any]) -> None:
    """Add ``extra`` to the property ``name``; constraints on fields not shown do not apply."""
    node = schema
    parts = name.split(".")
    for part in parts[:-1]:
        node = (node.get("properties") or {}).get(part)
        if not isinstance(node, dict):
            return
    properties = node.get("properties") or {}
    last = parts[-1]
    if last not in properties:
        return
    extra = dict(extra)
    if extra.pop("ui:required", False) and last not in node.get("required", []):
        node["required"] = [*node.get("required", []), last]
    if extra:
        properties[last] = {"allOf": [properties[last], extra]}


def _describe(error: Any, known: set[str]) -> list[tuple[str, str]]:
    path = list(error.absolute_path)
    base, rest = _field_for_path(path, known)
    instance = error.instance
    if error.validator == "required" and isinstance(instance, dict):
        missing = [name for name in error.validator_value if name not in instance]
        return [(_join(base, name), "This field is required") for name in missing]
    if error.validator == "dependencies" and isinstance(instance, dict):
        found = []
        for key, needed in error.validator_value.items():
            if key in instance and isinstance(needed, list):
                found += [(_join(base, name), "This field is required") for name in needed if name not in instance]
        if found:
            return found
    if error.validator == "additionalProperties" and isinstance(instance, dict):
        declared = set(error.schema.get("properties") or {})
        patterns = list(error.schema.get("patternProperties") or {})
        unknown = [k for k in instance if k not in declared and not any(re.search(p, k) for p in patterns)]
        return [(base or NON_FIELD, f"Unknown field: {name}") for name in unknown] or [
            (base or NON_FIELD, "Contains unknown fields")
        ]
    message = _message(error)
    if rest and isinstance(rest[0], int):
        message = f"Item {rest[0] + 1}: {message}"
    return [(base or NON_FIELD, message)]


def _field_for_path(path: list[Any], known: set[str]) -> tuple[str, list[Any]]:
    names: list[str] = []
    for part in path:
        if not isinstance(part, str):
            break
        names.append(part)
    for length in range(len(names), 0, -1):
        candidate = ".".join(names[:length])
        if candidate in known:
            return candidate, path[length:]
    return ".".join(names), path[len(names) :]


def _join(base: str, name: str) -> str:
    return f"{base}.{name}" if base else name


def _number(value: Any) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _plural(count: Any, word: str) -> str:
    return f"{_number(count)} {word}" + ("" if count == 1 else "s")


_TYPE_WORDS = {
    "string": "text",
    "integer": "a whole number",
    "number": "a number",
    "boolean": "true or false",
    "array": "a list",
    "object": "a mapping",
    "null": "empty",
}
_FORMAT_MESSAGES = {
    "email": "Must be a valid email address",
    "idn-email": "Must be a valid email address",
    "uri": "Must be a valid URL",
    "date": "Must be a valid date (YYYY-MM-DD)",
    "date-time": "Must be a valid date and time (YYYY-MM-DDThh:mm:ssZ)",
    "ipv4": "Must be a valid IPv4 address",
    "ipv6": "Must be a valid IPv6 address",
    "hostname": "Must be a valid host name",
    "regex": "Must be a valid regular expression",
}


def _message(error: Any) -> str:
    validator, expected, schema = error.validator, error.validator_value, error.schema
    schema = schema if isinstance(schema, dict) else {}
    if validator == "maxLength":
        return f"Must be at most {_plural(expected, 'character')}"
    if validator == "minLength":
        return f"Must be at least {_plural(expected, 'character')}"
    if validator == "pattern":
        return f"Does not match the pattern {expected}"
    if validator == "enum":
        return "Must be one of: " + ", ".join(choice.label for choice in _choices(schema))
    if validator == "const":
        return f"Must be {_choice_label(expected)}"
    if validator in ("oneOf", "anyOf"):
        consts = _const_choices(schema)
        if consts:
            return "Must be one of: " + ", ".join(choice.label for choice in consts)
        return "Does not match any of the allowed options"
    if validator == "type":
        types = expected if isinstance(expected, list) else [expected]
        return "Must be " + " or ".join(_TYPE_WORDS.get(t, str(t)) for t in types)
    if validator == "minimum":
        return f"Must be at least {_number(expected)}"
    if validator == "maximum":
        return f"Must be at most {_number(expected)}"
    if validator == "exclusiveMinimum":
        return f"Must be greater than {_number(expected)}"
    if validator == "exclusiveMaximum":
        return f"Must be less than {_number(expected)}"
    if validator == "multipleOf":
        return f"Must be a multiple of {_number(expected)}"
    if validator == "minItems":
        return f"Must have at least {_plural(expected, 'item')}"
    if validator == "maxItems":
        return f"Must have at most {_plural(expected, 'item')}"
    if validator == "uniqueItems":
        return "Must not contain the same item twice"
    if validator == "format":
        return _FORMAT_MESSAGES.get(expected, f"Must be a valid {expected}")
    if validator == "minProperties":
        return f"Must have at least {_plural(expected, 'entry')}".replace("entrys", "entries")
    if validator == "maxProperties":
        return f"Must have at most {_plural(expected, 'entry')}".replace("entrys", "entries")
    if validator == "contains":
        return "Must contain at least one matching item"
    if validator in ("not", None, "false"):
        return "This value is not allowed"
    return error.message


# --------------------------------------------------------------------------------------------
# Review and secrets


def secret_fields(parameters: Any) -> set[str]:
    """Dotted names of every field, in any branch, whose value is a secret."""
    return {spec.name for step in _as_steps(parameters) for spec in step.all_fields if spec.secret}


def review_rows(parameters: Any, values: Any, secrets_masked: bool = True) -> list[ReviewRow]:
    """(step title, label, display value) for each visible field that has a value."""
    values = values if isinstance(values, dict) else {}
    rows = []
    for step in _as_steps(parameters):
        for spec in fields_for(step, values):
            if spec.kind == "hidden" or not spec.review_show:
                continue
            value = _get_path(values, spec.name)
            if value is ABSENT:
                continue
            if secrets_masked and (spec.secret or spec.review_mask is not None):
                shown = spec.review_mask if spec.review_mask is not None else MASK
            else:
                shown = _display(spec, value)
            rows.append(ReviewRow(step=step.title, label=spec.label, value=shown, name=spec.name))
    return rows


def _display(spec: FieldSpec, value: Any) -> str:
    if spec.choices:
        labels = {choice.key: choice.label for choice in spec.choices}
        if isinstance(value, list):
            return ", ".join(labels.get(_choice_key(item), _display_scalar(item)) for item in value)
        return labels.get(_choice_key(value), _display_scalar(value))
    if isinstance(value, list) and all(not isinstance(item, dict | list) for item in value):
        return ", ".join(_display_scalar(item) for item in value)
    return _display_scalar(value)


def _display_scalar(value: Any) -> str:
    if isinstance(value, bool):
        return "Yes" if value else "No"
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, int | float):
        return _number(value)
    return json.dumps(value, ensure_ascii=False)


# --------------------------------------------------------------------------------------------
# Examples


def example_values(parameters: Any) -> dict[str, Any]:
    """Values for every visible field, valid wherever defaults, enums and patterns allow."""
    values: dict[str, Any] = {}
    for step in _as_steps(parameters):
        step_values: dict[str, Any] = {}
        for _ in range(_MAX_DEPTH):
            new: dict[str, Any] = {}
            for spec in fields_for(step, _deep_merge(values, step_values)):
                example = _example_for(spec)
                if example is not ABSENT:
                    set_path(new, spec.name, example)
            if new == step_values:
                break
            step_values = new
        values = _deep_merge(values, step_values)
    return values


def _deep_merge(base: dict[str, Any], extra: dict[str, Any]) -> dict[str, Any]:
    merged = dict(base)
    for key, value in extra.items():
        if isinstance(merged.get(key), dict) and isinstance(value, dict):
            merged[key] = _deep_merge(merged[key], value)
        else:
            merged[key] = value
    return merged


def _valid_for(spec: FieldSpec, value: Any) -> bool:
    return _is_valid(spec.schema, value)


def _example_for(spec: FieldSpec) -> Any:
    if spec.has_default and _valid_for(spec, spec.default):
        return copy.deepcopy(spec.default)
    if "const" in spec.schema:
        return copy.deepcopy(spec.schema["const"])
    candidates = _example_candidates(spec)
    for candidate in candidates:
        if _valid_for(spec, candidate):
            return candidate
    return candidates[0] if candidates else ABSENT


def _example_candidates(spec: FieldSpec) -> list[Any]:
    options = spec.options
    if spec.choices and spec.kind not in _CHOICE_LIST_KINDS:
        return [copy.deepcopy(spec.choices[0].value)]
    if spec.kind in _CHOICE_LIST_KINDS:
        count = max(_int_or(spec.constraints.get("minItems"), 1), 1)
        return [[copy.deepcopy(choice.value) for choice in spec.choices[:count]]]
    if spec.kind == "boolean" or spec.json_type == "boolean":
        return [False, True]
    if spec.json_type in ("integer", "number"):
        return _number_candidates(spec.schema, integer=spec.json_type == "integer")
    if spec.kind in _FREE_LIST_KINDS or spec.json_type == "array":
        items = spec.schema.get("items") if isinstance(spec.schema.get("items"), dict) else {}
        count = max(_int_or(spec.constraints.get("minItems"), 1), 1)
        if spec.kind == "json" or spec.item_type in ("object", "array"):
            return [[]]
        if spec.item_type in ("integer", "number"):
            start = _number_candidates(items, integer=spec.item_type == "integer")[0]
            return [[start + i for i in range(count)]]
        return [_distinct_strings(items, spec.kind, count)]
    if spec.json_type == "object" or spec.kind == "json":
        return [{}]
    if spec.json_type == "null":
        return [None]
    if spec.kind in ("owner_picker", "my_groups_picker"):
        return ["group:default/example-team"]
    if spec.kind in ("entity_picker", "owned_entity_picker"):
        kinds = options.get("allowedKinds")
        kind = options.get("defaultKind") or (kinds[0] if isinstance(kinds, list) and kinds else "Component")
        return [f"{str(kind).lower()}:default/example"]
    if spec.kind == "repo_url_picker":
        return [_example_repo_url(options)]
    if spec.kind == "repo_branch_picker":
        return ["main"]
    return _string_candidates(spec.schema, spec.kind)


def _distinct_strings(schema: dict[str, Any], kind: str, count: int) -> list[str]:
    """``count`` different strings valid for ``schema`` where possible (for ``uniqueItems``)."""
    words = [w for w in _string_candidates(schema, kind) if isinstance(w, str)]
    valid = [w for w in dict.fromkeys(words) if _is_valid(schema, w)]
    first = valid[0] if valid else (words[0] if words else "example")
    variants = [first + suffix for suffix in ("b", "c", "d", "e", "f", "g", "h")]
    variants += [f"{first}{n}" for n in range(2, count + 2)] + [f"{first}-{n}" for n in range(2, count + 2)]
    pool = list(dict.fromkeys([*valid, *(v for v in variants if _is_valid(schema, v))]))
    while len(pool) < count:
        pool.append(f"{first}{len(pool) + 1}")
    return pool[:count]


def _example_repo_url(options: dict[str, Any]) -> str:
    def first(key: str, fallback: str) -> str:
        found = options.get(key)
        return str(found[0]) if isinstance(found, list) and found else fallback

    host = first("allowedHosts", "github.com")
    owner = first("allowedOwners", first("allowedOrganizations", "example"))
    repo = first("allowedRepos", "example-repo")
    return f"{host}?owner={owner}&repo={repo}"


_FORMAT_EXAMPLES = {
    "email": "someone@example.com",
    "idn-email": "someone@example.com",
    "uri": "https://example.com",
    "uri-reference": "https://example.com",
    "url": "https://example.com",
    "date": "2024-01-31",
    "date-time": "2024-01-31T12:00:00Z",
    "time": "12:00:00Z",
    "hostname": "example.com",
    "ipv4": "192.0.2.1",
    "ipv6": "2001:db8::1",
    "uuid": "00000000-0000-4000-8000-000000000000",
    "regex": "^example$",
}


def _string_candidates(schema: dict[str, Any], kind: str) -> list[Any]:
    candidates: list[Any] = []
    fmt = schema.get("format")
    if isinstance(fmt, str) and fmt in _FORMAT_EXAMPLES:
        candidates.append(_FORMAT_EXAMPLES[fmt])
    if kind in ("entity_name_picker", "repo_owner_picker"):
        candidates.append("example-name")
    candidates += ["example", "example-value"]
    pattern = schema.get("pattern")
    minimum = _int_or(schema.get("minLength"), 0)
    maximum = _int_or(schema.get("maxLength"), 0) or None
    if isinstance(pattern, str):
        candidates += _strings_matching(pattern)
    if minimum:
        candidates += [("example" * (minimum // 7 + 1))[: max(minimum, 1)], "x" * minimum]
    if maximum is not None:
        candidates += [c[:maximum] for c in list(candidates) if isinstance(c, str) and len(c) > maximum]
    return candidates


def _int_or(value: Any, fallback: int) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) else fallback


def _number_candidates(schema: dict[str, Any], *, integer: bool) -> list[Any]:
    lower = schema.get("minimum")
    upper = schema.get("maximum")
    exclusive_lower = schema.get("exclusiveMinimum")
    exclusive_upper = schema.get("exclusiveMaximum")
    step = schema.get("multipleOf")
    start: float = 0
    if isinstance(lower, int | float) and not isinstance(lower, bool):
        start = lower
    elif isinstance(exclusive_lower, int | float) and not isinstance(exclusive_lower, bool):
        start = exclusive_lower + 1
    elif isinstance(upper, int | float) and not isinstance(upper, bool) and upper < 0:
        start = upper
    elif isinstance(exclusive_upper, int | float) and not isinstance(exclusive_upper, bool) and exclusive_upper <= 0:
        start = exclusive_upper - 1
    if isinstance(step, int | float) and not isinstance(step, bool) and step > 0:
        start = math.ceil(start / step) * step
    candidates: list[Any] = [start]
    if isinstance(exclusive_lower, int | float) and isinstance(upper, int | float):
        candidates.append((exclusive_lower + upper) / 2)
    if integer:
        return [int(math.ceil(c)) for c in candidates]
    return [int(c) if float(c).is_integer() else c for c in candidates]


def _strings_matching(pattern: str) -> list[str]:
    """A few strings built from a regular expression (common constructs only)."""
    try:
        from re import _parser as sre_parse  # stdlib parser; only used to build examples

        parsed = sre_parse.parse(pattern)
    except Exception:  # noqa: BLE001 - an unusual pattern just yields no example
        return []
    found = []
    for repeat in (None, 1, 3, 8):
        try:
            text = _generate(parsed, repeat, sre_parse)
        except (_Unsupported, RecursionError):
            continue
        try:
            if re.search(pattern, text):
                found.append(text)
        except re.error:
            return []
    return found


class _Unsupported(Exception):
    pass


def _generate(items: Any, repeat: int | None, sre: Any) -> str:
    out = []
    for op, argument in items:
        name = str(op)
        if name == "LITERAL":
            out.append(chr(argument))
        elif name == "NOT_LITERAL":
            out.append("a" if chr(argument) != "a" else "b")
        elif name == "ANY":
            out.append("a")
        elif name == "IN":
            out.append(_pick_from_set(argument))
        elif name in ("MAX_REPEAT", "MIN_REPEAT", "POSSESSIVE_REPEAT"):
            low, high, sub = argument
            count = low if repeat is None else max(low, min(repeat, high))
            out.append("".join(_generate(sub, repeat, sre) for _ in range(count)))
        elif name == "SUBPATTERN":
            out.append(_generate(argument[-1], repeat, sre))
        elif name == "ATOMIC_GROUP":
            out.append(_generate(argument, repeat, sre))
        elif name == "BRANCH":
            out.append(_generate(argument[1][0], repeat, sre))
        elif name == "AT":
            continue
        elif name == "CATEGORY":
            out.append(_pick_category(argument))
        else:
            raise _Unsupported(name)
    return "".join(out)


def _pick_from_set(members: list[Any]) -> str:
    if any(str(op) == "NEGATE" for op, _ in members):
        raise _Unsupported("negated set")
    for preferred in "a0":
        for op, argument in members:
            if str(op) == "RANGE" and argument[0] <= ord(preferred) <= argument[1]:
                return preferred
    op, argument = members[0]
    name = str(op)
    if name == "LITERAL":
        return chr(argument)
    if name == "RANGE":
        return chr(argument[0])
    if name == "CATEGORY":
        return _pick_category(argument)
    raise _Unsupported(name)


def _pick_category(category: Any) -> str:
    name = str(category)
    if name.endswith("NOT_DIGIT") or name.endswith("NOT_SPACE"):
        return "a"
    if name.endswith("NOT_WORD"):
        return "-"
    if name.endswith("DIGIT"):
        return "0"
    if name.endswith("WORD"):
        return "a"
    if name.endswith("SPACE"):
        return " "
    raise _Unsupported(name)
