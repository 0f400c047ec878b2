"""JSON shapes of the catalog API: entities and locations as Backstage returns them, and request bodies.

Entities are built straight from the stored JSON (no serializer per field) because list
endpoints return hundreds of them: ``entity_payloads(rows, fields)`` takes ``(ref, data,
errors)`` rows, adds each entity's ``relations`` (one query for the whole page) and ``status``
(when it has processing errors), then applies the ``fields`` projection.

The Serializer classes validate request bodies; the ``*Doc`` ones only describe responses for
the OpenAPI schema.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from typing import Any

from rest_framework import serializers

from catalog.models import Location, Relation
from catalog.reading import guess_location_type

from .filters import project, wants_relations

EntityRow = tuple[str, dict[str, Any], list[dict[str, Any]]]
ENTITY_COLUMNS = ("ref", "data", "errors")
ENVELOPE_KEYS = ("apiVersion", "kind", "metadata", "spec")


def split_ref(ref: str) -> dict[str, str]:
    kind, _, rest = ref.partition(":")
    namespace, _, name = rest.partition("/")
    return {"kind": kind, "namespace": namespace, "name": name}


def relations_for(refs: Iterable[str]) -> dict[str, list[dict[str, Any]]]:
    """Each entity's outgoing relations, in Backstage's shape, from one query."""
    grouped: dict[str, set[tuple[str, str]]] = defaultdict(set)
    refs = list(refs)
    if refs:
        rows = Relation.objects.filter(source_ref__in=refs).values_list("source_ref", "type", "target_ref")
        for source, relation_type, target in rows:
            # Both ends may emit the same relation (a user's memberOf and a group's members).
            grouped[source].add((relation_type, target))
    return {
        source: [
            {"type": relation_type, "targetRef": target, "target": split_ref(target)}
            for relation_type, target in sorted(pairs)
        ]
        for source, pairs in grouped.items()
    }


def entity_payload(data: dict[str, Any], errors: list[dict[str, Any]], relations: list[dict[str, Any]]) -> dict:
    # Envelope keys first, as written (PostgreSQL's jsonb does not keep key order).
    payload = {key: data[key] for key in ENVELOPE_KEYS if key in data}
    payload.update(data)
    payload["relations"] = relations
    if errors:
        payload["status"] = {"items": errors}
    return payload


def entity_payloads(rows: list[EntityRow], fields: list[str] | None = None) -> list[dict[str, Any]]:
    relations = relations_for(ref for ref, _, _ in rows) if wants_relations(fields) else {}
    return [project(entity_payload(data, errors, relations.get(ref, [])), fields) for ref, data, errors in rows]


def location_payload(location: Location) -> dict[str, Any]:
    payload: dict[str, Any] = {"id": str(location.pk), "type": location.type, "target": location.target}
    if location.type == Location.Type.GIT:
        payload["git_ref"] = location.git_ref
        payload["git_path"] = location.git_path
    return payload


# --------------------------------------------------------------------------- request bodies


class LocationInputSerializer(serializers.Serializer):
    type = serializers.CharField(required=False, allow_blank=True, max_length=16,
                                 help_text='"url", "file" or "git"; "url" with a git repository target means git; '
                                           "left out, it is guessed from the target.")
    target = serializers.CharField(max_length=2000)
    git_ref = serializers.CharField(required=False, allow_blank=True, max_length=255, default="",
                                    help_text="Branch, tag or commit (git only).")
    git_path = serializers.CharField(required=False, allow_blank=True, max_length=1000, default="",
                                     help_text="Path inside the repository (git only).")

    def validate(self, attrs):
        target = attrs["target"]
        location_type = (attrs.get("type") or "").strip().lower()
        if not location_type:
            location_type = guess_location_type(target)
        elif location_type not in Location.Type.values:
            raise serializers.ValidationError(
                {"type": f"Unknown location type '{attrs['type']}'; use url, file or git."}
            )
        elif location_type == Location.Type.URL and guess_location_type(target) == Location.Type.GIT:
            location_type = Location.Type.GIT
        if location_type != Location.Type.GIT and (attrs.get("git_ref") or attrs.get("git_path")):
            raise serializers.ValidationError({"git_ref": "A branch or path only applies to git locations."})
        attrs["type"] = location_type
        return attrs


class EntitiesByRefsSerializer(serializers.Serializer):
    entityRefs = serializers.ListField(child=serializers.CharField(allow_blank=True, trim_whitespace=False),
                                       max_length=10_000)
    fields = serializers.ListField(child=serializers.CharField(), required=False, max_length=100)


class RefreshSerializer(serializers.Serializer):
    entityRef = serializers.CharField(max_length=1024)


class ValidateEntitySerializer(serializers.Serializer):
    entity = serializers.JSONField()
    location = serializers.CharField(max_length=2100, help_text='Where the entity comes from, e.g. "url:https://…".')


# --------------------------------------------------------------------------- response documentation


class RelationTargetDoc(serializers.Serializer):
    kind = serializers.CharField()
    namespace = serializers.CharField()
    name = serializers.CharField()


class RelationDoc(serializers.Serializer):
    type = serializers.CharField()
    targetRef = serializers.CharField()
    target = RelationTargetDoc()


class EntityDoc(serializers.Serializer):
    apiVersion = serializers.CharField()
    kind = serializers.CharField()
    metadata = serializers.DictField()
    spec = serializers.DictField(required=False)
    relations = RelationDoc(many=True)
    status = serializers.DictField(required=False, help_text="Processing errors: {items: [...]}.")


class PageInfoDoc(serializers.Serializer):
    nextCursor = serializers.CharField(required=False)
    prevCursor = serializers.CharField(required=False)


class QueryEntitiesDoc(serializers.Serializer):
    items = EntityDoc(many=True)
    totalItems = serializers.IntegerField()
    pageInfo = PageInfoDoc()


class EntitiesByRefsDoc(serializers.Serializer):
    items = EntityDoc(many=True, allow_null=True)


class FacetValueDoc(serializers.Serializer):
    value = serializers.CharField()
    count = serializers.IntegerField()


class FacetsDoc(serializers.Serializer):
    facets = serializers.DictField(child=FacetValueDoc(many=True))


class LocationDoc(serializers.Serializer):
    id = serializers.CharField()
    type = serializers.CharField()
    target = serializers.CharField()
    git_ref = serializers.CharField(required=False)
    git_path = serializers.CharField(required=False)


class LocationItemDoc(serializers.Serializer):
    data = LocationDoc()


class LocationCreatedDoc(serializers.Serializer):
    location = LocationDoc()
    entities = EntityDoc(many=True)
    exists = serializers.BooleanField(required=False, help_text="Dry run only: the location is already registered.")
    errors = serializers.ListField(child=serializers.DictField(), required=False,
                                   help_text="Problems found in the location's documents.")


class RefreshDoc(serializers.Serializer):
    status = serializers.CharField()
    message = serializers.CharField()


class ValidationErrorsDoc(serializers.Serializer):
    errors = serializers.ListField(child=serializers.DictField())


class ErrorBodyDoc(serializers.Serializer):
    name = serializers.CharField()
    message = serializers.CharField()


class ErrorRequestDoc(serializers.Serializer):
    method = serializers.CharField()
    url = serializers.CharField()


class ErrorResponseDoc(serializers.Serializer):
    statusCode = serializers.IntegerField()


class ErrorDoc(serializers.Serializer):
    error = ErrorBodyDoc()
    request = ErrorRequestDoc()
    response = ErrorResponseDoc()
