"""Relations between entities, derived from the references in their specs.

Plain Python (no Django). Follows Backstage's built-in processor: each reference field
of an entity yields a relation from the entity to the target *and* the reverse relation
from the target back, both emitted while processing the referring entity. A group that
lists ``children: [team-a]`` and a group ``team-a`` with ``parent: backstage`` therefore
both produce ``team-a childOf backstage`` and ``backstage parentOf team-a``; the store
keeps the union and duplicates collapse.

References without a namespace inherit the referring entity's namespace; references
without a kind take the field's default kind (see ``catalog.refs.BUILTIN_REFERENCE_FIELDS``).

Public API
----------
``Relation(type, source_ref, target_ref)``
    Frozen, hashable; refs are ``EntityRef`` (compared without regard to case).

``derive_relations(entity, registry=None) -> list[Relation]``
    ``entity`` is a ``ParsedEntity`` or a raw envelope mapping. Without a registry the
    built-in reference fields are used; pass the ``KindRegistry`` to include fields of
    registered custom kinds. Raises ``InvalidEntityRef`` for a reference that cannot be
    parsed (``validate_entity`` reports those first, so validated entities never raise).

``relations_for_api(entity_ref, relations) -> list[dict]``
    The ``relations`` list of one entity as Backstage's API returns it:
    ``[{"type", "targetRef", "target": {"kind", "namespace", "name"}}]``, from all
    relation rows (only rows whose source is ``entity_ref`` are used), sorted, without
    duplicates.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from catalog.entity import KindRegistry, ParsedEntity, entity_ref_of
from catalog.refs import (
    BUILTIN_REFERENCE_FIELDS,
    RELATION_API_CONSUMED_BY,
    RELATION_API_PROVIDED_BY,
    RELATION_CHILD_OF,
    RELATION_CONSUMES_API,
    RELATION_DEPENDENCY_OF,
    RELATION_DEPENDS_ON,
    RELATION_HAS_MEMBER,
    RELATION_HAS_PART,
    RELATION_MEMBER_OF,
    RELATION_OWNED_BY,
    RELATION_OWNER_OF,
    RELATION_PARENT_OF,
    RELATION_PART_OF,
    RELATION_PROVIDES_API,
    REVERSE_RELATION,
    EntityRef,
    InvalidEntityRef,
    ReferenceField,
    parse_entity_ref,
)

__all__ = [
    "RELATION_API_CONSUMED_BY",
    "RELATION_API_PROVIDED_BY",
    "RELATION_CHILD_OF",
    "RELATION_CONSUMES_API",
    "RELATION_DEPENDENCY_OF",
    "RELATION_DEPENDS_ON",
    "RELATION_HAS_MEMBER",
    "RELATION_HAS_PART",
    "RELATION_MEMBER_OF",
    "RELATION_OWNED_BY",
    "RELATION_OWNER_OF",
    "RELATION_PARENT_OF",
    "RELATION_PART_OF",
    "RELATION_PROVIDES_API",
    "REVERSE_RELATION",
    "Relation",
    "derive_relations",
    "relations_for_api",
]


@dataclass(frozen=True)
class Relation:
    """A directed edge ``source_ref --type--> target_ref``."""

    type: str
    source_ref: EntityRef
    target_ref: EntityRef

    @property
    def key(self) -> tuple[str, str, str]:
        return (self.source_ref.canonical, self.type, self.target_ref.canonical)

    def as_dict(self) -> dict[str, str]:
        return {"type": self.type, "sourceRef": self.source_ref.canonical, "targetRef": self.target_ref.canonical}


def _entity_parts(entity: ParsedEntity | Mapping[str, Any]) -> tuple[EntityRef, Mapping[str, Any]]:
    data = getattr(entity, "data", entity)
    if not isinstance(data, Mapping):
        raise InvalidEntityRef(f"expected an entity, not {type(entity).__name__}")
    return entity_ref_of(entity), data


def _reference_fields(kind: str, spec_type: object, registry: KindRegistry | None) -> tuple[ReferenceField, ...]:
    if registry is not None:
        return registry.reference_fields_for(kind, spec_type)
    fields = BUILTIN_REFERENCE_FIELDS.get(kind.lower(), ())
    return tuple(f for f in fields if f.applies_to(spec_type))


def _values_at(data: Mapping[str, Any], dotted: str) -> list[tuple[str, Any]]:
    value: Any = data
    for part in dotted.split("."):
        if not isinstance(value, Mapping):
            return []
        value = value.get(part)
    if value is None:
        return []
    if isinstance(value, list):
        return [(f"{dotted}[{index}]", item) for index, item in enumerate(value)]
    return [(dotted, value)]


def derive_relations(entity: ParsedEntity | Mapping[str, Any], registry: KindRegistry | None = None) -> list[Relation]:
    """Relations emitted while processing ``entity``: each forward relation and its reverse."""
    source, data = _entity_parts(entity)
    spec = data.get("spec")
    spec_type = spec.get("type") if isinstance(spec, Mapping) else None

    relations: list[Relation] = []
    seen: set[tuple[str, str, str]] = set()

    def emit(relation: Relation) -> None:
        if relation.key not in seen:
            seen.add(relation.key)
            relations.append(relation)

    for ref_field in _reference_fields(source.kind, spec_type, registry):
        for path, value in _values_at(data, ref_field.path):
            try:
                target = parse_entity_ref(value, ref_field.default_kind, source.namespace)
            except InvalidEntityRef as exc:
                raise InvalidEntityRef(f"{source.canonical}: {path}: {exc}") from exc
            emit(Relation(ref_field.relation, source, target))
            emit(Relation(ref_field.reverse, target, source))
    return relations


def relations_for_api(entity_ref: EntityRef | str, relations: Iterable[Relation]) -> list[dict[str, Any]]:
    """The entity's outgoing relations in Backstage's API shape, sorted by type then target."""
    source = parse_entity_ref(entity_ref)
    rows: dict[tuple[str, str], dict[str, Any]] = {}
    for relation in relations:
        if relation.source_ref != source:
            continue
        target = relation.target_ref
        rows.setdefault(
            (relation.type, target.canonical),
            {"type": relation.type, "targetRef": target.canonical, "target": target.as_dict()},
        )
    return [rows[key] for key in sorted(rows)]
