"""Entity references: ``kind:namespace/name``, parsed and compared the way Backstage does.

Public API
----------
``EntityRef(kind, namespace, name)``
    Frozen value. Equality, hashing and ordering ignore case; ``str(ref)`` and
    ``ref.canonical`` give the lower-case ``kind:namespace/name`` string used as a key
    everywhere (database rows, API ``targetRef``). The fields keep the spelling they were
    written with, for display.

``parse_entity_ref(ref, default_kind=None, default_namespace="default") -> EntityRef``
    Accepts ``"name"``, ``"kind:name"``, ``"namespace/name"``, ``"kind:namespace/name"``
    and mappings ``{"kind", "namespace", "name"}``. A missing kind falls back to
    ``default_kind``; with none, the reference is rejected. Raises ``InvalidEntityRef``
    with a message that names the offending text.

``format_entity_ref(ref) -> str``
    Canonical string for an ``EntityRef``, a mapping or a reference string (which must
    then carry its kind).

``ReferenceField`` and ``BUILTIN_REFERENCE_FIELDS``
    The spec fields of each built-in kind that hold references to other entities, with
    the kind assumed when the reference omits it and the pair of relations they imply.
    As in Backstage, a reference without a namespace inherits the namespace of the
    entity that contains it (so ``memberOf: [team-a]`` on a user in namespace ``ops``
    means ``group:ops/team-a``).

``RELATION_*`` constants and ``REVERSE_RELATION``
    The relation type names (``ownedBy``/``ownerOf`` ...).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

__all__ = [
    "BUILTIN_REFERENCE_FIELDS",
    "DEFAULT_NAMESPACE",
    "REVERSE_RELATION",
    "EntityRef",
    "InvalidEntityRef",
    "ReferenceField",
    "format_entity_ref",
    "parse_entity_ref",
]

DEFAULT_NAMESPACE = "default"

# Longest reference text we try to parse; anything longer cannot name a real entity
# (kind, namespace and name are each at most a few hundred characters).
_MAX_REF_LENGTH = 1024

RELATION_OWNED_BY = "ownedBy"
RELATION_OWNER_OF = "ownerOf"
RELATION_PART_OF = "partOf"
RELATION_HAS_PART = "hasPart"
RELATION_PROVIDES_API = "providesApi"
RELATION_API_PROVIDED_BY = "apiProvidedBy"
RELATION_CONSUMES_API = "consumesApi"
RELATION_API_CONSUMED_BY = "apiConsumedBy"
RELATION_DEPENDS_ON = "dependsOn"
RELATION_DEPENDENCY_OF = "dependencyOf"
RELATION_MEMBER_OF = "memberOf"
RELATION_HAS_MEMBER = "hasMember"
RELATION_CHILD_OF = "childOf"
RELATION_PARENT_OF = "parentOf"

REVERSE_RELATION: dict[str, str] = {}
for _forward, _backward in (
    (RELATION_OWNED_BY, RELATION_OWNER_OF),
    (RELATION_PART_OF, RELATION_HAS_PART),
    (RELATION_PROVIDES_API, RELATION_API_PROVIDED_BY),
    (RELATION_CONSUMES_API, RELATION_API_CONSUMED_BY),
    (RELATION_DEPENDS_ON, RELATION_DEPENDENCY_OF),
    (RELATION_MEMBER_OF, RELATION_HAS_MEMBER),
    (RELATION_CHILD_OF, RELATION_PARENT_OF),
):
    REVERSE_RELATION[_forward] = _backward
    REVERSE_RELATION[_backward] = _forward


_NO_REF = object()


class InvalidEntityRef(ValueError):
    """A reference that cannot be read as ``[kind:][namespace/]name``.

    ``str(error)`` names the reference; ``error.reason`` is the bare reason, for callers
    that show the reference themselves.
    """

    def __init__(self, reason: str, ref: object = _NO_REF) -> None:
        self.reason = reason
        self.ref = None if ref is _NO_REF else ref
        super().__init__(reason if ref is _NO_REF else f"entity reference {_describe(ref)} {reason}")


@dataclass(frozen=True, eq=False)
class EntityRef:
    """A reference to one entity. Compared without regard to case."""

    kind: str
    namespace: str
    name: str

    @property
    def key(self) -> tuple[str, str, str]:
        return (self.kind.lower(), self.namespace.lower(), self.name.lower())

    @property
    def canonical(self) -> str:
        kind, namespace, name = self.key
        return f"{kind}:{namespace}/{name}"

    def as_dict(self, *, lowercase: bool = True) -> dict[str, str]:
        """``{"kind", "namespace", "name"}``; lower-case unless asked otherwise."""
        if lowercase:
            kind, namespace, name = self.key
        else:
            kind, namespace, name = self.kind, self.namespace, self.name
        return {"kind": kind, "namespace": namespace, "name": name}

    def __str__(self) -> str:
        return self.canonical

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, EntityRef):
            return NotImplemented
        return self.key == other.key

    def __hash__(self) -> int:
        return hash(self.key)

    def __lt__(self, other: object) -> bool:
        if not isinstance(other, EntityRef):
            return NotImplemented
        return self.key < other.key


def _describe(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


def _split_ref_string(text: str) -> tuple[str | None, str | None, str]:
    """Split ``[kind:][namespace/]name``; a colon after the first slash belongs to the name."""
    colon = text.find(":")
    slash = text.find("/")
    if slash != -1 and slash < colon:
        colon = -1
    kind = text[:colon] if colon != -1 else None
    namespace = text[colon + 1 : slash] if slash != -1 else None
    name = text[max(colon + 1, slash + 1) :]
    return kind, namespace, name


def parse_entity_ref(
    ref: str | Mapping[str, Any] | EntityRef,
    default_kind: str | None = None,
    default_namespace: str = DEFAULT_NAMESPACE,
) -> EntityRef:
    """Read an entity reference, filling in the kind and namespace when they are left out."""
    if isinstance(ref, EntityRef):
        return ref
    if isinstance(ref, str):
        if not ref.strip():
            raise InvalidEntityRef("is empty", ref)
        if len(ref) > _MAX_REF_LENGTH:
            raise InvalidEntityRef(f"is longer than {_MAX_REF_LENGTH} characters", ref)
        if any((ch.isspace() and ch != " ") or ord(ch) < 32 for ch in ref):
            raise InvalidEntityRef("contains a control character", ref)
        kind, namespace, name = _split_ref_string(ref)
        if kind == "" or namespace == "" or not name:
            raise InvalidEntityRef("is not of the form [<kind>:][<namespace>/]<name>", ref)
        shown: object = ref
    elif isinstance(ref, Mapping):
        shown = dict(ref)
        unknown = sorted(str(k) for k in ref if k not in ("kind", "namespace", "name"))
        if unknown:
            raise InvalidEntityRef(f"has unknown field(s): {', '.join(unknown)}", shown)
        kind, namespace, name = ref.get("kind"), ref.get("namespace"), ref.get("name")
        for field, value in (("kind", kind), ("namespace", namespace), ("name", name)):
            if value is not None and (not isinstance(value, str) or not value):
                raise InvalidEntityRef(f"has a {field} that is not a non-empty string", shown)
        if not name:
            raise InvalidEntityRef("has no name", shown)
    else:
        raise InvalidEntityRef(f"must be a string or a mapping, not {type(ref).__name__}", ref)

    kind = kind or default_kind
    if not kind:
        example = f"component:{name}" if isinstance(ref, str) else "component:my-service"
        raise InvalidEntityRef(f"has no kind (write it as kind:name, e.g. {example})", shown)
    namespace = namespace or default_namespace or DEFAULT_NAMESPACE
    return EntityRef(kind=kind, namespace=namespace, name=name)


def format_entity_ref(ref: EntityRef | Mapping[str, Any] | str) -> str:
    """The canonical ``kind:namespace/name`` string (lower-case)."""
    return parse_entity_ref(ref).canonical


@dataclass(frozen=True)
class ReferenceField:
    """A spec field that refers to other entities, and the relations it implies.

    ``path`` is dotted from the entity root (``spec.owner``). The value may be one
    reference string or a list of them. ``relation`` goes from the entity holding the
    field to the target; ``reverse`` from the target back. ``allowed_kinds`` (empty means
    any) limits which kinds the target may be. ``spec_type`` restricts the field to
    entities whose ``spec.type`` equals it.
    """

    path: str
    relation: str
    reverse: str
    default_kind: str | None = None
    allowed_kinds: tuple[str, ...] = ()
    spec_type: str | None = None

    def applies_to(self, spec_type: object) -> bool:
        return self.spec_type is None or self.spec_type == spec_type


def _field(
    path: str,
    relation: str,
    default_kind: str | None = None,
    allowed_kinds: tuple[str, ...] = (),
    spec_type: str | None = None,
) -> ReferenceField:
    return ReferenceField(path, relation, REVERSE_RELATION[relation], default_kind, allowed_kinds, spec_type)


_OWNER = _field("spec.owner", RELATION_OWNED_BY, "Group", ("Group", "User"))
_SYSTEM = _field("spec.system", RELATION_PART_OF, "System")
# dependsOn/dependencyOf have no default kind: the target kind varies, so it must be written.
_DEPENDS_ON = _field("spec.dependsOn", RELATION_DEPENDS_ON)
_DEPENDENCY_OF = _field("spec.dependencyOf", RELATION_DEPENDENCY_OF)

# Keyed by lower-case kind. Environment and Location define no reference fields in Backstage.
BUILTIN_REFERENCE_FIELDS: dict[str, tuple[ReferenceField, ...]] = {
    "component": (
        _OWNER,
        _field("spec.subcomponentOf", RELATION_PART_OF, "Component"),
        _field("spec.providesApis", RELATION_PROVIDES_API, "API"),
        _field("spec.consumesApis", RELATION_CONSUMES_API, "API"),
        _DEPENDS_ON,
        _DEPENDENCY_OF,
        _SYSTEM,
    ),
    "api": (_OWNER, _SYSTEM),
    "resource": (_OWNER, _DEPENDS_ON, _DEPENDENCY_OF, _SYSTEM),
    "system": (_OWNER, _field("spec.domain", RELATION_PART_OF, "Domain")),
    "domain": (_OWNER, _field("spec.subdomainOf", RELATION_PART_OF, "Domain")),
    "user": (_field("spec.memberOf", RELATION_MEMBER_OF, "Group", ("Group",)),),
    "group": (
        _field("spec.parent", RELATION_CHILD_OF, "Group", ("Group",)),
        _field("spec.children", RELATION_PARENT_OF, "Group", ("Group",)),
        _field("spec.members", RELATION_HAS_MEMBER, "User", ("User",)),
    ),
    "template": (_OWNER,),
    "airesource": (
        _OWNER,
        _SYSTEM,
        _field("spec.dependsOn", RELATION_DEPENDS_ON, "AiResource", spec_type="skill"),
    ),
    "location": (),
    "environment": (),
}
