"""Catalog entities: the Backstage envelope, kinds, validation and normalisation.

Plain Python (no Django). Reads Backstage's entity format unchanged: ``backstage.io/v1alpha1``
(and ``v1beta1``) for the system-model kinds, ``scaffolder.backstage.io/v1beta3`` for
Template. JSON Schemas for each kind live in ``catalog/schemas/``.

Typical use (the ingestion pipeline)::

    registry = default_registry()
    result = validate_entity(doc, registry)      # doc: one YAML document, any type
    if result.ok:
        entity = result.entity                   # ParsedEntity, namespace filled in
        relations = derive_relations(entity, registry)   # from catalog.relations
    else:
        for problem in result.problems:          # ValidationProblem(path, message)
            print(problem.message)

Public API
----------
``default_registry() -> KindRegistry``
    A new registry holding the built-in kinds (Component, API, Resource, System, Domain,
    Group, User, Location, Template, Environment, AiResource). Each call returns a fresh
    object, so adding kinds to one never affects another.

``KindRegistry.register(kind, api_versions, schema=None, *, reference_fields=None, replace=False)``
    Declare a kind (for example one an administrator configured). ``schema`` is a JSON
    Schema applied to the whole entity document; it may ``$ref`` our shared schemas by
    id (``urn:causeway:catalog:envelope``, ``urn:causeway:catalog:metadata``). Envelope
    and metadata rules are always enforced, whatever the schema says. Raises
    ``KindRegistrationError`` with a message on bad input.

``validate_entity(data, registry=None) -> ValidationResult``
    Never raises for bad input. ``result.ok`` / ``result.entity`` / ``result.problems``.
    Problems carry a JSON path (``spec.steps[0].action``) and a short human message.

``ParsedEntity``
    ``api_version``, ``kind``, ``namespace``, ``name``, ``ref`` (``EntityRef``), ``data``
    (the normalised document: plain JSON types, ``metadata.namespace`` set, any
    client-supplied ``relations`` dropped), ``metadata``, ``spec``, ``etag``.

``entity_ref_of(entity) -> EntityRef``, ``canonical_json(data) -> str``,
``compute_etag(data) -> str``, and the name checks ``is_valid_entity_name``,
``is_valid_namespace``, ``is_valid_label_key``, ``is_valid_label_value``, ``is_valid_tag``,
``is_valid_kind``, ``is_valid_api_version``.
"""

from __future__ import annotations

import datetime as _dt
import hashlib
import json
import math
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jsonschema
import jsonschema.exceptions

try:
    import jsonschema_rs
except ImportError:  # optional speed-up; the reference validator works alone
    jsonschema_rs = None
import jsonschema.validators
import referencing
import referencing.exceptions
from referencing.jsonschema import DRAFT202012

from catalog.refs import (
    BUILTIN_REFERENCE_FIELDS,
    DEFAULT_NAMESPACE,
    REVERSE_RELATION,
    EntityRef,
    InvalidEntityRef,
    ReferenceField,
    parse_entity_ref,
)

__all__ = [
    "BUILTIN_KINDS",
    "KindDefinition",
    "KindRegistrationError",
    "KindRegistry",
    "ParsedEntity",
    "ValidationProblem",
    "ValidationResult",
    "canonical_json",
    "compute_etag",
    "default_registry",
    "entity_ref_of",
    "is_valid_api_version",
    "is_valid_entity_name",
    "is_valid_kind",
    "is_valid_label_key",
    "is_valid_label_value",
    "is_valid_namespace",
    "is_valid_tag",
    "validate_documents",
    "validate_entity",
]

SCHEMA_DIR = Path(__file__).resolve().parent / "schemas"
_SHARED_SCHEMA_FILES = ("envelope.json", "metadata.json")

_BACKSTAGE_VERSIONS = ("backstage.io/v1alpha1", "backstage.io/v1beta1")

# kind -> (accepted apiVersions, schema file). Environment and AiResource are newer kinds
# that Backstage only publishes as v1alpha1.
BUILTIN_KINDS: dict[str, tuple[tuple[str, ...], str]] = {
    "Component": (_BACKSTAGE_VERSIONS, "component.json"),
    "API": (_BACKSTAGE_VERSIONS, "api.json"),
    "Resource": (_BACKSTAGE_VERSIONS, "resource.json"),
    "System": (_BACKSTAGE_VERSIONS, "system.json"),
    "Domain": (_BACKSTAGE_VERSIONS, "domain.json"),
    "Group": (_BACKSTAGE_VERSIONS, "group.json"),
    "User": (_BACKSTAGE_VERSIONS, "user.json"),
    "Location": (_BACKSTAGE_VERSIONS, "location.json"),
    "Template": (("scaffolder.backstage.io/v1beta3",), "template.json"),
    "Environment": (("backstage.io/v1alpha1",), "environment.json"),
    "AiResource": (("backstage.io/v1alpha1",), "airesource.json"),
}

ROOT_FIELDS = ("apiVersion", "kind", "metadata", "spec", "relations", "status")

# Bounds that keep hostile documents (alias bombs, self-referencing YAML) cheap to reject.
MAX_DEPTH = 64
MAX_NODES = 200_000
MAX_PROBLEMS = 50

# --------------------------------------------------------------------------------------
# Name rules (the same as Backstage's, which follow Kubernetes object names)
# --------------------------------------------------------------------------------------

_NAME_RE = re.compile(r"^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$")
_DNS_LABEL_RE = re.compile(r"^[a-z0-9]+(-+[a-z0-9]+)*$")
_TAG_RE = re.compile(r"^[a-z0-9+#]+(-[a-z0-9+#]+)*$")
_KIND_RE = re.compile(r"^[a-zA-Z][a-zA-Z0-9]*$")
_VERSION_RE = re.compile(r"^[a-zA-Z0-9]{1,63}$")

NAME_RULE = "must be 1-63 characters of [a-zA-Z0-9] separated by -, _ or ."
NAMESPACE_RULE = "must be 1-63 characters of [a-z0-9] separated by -"
KEY_RULE = (
    "must be a name (1-63 characters of [a-zA-Z0-9] separated by -, _ or .),"
    " optionally prefixed by a DNS subdomain and /, e.g. example.com/team"
)
LABEL_VALUE_RULE = "must be empty or 1-63 characters of [a-zA-Z0-9] separated by -, _ or ."
TAG_RULE = "must be 1-63 characters of [a-z0-9+#] separated by -"
KIND_RULE = "must start with a letter and contain only letters and digits (at most 63)"
API_VERSION_RULE = "must look like group/version, e.g. backstage.io/v1alpha1"


def is_valid_entity_name(value: object) -> bool:
    return isinstance(value, str) and 1 <= len(value) <= 63 and bool(_NAME_RE.match(value))


def is_valid_namespace(value: object) -> bool:
    return isinstance(value, str) and 1 <= len(value) <= 63 and bool(_DNS_LABEL_RE.match(value))


def _is_valid_dns_subdomain(value: str) -> bool:
    return 1 <= len(value) <= 253 and all(
        is_valid_namespace(part) and not part.startswith("-") for part in value.split(".")
    )


def _is_valid_prefixed(value: object, check_suffix) -> bool:
    if not isinstance(value, str):
        return False
    prefix, slash, suffix = value.rpartition("/")
    if not slash:
        return check_suffix(value)
    return _is_valid_dns_subdomain(prefix) and check_suffix(suffix)


def is_valid_label_key(value: object) -> bool:
    """Label and annotation keys: ``[dns-subdomain/]name``."""
    return _is_valid_prefixed(value, is_valid_entity_name)


def is_valid_label_value(value: object) -> bool:
    return value == "" or is_valid_entity_name(value)


def is_valid_tag(value: object) -> bool:
    return isinstance(value, str) and 1 <= len(value) <= 63 and bool(_TAG_RE.match(value))


def is_valid_kind(value: object) -> bool:
    return isinstance(value, str) and 1 <= len(value) <= 63 and bool(_KIND_RE.match(value))


def is_valid_api_version(value: object) -> bool:
    return _is_valid_prefixed(value, lambda v: bool(_VERSION_RE.match(v)))


# --------------------------------------------------------------------------------------
# Canonical JSON and etags
# --------------------------------------------------------------------------------------


def canonical_json(data: Any) -> str:
    """Stable JSON text: sorted keys, no spaces, UTF-8 kept as is. Same data, same text."""
    return json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False)


def compute_etag(data: Any) -> str:
    """SHA-256 (hex) of the canonical JSON of ``data``; changes whenever any part changes."""
    return hashlib.sha256(canonical_json(data).encode("utf-8")).hexdigest()


# --------------------------------------------------------------------------------------
# Results
# --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ValidationProblem:
    """One thing wrong with a document. ``path`` is ``""`` for the document itself."""

    path: str
    message: str

    def __str__(self) -> str:
        return self.message


@dataclass(frozen=True)
class ParsedEntity:
    """A valid, normalised entity."""

    api_version: str
    kind: str
    namespace: str
    name: str
    data: dict[str, Any]

    @property
    def ref(self) -> EntityRef:
        return EntityRef(self.kind, self.namespace, self.name)

    @property
    def metadata(self) -> dict[str, Any]:
        return self.data["metadata"]

    @property
    def spec(self) -> dict[str, Any]:
        spec = self.data.get("spec")
        return spec if isinstance(spec, dict) else {}

    @property
    def etag(self) -> str:
        return compute_etag(self.data)


@dataclass(frozen=True)
class ValidationResult:
    entity: ParsedEntity | None
    problems: tuple[ValidationProblem, ...] = ()

    @property
    def ok(self) -> bool:
        return self.entity is not None and not self.problems

    @property
    def messages(self) -> list[str]:
        return [problem.message for problem in self.problems]


def entity_ref_of(entity: ParsedEntity | Mapping[str, Any]) -> EntityRef:
    """The reference of an entity (a ``ParsedEntity`` or a raw envelope mapping)."""
    if isinstance(entity, ParsedEntity):
        return entity.ref
    if not isinstance(entity, Mapping):
        raise InvalidEntityRef(f"expected an entity mapping, not {type(entity).__name__}")
    metadata = entity.get("metadata")
    metadata = metadata if isinstance(metadata, Mapping) else {}
    kind, name = entity.get("kind"), metadata.get("name")
    namespace = metadata.get("namespace") or DEFAULT_NAMESPACE
    if not isinstance(kind, str) or not kind:
        raise InvalidEntityRef("entity has no kind")
    if not isinstance(name, str) or not name:
        raise InvalidEntityRef("entity has no metadata.name")
    if not isinstance(namespace, str):
        raise InvalidEntityRef("entity metadata.namespace is not a string")
    return EntityRef(kind, namespace, name)


# --------------------------------------------------------------------------------------
# Kinds
# --------------------------------------------------------------------------------------


class KindRegistrationError(ValueError):
    """A kind declaration that cannot be used."""


@dataclass(frozen=True)
class KindDefinition:
    kind: str
    api_versions: tuple[str, ...]
    schema: Mapping[str, Any] | None
    reference_fields: tuple[ReferenceField, ...] = ()
    builtin: bool = False

    def reference_fields_for(self, spec_type: object) -> tuple[ReferenceField, ...]:
        return tuple(f for f in self.reference_fields if f.applies_to(spec_type))


def _load_schema(filename: str) -> dict[str, Any]:
    with (SCHEMA_DIR / filename).open(encoding="utf-8") as handle:
        return json.load(handle)


def _coerce_reference_field(value: ReferenceField | Mapping[str, Any]) -> ReferenceField:
    if isinstance(value, ReferenceField):
        return value
    if not isinstance(value, Mapping):
        raise KindRegistrationError("each reference field must be a mapping with path and relation")
    path, relation = value.get("path"), value.get("relation")
    if not isinstance(path, str) or not re.fullmatch(r"spec(\.[A-Za-z0-9_]+)+", path):
        raise KindRegistrationError(f"reference field path {path!r} must look like spec.fieldName")
    if not isinstance(relation, str) or not re.fullmatch(r"[A-Za-z]+", relation):
        raise KindRegistrationError(f"reference field {path}: relation {relation!r} must be a word")
    reverse = value.get("reverse") or REVERSE_RELATION.get(relation)
    if not isinstance(reverse, str) or not re.fullmatch(r"[A-Za-z]+", reverse):
        raise KindRegistrationError(
            f"reference field {path}: relation {relation!r} is not a built-in one, so give its reverse"
        )
    default_kind = value.get("default_kind", value.get("defaultKind"))
    if default_kind is not None and not is_valid_kind(default_kind):
        raise KindRegistrationError(f"reference field {path}: default kind {default_kind!r} {KIND_RULE}")
    allowed = value.get("allowed_kinds", value.get("allowedKinds")) or ()
    if isinstance(allowed, str) or not all(is_valid_kind(k) for k in allowed):
        raise KindRegistrationError(f"reference field {path}: allowed kinds must be a list of kind names")
    spec_type = value.get("spec_type", value.get("specType"))
    if spec_type is not None and not isinstance(spec_type, str):
        raise KindRegistrationError(f"reference field {path}: spec type must be a string")
    return ReferenceField(path, relation, reverse, default_kind, tuple(allowed), spec_type)


class KindRegistry:
    """The kinds a catalog accepts, their apiVersions, schemas and reference fields."""

    def __init__(self) -> None:
        self._kinds: dict[str, KindDefinition] = {}
        self._validators: dict[str, Any] = {}
        self._fast_validators: dict[str, Any] = {}
        self._shared = referencing.Registry().with_resources(
            (schema["$id"], DRAFT202012.create_resource(schema)) for schema in map(_load_schema, _SHARED_SCHEMA_FILES)
        )

    def register(
        self,
        kind: str,
        api_versions: Iterable[str],
        schema: Mapping[str, Any] | None = None,
        *,
        reference_fields: Iterable[ReferenceField | Mapping[str, Any]] | None = None,
        replace: bool = False,
        builtin: bool = False,
    ) -> KindDefinition:
        if not is_valid_kind(kind):
            raise KindRegistrationError(f"kind {kind!r} is invalid: {KIND_RULE}")
        if isinstance(api_versions, str):
            api_versions = [api_versions]
        versions = tuple(api_versions)
        if not versions:
            raise KindRegistrationError(f"kind {kind} needs at least one apiVersion")
        for version in versions:
            if not is_valid_api_version(version):
                raise KindRegistrationError(f"apiVersion {version!r} for kind {kind} is invalid: {API_VERSION_RULE}")
        existing = self._kinds.get(kind.lower())
        if existing is not None and not replace:
            raise KindRegistrationError(f"kind {existing.kind} is already registered")
        if schema is not None:
            if not isinstance(schema, Mapping):
                raise KindRegistrationError(f"schema for kind {kind} must be a JSON Schema object")
            validator_class = jsonschema.validators.validator_for(schema, default=jsonschema.Draft202012Validator)
            try:
                validator_class.check_schema(schema)
            except jsonschema.exceptions.SchemaError as exc:
                raise KindRegistrationError(f"schema for kind {kind} is not a valid JSON Schema: {exc.message}")
        if reference_fields is None:
            fields = existing.reference_fields if existing is not None else ()
        else:
            fields = tuple(_coerce_reference_field(f) for f in reference_fields)
        definition = KindDefinition(kind, versions, schema, fields, builtin)
        self._kinds[kind.lower()] = definition
        self._validators.pop(kind.lower(), None)
        self._fast_validators.pop(kind.lower(), None)
        return definition

    def get(self, kind: str) -> KindDefinition | None:
        """The definition for ``kind`` spelled exactly as registered, else None."""
        definition = self._kinds.get(kind.lower()) if isinstance(kind, str) else None
        return definition if definition is not None and definition.kind == kind else None

    def find(self, kind: str) -> KindDefinition | None:
        """The definition for ``kind`` ignoring case (for refs, which are case-insensitive)."""
        return self._kinds.get(kind.lower()) if isinstance(kind, str) else None

    def kinds(self) -> list[str]:
        return sorted(d.kind for d in self._kinds.values())

    def __contains__(self, kind: object) -> bool:
        return isinstance(kind, str) and self.get(kind) is not None

    def reference_fields_for(self, kind: str, spec_type: object = None) -> tuple[ReferenceField, ...]:
        definition = self.find(kind)
        return definition.reference_fields_for(spec_type) if definition else ()

    def fast_validator_for(self, kind: str) -> Any | None:
        """A compiled jsonschema-rs validator for the kind's quick yes/no, or None when it cannot be built.

        It only answers "valid"; whenever it says no, the reference validator (``validator_for``)
        decides and words the problems, so both agree on what is accepted.
        """
        definition = self.find(kind)
        if definition is None or definition.schema is None or jsonschema_rs is None:
            return None
        key = definition.kind.lower()
        if key not in self._fast_validators:
            try:
                resources = [(schema["$id"], schema) for schema in map(_load_schema, _SHARED_SCHEMA_FILES)]
                self._fast_validators[key] = jsonschema_rs.validator_for(
                    dict(definition.schema), registry=jsonschema_rs.Registry(resources)
                )
            except Exception:  # a schema it cannot compile: the reference validator alone is used
                self._fast_validators[key] = None
        return self._fast_validators[key]

    def validator_for(self, kind: str) -> Any | None:
        """A compiled JSON Schema validator for the kind, or None when it has no schema."""
        definition = self.find(kind)
        if definition is None or definition.schema is None:
            return None
        key = definition.kind.lower()
        if key not in self._validators:
            validator_class = jsonschema.validators.validator_for(
                definition.schema, default=jsonschema.Draft202012Validator
            )
            self._validators[key] = validator_class(definition.schema, registry=self._shared)
        return self._validators[key]


def default_registry() -> KindRegistry:
    """A fresh registry with every built-in kind."""
    registry = KindRegistry()
    for kind, (versions, filename) in BUILTIN_KINDS.items():
        registry.register(
            kind,
            versions,
            _load_schema(filename),
            reference_fields=BUILTIN_REFERENCE_FIELDS.get(kind.lower(), ()),
            builtin=True,
        )
    return registry


# --------------------------------------------------------------------------------------
# Validation
# --------------------------------------------------------------------------------------

_IDENTIFIER_RE = re.compile(r"^[A-Za-z_$][A-Za-z0-9_$]*$")


def _join(path: str, key: str | int) -> str:
    if isinstance(key, int):
        return f"{path}[{key}]"
    if _IDENTIFIER_RE.match(key):
        return f"{path}.{key}" if path else key
    return f"{path}[{json.dumps(key, ensure_ascii=False)}]"


def _where(path: str) -> str:
    return path or "document"


def _show(value: Any, limit: int = 80) -> str:
    if isinstance(value, str):
        text = json.dumps(value, ensure_ascii=False)
        text = "'" + text[1:-1].replace("'", "\\'") + "'"
    else:
        try:
            text = json.dumps(value, ensure_ascii=False, sort_keys=True)
        except (TypeError, ValueError):
            text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _type_phrase(value: Any) -> str:
    if value is None:
        return "nothing (null)"
    if isinstance(value, bool):
        return f"a boolean ({_show(value)})"
    if isinstance(value, int):
        return f"an integer ({value})"
    if isinstance(value, float):
        return f"a number ({value})"
    if isinstance(value, str):
        return f"a string ({_show(value)})"
    if isinstance(value, Mapping):
        return "a mapping"
    if isinstance(value, list | tuple):
        return "a list"
    return f"a value of type {type(value).__name__}"


_EXPECTED = {
    "object": "a mapping",
    "array": "a list",
    "string": "a string",
    "integer": "an integer",
    "number": "a number",
    "boolean": "true or false",
    "null": "null",
}


class _Problems:
    """Collects problems, dropping duplicates and keeping at most MAX_PROBLEMS of them."""

    def __init__(self) -> None:
        self.items: list[ValidationProblem] = []
        self.dropped = 0
        self.truncated = False
        self._seen: set[tuple[str, str]] = set()
        self._paths: set[str] = set()
        self._ancestors: set[str] = set()

    def add(self, path: str, message: str) -> None:
        if (path, message) in self._seen:
            return
        self._seen.add((path, message))
        self._paths.add(path)
        self._ancestors.update(_ancestors(path))
        if len(self.items) >= MAX_PROBLEMS:
            self.dropped += 1
            return
        self.items.append(ValidationProblem(path, message))

    def covers(self, path: str) -> bool:
        """True when a problem was already reported at ``path``, above it or below it."""
        return path in self._paths or path in self._ancestors or any(a in self._paths for a in _ancestors(path))

    def result(self) -> tuple[ValidationProblem, ...]:
        items = list(self.items)
        if self.truncated:
            items.append(ValidationProblem("", f"... and more problems (only the first {MAX_PROBLEMS} are shown)"))
        elif self.dropped:
            items.append(ValidationProblem("", f"... and {self.dropped} more problem(s)"))
        return tuple(items)

    def __bool__(self) -> bool:
        return bool(self.items)


def _ancestors(path: str) -> list[str]:
    """``spec.steps[0].id`` -> ``spec``, ``spec.steps``, ``spec.steps[0]`` (the root is not included)."""
    return [path[:i] for i, ch in enumerate(path) if ch in ".[" and i > 0]


def _js_key(key: Any) -> str | None:
    """YAML allows non-string keys; read them the way a JavaScript object would."""
    if isinstance(key, str):
        return key
    if isinstance(key, bool):
        return "true" if key else "false"
    if key is None:
        return "null"
    if isinstance(key, int | float) and not (isinstance(key, float) and not math.isfinite(key)):
        return str(key)
    if isinstance(key, _dt.date):
        return key.isoformat()
    return None


class _TooBig(Exception):
    pass


def _to_plain_json(value: Any, path: str, problems: _Problems, budget: list[int], depth: int = 0) -> Any:
    """Copy ``value`` into plain JSON types, reporting what cannot be represented."""
    budget[0] -= 1
    if budget[0] < 0:
        raise _TooBig(f"document is too large (more than {MAX_NODES} values)")
    if depth > MAX_DEPTH:
        raise _TooBig(f"document is nested too deeply (more than {MAX_DEPTH} levels)")
    if value is None or isinstance(value, bool | str):
        return value
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        if not math.isfinite(value):
            problems.add(path, f"{_where(path)} is {value}, which JSON cannot represent")
            return None
        return value
    if isinstance(value, _dt.datetime | _dt.date):
        # YAML reads 2024-01-31 as a date; Backstage keeps such values as text.
        return value.isoformat()
    if isinstance(value, Mapping):
        result: dict[str, Any] = {}
        for raw_key, item in value.items():
            key = _js_key(raw_key)
            if key is None:
                problems.add(path, f"{_where(path)} has a key of unsupported type {type(raw_key).__name__}")
                continue
            if key in result:
                problems.add(_join(path, key), f"{_where(path)} has the key {_show(key)} twice")
                continue
            result[key] = _to_plain_json(item, _join(path, key), problems, budget, depth + 1)
        return result
    if isinstance(value, list | tuple):
        return [_to_plain_json(item, _join(path, i), problems, budget, depth + 1) for i, item in enumerate(value)]
    problems.add(path, f"{_where(path)} has a value of unsupported type {type(value).__name__}")
    return None


def _check_string(problems: _Problems, path: str, value: Any, *, allow_empty: bool = True) -> bool:
    if not isinstance(value, str):
        hint = "; quote it in YAML" if isinstance(value, bool | int | float) else ""
        problems.add(path, f"{path} must be a string (got {_type_phrase(value)}{hint})")
        return False
    if not allow_empty and not value:
        problems.add(path, f"{path} must not be empty")
        return False
    return True


def _check_metadata(metadata: dict[str, Any], problems: _Problems) -> None:
    name = metadata.get("name")
    if "name" not in metadata or name is None:
        problems.add("metadata.name", "metadata.name is required")
    elif _check_string(problems, "metadata.name", name) and not is_valid_entity_name(name):
        problems.add("metadata.name", f"metadata.name {_show(name)} is invalid: {NAME_RULE}")

    if "namespace" in metadata:
        namespace = metadata["namespace"]
        if _check_string(problems, "metadata.namespace", namespace) and not is_valid_namespace(namespace):
            problems.add("metadata.namespace", f"metadata.namespace {_show(namespace)} is invalid: {NAMESPACE_RULE}")

    for field_name in ("title", "description"):
        if field_name in metadata:
            _check_string(problems, f"metadata.{field_name}", metadata[field_name])

    for field_name in ("labels", "annotations"):
        if field_name not in metadata:
            continue
        path = f"metadata.{field_name}"
        mapping = metadata[field_name]
        if not isinstance(mapping, dict):
            problems.add(path, f"{path} must be a mapping of keys to strings (got {_type_phrase(mapping)})")
            continue
        for key, value in mapping.items():
            item_path = _join(path, key)
            if not is_valid_label_key(key):
                problems.add(item_path, f"{path} key {_show(key)} is invalid: {KEY_RULE}")
                continue
            if not _check_string(problems, item_path, value):
                continue
            if field_name == "labels" and not is_valid_label_value(value):
                problems.add(item_path, f"{item_path} value {_show(value)} is invalid: {LABEL_VALUE_RULE}")

    if "tags" in metadata:
        tags = metadata["tags"]
        if not isinstance(tags, list):
            problems.add("metadata.tags", f"metadata.tags must be a list of strings (got {_type_phrase(tags)})")
        else:
            for index, tag in enumerate(tags):
                path = _join("metadata.tags", index)
                if _check_string(problems, path, tag) and not is_valid_tag(tag):
                    problems.add(path, f"{path} {_show(tag)} is invalid: {TAG_RULE}")

    if "links" in metadata:
        links = metadata["links"]
        if not isinstance(links, list):
            problems.add("metadata.links", f"metadata.links must be a list (got {_type_phrase(links)})")
        else:
            for index, link in enumerate(links):
                path = _join("metadata.links", index)
                if not isinstance(link, dict):
                    problems.add(path, f"{path} must be a mapping with a url (got {_type_phrase(link)})")
                    continue
                if "url" not in link:
                    problems.add(f"{path}.url", f"{path}.url is required")
                else:
                    _check_string(problems, f"{path}.url", link["url"], allow_empty=False)
                for key in ("title", "icon", "type"):
                    if key in link:
                        _check_string(problems, f"{path}.{key}", link[key], allow_empty=False)


def _check_envelope(doc: dict[str, Any], registry: KindRegistry, problems: _Problems) -> KindDefinition | None:
    unknown = [key for key in doc if key not in ROOT_FIELDS]
    for key in unknown:
        problems.add(
            _join("", key),
            f"unknown top-level field {_show(key)}: only apiVersion, kind, metadata and spec belong there"
            " (did you mean to put it under spec or metadata?)",
        )

    api_version = doc.get("apiVersion")
    api_version_ok = False
    if api_version is None:
        problems.add("apiVersion", "apiVersion is required (e.g. backstage.io/v1alpha1)")
    elif _check_string(problems, "apiVersion", api_version):
        if is_valid_api_version(api_version):
            api_version_ok = True
        else:
            problems.add("apiVersion", f"apiVersion {_show(api_version)} is invalid: {API_VERSION_RULE}")

    kind = doc.get("kind")
    definition = None
    if kind is None:
        problems.add("kind", "kind is required (e.g. Component)")
    elif _check_string(problems, "kind", kind):
        if not is_valid_kind(kind):
            problems.add("kind", f"kind {_show(kind)} is invalid: {KIND_RULE}")
        else:
            definition = registry.get(kind)
            if definition is None:
                near = registry.find(kind)
                if near is not None:
                    problems.add("kind", f"kind {_show(kind)} is not known; did you mean {near.kind}?")
                else:
                    problems.add(
                        "kind", f"kind {_show(kind)} is not known (known kinds: {', '.join(registry.kinds())})"
                    )
            elif api_version_ok and api_version not in definition.api_versions:
                problems.add(
                    "apiVersion",
                    f"apiVersion {_show(api_version)} is not supported for kind {definition.kind}"
                    f" (use {' or '.join(definition.api_versions)})",
                )

    metadata = doc.get("metadata")
    if metadata is None:
        problems.add("metadata", "metadata is required, with at least a name")
    elif not isinstance(metadata, dict):
        problems.add("metadata", f"metadata must be a mapping (got {_type_phrase(metadata)})")
    else:
        _check_metadata(metadata, problems)

    if "spec" in doc and not isinstance(doc["spec"], dict):
        problems.add("spec", f"spec must be a mapping (got {_type_phrase(doc['spec'])})")
    return definition


def _schema_path(error: jsonschema.exceptions.ValidationError) -> str:
    path = ""
    for part in error.absolute_path:
        path = _join(path, part)
    return path


def _schema_messages(error: jsonschema.exceptions.ValidationError) -> list[tuple[str, str]]:
    """Turn one JSON Schema error into (path, message) pairs a person can act on."""
    path = _schema_path(error)
    where = _where(path)
    value = error.instance
    keyword = error.validator
    expected = error.validator_value

    if "propertyNames" in error.relative_schema_path:
        # The failing value is a key of the mapping at ``path``, not a value in it.
        if keyword == "enum":
            allowed = ", ".join(_show(choice) for choice in expected)
            return [(path, f"{where} has the key {_show(value)}, which is not allowed (allowed: {allowed})")]
        return [(path, f"{where} has an invalid key {_show(value)}")]
    if keyword == "required":
        present = value if isinstance(value, Mapping) else {}
        missing = [name for name in expected if name not in present]
        return [(_join(path, name), f"{_join(path, name)} is required") for name in missing]
    if keyword == "type":
        names = [expected] if isinstance(expected, str) else list(expected)
        wanted = " or ".join(_EXPECTED.get(n, n) for n in names)
        return [(path, f"{where} must be {wanted} (got {_type_phrase(value)})")]
    if keyword in ("anyOf", "oneOf"):
        # When the value's type fits none of the alternatives, say which types would;
        # otherwise report what is wrong inside the alternative(s) it does fit.
        type_errors = [e for e in error.context if e.validator == "type" and not e.relative_path]
        other = [e for e in error.context if not (e.validator == "type" and not e.relative_path)]
        branches = {e.relative_schema_path[0] for e in error.context if e.relative_schema_path}
        type_failed = {e.relative_schema_path[0] for e in type_errors if e.relative_schema_path}
        if other and type_failed != branches:
            messages: list[tuple[str, str]] = []
            for sub in other:
                messages.extend(_schema_messages(sub))
            return messages
        if type_errors:
            wanted = []
            for sub in type_errors:
                names = [sub.validator_value] if isinstance(sub.validator_value, str) else sub.validator_value
                wanted.extend(_EXPECTED.get(n, n) for n in names if _EXPECTED.get(n, n) not in wanted)
            return [(path, f"{where} must be {' or '.join(wanted)} (got {_type_phrase(value)})")]
    if keyword == "minLength":
        if expected == 1:
            return [(path, f"{where} must not be empty")]
        return [(path, f"{where} must be at least {expected} characters")]
    if keyword == "maxLength":
        return [(path, f"{where} must be at most {expected} characters")]
    if keyword == "pattern":
        return [(path, f"{where} {_show(value)} does not match the pattern {expected}")]
    if keyword == "enum":
        choices = ", ".join(_show(choice) for choice in expected)
        return [(path, f"{where} must be one of {choices} (got {_show(value)})")]
    if keyword == "const":
        return [(path, f"{where} must be {_show(expected)} (got {_show(value)})")]
    if keyword == "minItems":
        return [(path, f"{where} must have at least {expected} item(s)")]
    if keyword == "maxItems":
        return [(path, f"{where} must have at most {expected} item(s)")]
    if keyword == "additionalProperties" and expected is False and isinstance(value, Mapping):
        known = set(error.schema.get("properties", {}))
        extra = [key for key in value if key not in known]
        return [(_join(path, key), f"{where} has an unknown field {_show(key)}") for key in extra]
    if keyword in ("minimum", "exclusiveMinimum", "maximum", "exclusiveMaximum"):
        relation = {"minimum": ">=", "exclusiveMinimum": ">", "maximum": "<=", "exclusiveMaximum": "<"}[keyword]
        return [(path, f"{where} must be {relation} {expected} (got {_show(value)})")]
    return [(path, f"{where} is invalid: {_short(error.message)}")]


def _short(text: str, limit: int = 200) -> str:
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _check_schema(doc: dict[str, Any], registry: KindRegistry, definition: KindDefinition, problems: _Problems) -> None:
    try:
        validator = registry.validator_for(definition.kind)
        if validator is None:
            return
        subject = doc
        metadata = doc.get("metadata")
        if definition.builtin and isinstance(metadata, dict) and isinstance(metadata.get("name"), str):
            # _check_metadata already enforces every metadata rule of the built-in kinds; the schema
            # pass only needs the kind's own fields, which makes it several times faster.
            subject = {**doc, "metadata": {"name": metadata["name"]}}
        fast = registry.fast_validator_for(definition.kind)
        if fast is not None and fast.is_valid(subject):
            return
        for error in validator.iter_errors(subject):
            for path, message in _schema_messages(error):
                if not problems.covers(path):
                    problems.add(path, message)
            if problems.dropped:
                # Enough to reject the document; counting every remaining error of a huge
                # document is not worth the time.
                problems.truncated = True
                return
    except (referencing.exceptions.Unresolvable, jsonschema.exceptions.SchemaError) as exc:
        problems.add("", f"the schema for kind {definition.kind} cannot be used: {_short(str(exc))}")
    except RecursionError:
        problems.add("", f"the schema for kind {definition.kind} is recursive and cannot be used")


def _get_path(doc: Mapping[str, Any], dotted: str) -> Any:
    value: Any = doc
    for part in dotted.split("."):
        if not isinstance(value, Mapping):
            return None
        value = value.get(part)
    return value


def _check_references(doc: dict[str, Any], definition: KindDefinition, namespace: str, problems: _Problems) -> None:
    spec = doc.get("spec")
    spec_type = spec.get("type") if isinstance(spec, dict) else None
    for ref_field in definition.reference_fields_for(spec_type):
        value = _get_path(doc, ref_field.path)
        if value is None:
            continue
        items = [(ref_field.path, value)] if isinstance(value, str) else None
        if isinstance(value, list):
            items = [(_join(ref_field.path, i), item) for i, item in enumerate(value)]
        if items is None:
            if not problems.covers(ref_field.path):
                problems.add(
                    ref_field.path,
                    f"{ref_field.path} must be an entity reference or a list of them (got {_type_phrase(value)})",
                )
            continue
        for path, item in items:
            if not isinstance(item, str):
                if not problems.covers(path):
                    problems.add(path, f"{path} must be an entity reference string (got {_type_phrase(item)})")
                continue
            try:
                target = parse_entity_ref(item, ref_field.default_kind, namespace)
            except InvalidEntityRef as exc:
                problems.add(path, f"{path} {_show(item)} is not a valid entity reference: it {exc.reason}")
                continue
            allowed = ref_field.allowed_kinds
            if allowed and target.kind.lower() not in {k.lower() for k in allowed}:
                problems.add(path, f"{path} {_show(item)} must refer to a {' or '.join(allowed)}, not a {target.kind}")


def validate_entity(data: object, registry: KindRegistry | None = None) -> ValidationResult:
    """Check one document against the envelope, metadata and kind rules; normalise it."""
    if registry is None:
        registry = default_registry()
    problems = _Problems()

    if data is None:
        problems.add("", "document is empty: expected a mapping with apiVersion, kind and metadata")
        return ValidationResult(None, problems.result())
    if not isinstance(data, Mapping):
        what = "a list" if isinstance(data, list | tuple) else _type_phrase(data)
        problems.add("", f"document is {what}, not a mapping with apiVersion, kind and metadata")
        return ValidationResult(None, problems.result())

    try:
        doc = _to_plain_json(data, "", problems, [MAX_NODES])
    except _TooBig as exc:
        return ValidationResult(None, (ValidationProblem("", str(exc)),))
    except RecursionError:
        return ValidationResult(None, (ValidationProblem("", "document is nested too deeply"),))

    definition = _check_envelope(doc, registry, problems)
    metadata = doc.get("metadata") if isinstance(doc.get("metadata"), dict) else {}
    namespace = metadata.get("namespace", DEFAULT_NAMESPACE)
    if not is_valid_namespace(namespace):
        namespace = DEFAULT_NAMESPACE
    # Once the problem list is full the document is rejected anyway; skip the schema pass,
    # which would only add more (and can be slow on a huge document).
    if definition is not None and not problems.dropped:
        _check_schema(doc, registry, definition, problems)
        _check_references(doc, definition, namespace, problems)

    if problems or definition is None:
        return ValidationResult(None, problems.result())

    normalised = dict(doc)
    normalised.pop("relations", None)  # relations are computed by the catalog, never taken from input
    normalised["metadata"] = {**metadata, "namespace": namespace}
    entity = ParsedEntity(
        api_version=doc["apiVersion"],
        kind=definition.kind,
        namespace=namespace,
        name=metadata["name"],
        data=normalised,
    )
    return ValidationResult(entity, ())


def validate_documents(documents: Sequence[object], registry: KindRegistry | None = None) -> list[ValidationResult]:
    """``validate_entity`` over several documents with one registry."""
    registry = registry or default_registry()
    return [validate_entity(doc, registry) for doc in documents]
