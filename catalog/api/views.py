"""The catalog's REST API under /api/catalog/, with Backstage's routes, JSON shapes and status codes.

Entities: GET entities, entities/by-query, entities/by-name/<kind>/<namespace>/<name>,
entities/by-uid/<uid> (DELETE: staff), entity-facets; POST entities/by-refs.
Locations: GET/POST locations, GET/DELETE locations/<id>, GET locations/by-entity/<kind>/<ns>/<name>.
Actions: POST refresh, POST validate-entity.

Errors have Backstage's body: ``{"error": {"name", "message"}, "request": {"method", "url"},
"response": {"statusCode"}}`` (400 InputError, 401 AuthenticationError, 403 NotAllowedError,
404 NotFoundError, 409 ConflictError); validate-entity answers ``{"errors": [...]}`` as Backstage does.
Every change is recorded in the audit trail.
"""

from __future__ import annotations

import base64
import binascii
import json
import uuid
from collections import defaultdict
from collections.abc import Iterator
from typing import Any

from django.conf import settings
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import IntegrityError, transaction
from django.db.models import Q, QuerySet
from django.http import Http404, StreamingHttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import status
from rest_framework.authentication import BaseAuthentication
from rest_framework.exceptions import APIException, NotFound, ParseError, PermissionDenied
from rest_framework.permissions import BasePermission
from rest_framework.response import Response
from rest_framework.settings import api_settings
from rest_framework.views import APIView, set_rollback

from catalog import versioning
from catalog.ingest import (
    MANAGED_BY_LOCATION,
    MANAGED_BY_ORIGIN_LOCATION,
    LocationNotAllowed,
    check_target_allowed,
    kind_registry,
    orphan_location_entities,
    prepare,
    read_and_prepare,
    refresh_location,
)
from catalog.models import Entity, Location
from catalog.reading import LocationReadError, SourceDocument
from catalog.refs import InvalidEntityRef, parse_entity_ref
from portal import audit
from portal.permissions import IsStaff

from . import serializers as s
from .filters import (
    OrderField,
    QueryError,
    facet_values,
    filter_entities,
    full_text_q,
    order_expression,
    parse_facets,
    parse_fields,
    parse_filters,
    parse_int,
    parse_order,
    parse_order_fields,
)

MAX_LIMIT = 10_000
DEFAULT_QUERY_LIMIT = 200  # Backstage's default page size for by-query
MAX_OFFSET = 1_000_000_000
MAX_CURSOR_LENGTH = 20_000
MAX_TERM_LENGTH = 500
STREAM_BATCH = 500
REF_BATCH = 1000

ERROR_NAMES = {
    400: "InputError",
    401: "AuthenticationError",
    403: "NotAllowedError",
    404: "NotFoundError",
    409: "ConflictError",
}


class InputError(APIException):
    status_code = status.HTTP_400_BAD_REQUEST
    default_detail = "Invalid input."
    default_code = "invalid"


class Conflict(APIException):
    status_code = status.HTTP_409_CONFLICT
    default_detail = "Conflict."
    default_code = "conflict"


def _message(detail: Any) -> str:
    if isinstance(detail, dict):
        return "; ".join(
            _message(value) if key in ("non_field_errors", "detail") else f"{key}: {_message(value)}"
            for key, value in detail.items()
        )
    if isinstance(detail, list):
        return " ".join(_message(item) for item in detail)
    return str(detail)


def backstage_exception_handler(exc: Exception, context: dict) -> Response | None:
    """Errors in Backstage's shape; anything unexpected is left to Django (a 500, logged)."""
    if isinstance(exc, QueryError):
        exc = InputError(str(exc))
    elif isinstance(exc, Http404):
        exc = NotFound(str(exc) or "Not found.")
    elif isinstance(exc, DjangoPermissionDenied):
        exc = PermissionDenied(str(exc) or "You may not do this.")
    if not isinstance(exc, APIException):
        return None
    request = context["request"]
    headers = {}
    if getattr(exc, "auth_header", None):
        headers["WWW-Authenticate"] = exc.auth_header
    if getattr(exc, "wait", None):
        headers["Retry-After"] = str(int(exc.wait))
    set_rollback()
    body = {
        "error": {"name": ERROR_NAMES.get(exc.status_code, type(exc).__name__), "message": _message(exc.detail)},
        "request": {"method": request.method, "url": request.get_full_path()},
        "response": {"statusCode": exc.status_code},
    }
    return Response(body, status=exc.status_code, headers=headers)


def _challenging_first(classes: list[type[BaseAuthentication]]) -> list[type[BaseAuthentication]]:
    # The first authenticator decides between 401 and 403 for a request without credentials;
    # one that sends a challenge (token) gives API clients Backstage's 401.
    return sorted(classes, key=lambda c: c.authenticate_header is BaseAuthentication.authenticate_header)


class SignedInOrAnonymousQuery(BasePermission):
    """For POST endpoints that only read (by-refs, validate-entity): as reading."""

    message = "Authentication credentials were not provided."

    def has_permission(self, request, view):
        return bool(request.user and request.user.is_authenticated) or settings.CAUSEWAY_ANONYMOUS_READ


class CatalogAPIView(APIView):
    authentication_classes = _challenging_first(list(api_settings.DEFAULT_AUTHENTICATION_CLASSES))

    def get_exception_handler(self):
        return backstage_exception_handler


ERROR_RESPONSES = {
    400: OpenApiResponse(s.ErrorDoc, description="InputError"),
    401: OpenApiResponse(s.ErrorDoc, description="AuthenticationError"),
    403: OpenApiResponse(s.ErrorDoc, description="NotAllowedError"),
}
NOT_FOUND = {404: OpenApiResponse(s.ErrorDoc, description="NotFoundError")}

FILTER_PARAM = OpenApiParameter(
    "filter", OpenApiTypes.STR, many=True,
    description="`key=value,key2=value2` must all hold; repeated filter parameters are alternatives. "
                "A key alone means the field exists. Values are compared without regard to case.",
)
FIELDS_PARAM = OpenApiParameter(
    "fields", OpenApiTypes.STR, many=True,
    description="Only these dotted fields of each entity, e.g. `kind,metadata.name`.",
)


def _entity_rows(queryset: QuerySet) -> list[s.EntityRow]:
    return list(queryset.values_list(*s.ENTITY_COLUMNS))


def _ordered(queryset: QuerySet, order: list[OrderField]) -> QuerySet:
    if not order:
        return queryset.order_by("ref")
    aliases = {f"_o{i}": order_expression(o.field) for i, o in enumerate(order)}
    return queryset.alias(**aliases).order_by(
        *[("-" if o.descending else "") + f"_o{i}" for i, o in enumerate(order)], "ref"
    )


def _truthy(value: str | None) -> bool:
    return (value or "").strip().lower() in ("1", "true", "yes", "y", "on")


def _ref_or_404(kind: str, namespace: str, name: str) -> str:
    return f"{kind}:{namespace}/{name}".lower()


# --------------------------------------------------------------------------- entities


class EntitiesView(CatalogAPIView):
    @extend_schema(
        operation_id="catalog_entities_list",
        summary="List entities",
        description="A JSON array of entities. Without `limit`, every matching entity (streamed). "
                    "A `Link: <...>; rel=\"next\"` header points at the next page when there is one.",
        parameters=[
            FILTER_PARAM, FIELDS_PARAM,
            OpenApiParameter("order", OpenApiTypes.STR, many=True,
                             description="`asc:metadata.name` or `desc:<field>`."),
            OpenApiParameter("offset", OpenApiTypes.INT),
            OpenApiParameter("limit", OpenApiTypes.INT, description=f"0 to {MAX_LIMIT}."),
            OpenApiParameter("after", OpenApiTypes.STR, description="The cursor from a previous page's Link header."),
        ],
        responses={200: s.EntityDoc(many=True), **ERROR_RESPONSES},
    )
    def get(self, request):
        params = request.query_params
        filters = parse_filters(params.getlist("filter"))
        fields = parse_fields(params.getlist("fields"))
        order = parse_order(params.getlist("order"))
        offset = parse_int("offset", params.get("offset"), default=0, minimum=0, maximum=MAX_OFFSET)
        limit = parse_int("limit", params.get("limit"), default=None, minimum=0, maximum=MAX_LIMIT)
        if params.get("after"):
            limit, offset = _decode_after(params["after"])
        entities = _ordered(filter_entities(Entity.objects.all(), filters), order)
        if limit is None:
            return _stream_entities(entities[offset:], fields)
        rows = _entity_rows(entities[offset:offset + limit + 1]) if limit else []
        response = Response(s.entity_payloads(rows[:limit], fields))
        if len(rows) > limit:
            query = params.copy()
            query.pop("offset", None)
            query["after"] = _encode({"limit": limit, "offset": offset + limit})
            response["Link"] = f'<{request.path}?{query.urlencode()}>; rel="next"'
        return response


def _stream_entities(entities: QuerySet, fields: list[str] | None) -> StreamingHttpResponse:
    def chunks() -> Iterator[str]:
        yield "["
        first = True
        batch: list[s.EntityRow] = []
        rows = entities.values_list(*s.ENTITY_COLUMNS).iterator(chunk_size=STREAM_BATCH)
        while True:
            row = next(rows, None)
            if row is not None:
                batch.append(row)
            if batch and (row is None or len(batch) >= STREAM_BATCH):
                for payload in s.entity_payloads(batch, fields):
                    yield ("" if first else ",") + json.dumps(payload, separators=(",", ":"))
                    first = False
                batch = []
            if row is None:
                break
        yield "]"

    return StreamingHttpResponse(chunks(), content_type="application/json")


def _encode(state: dict[str, Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(state, separators=(",", ":")).encode()).decode().rstrip("=")


def _decode(text: str, what: str) -> Any:
    if len(text) > MAX_CURSOR_LENGTH:
        raise QueryError(f"Malformed {what}, could not be parsed")
    try:
        return json.loads(base64.urlsafe_b64decode(text + "=" * (-len(text) % 4)))
    except (ValueError, binascii.Error):
        raise QueryError(f"Malformed {what}, could not be parsed")


def _decode_after(text: str) -> tuple[int, int]:
    state = _decode(text, "after cursor")
    limit, offset = (state.get("limit"), state.get("offset")) if isinstance(state, dict) else (None, None)
    for name, value, maximum in (("limit", limit, MAX_LIMIT), ("offset", offset, MAX_OFFSET)):
        if type(value) is not int or not 0 <= value <= maximum:
            raise QueryError(f"Malformed after cursor, {name} was not a number from 0 to {maximum}")
    return limit, offset


def _decode_query_cursor(text: str) -> dict[str, Any]:
    state = _decode(text, "cursor")

    def strings(value: Any) -> bool:
        return isinstance(value, list) and all(isinstance(item, str) for item in value)

    valid = (
        isinstance(state, dict)
        and strings(state.get("filter"))
        and isinstance(state.get("order"), list)
        and all(isinstance(o, list) and len(o) == 2 and isinstance(o[0], str) and o[1] in ("asc", "desc")
                for o in state["order"])
        and isinstance(state.get("term"), str)
        and (state.get("textFields") is None or strings(state["textFields"]))
        and strings(state.get("values"))
        and len(state["values"]) == len(state["order"]) + 1
        and isinstance(state.get("previous"), bool)
    )
    if not valid:
        raise QueryError("Malformed cursor, could not be parsed")
    return state


def _keyset(keys: list[tuple[str, bool]], values: list[str], backwards: bool) -> Q:
    """Rows after (or, going back, before) the row with these sort values, in sort order."""
    after = Q()
    same = Q()
    for (alias, descending), value in zip(keys, values, strict=True):
        lookup = "lt" if descending != backwards else "gt"
        after |= same & Q(**{f"{alias}__{lookup}": value})
        same &= Q(**{alias: value})
    return after


class EntitiesByQueryView(CatalogAPIView):
    @extend_schema(
        operation_id="catalog_entities_query",
        summary="Query entities page by page",
        description="Cursor pagination: pass `pageInfo.nextCursor` (or `prevCursor`) back as `cursor`; "
                    "with a cursor only `limit` and `fields` may change. Without fullTextFilterFields the "
                    "term is searched in the entity's kind, name, title, description, tags, type, owner, "
                    "system and lifecycle.",
        parameters=[
            FILTER_PARAM, FIELDS_PARAM,
            OpenApiParameter("limit", OpenApiTypes.INT,
                             description=f"0 to {MAX_LIMIT}, default {DEFAULT_QUERY_LIMIT}."),
            OpenApiParameter("offset", OpenApiTypes.INT, description="Only on the first request."),
            OpenApiParameter("cursor", OpenApiTypes.STR),
            OpenApiParameter("orderField", OpenApiTypes.STR, many=True, description="`metadata.name,asc`."),
            OpenApiParameter("fullTextFilterTerm", OpenApiTypes.STR),
            OpenApiParameter("fullTextFilterFields", OpenApiTypes.STR, many=True),
        ],
        responses={200: s.QueryEntitiesDoc, **ERROR_RESPONSES},
    )
    def get(self, request):
        params = request.query_params
        fields = parse_fields(params.getlist("fields"))
        limit = parse_int("limit", params.get("limit"), default=DEFAULT_QUERY_LIMIT, minimum=0, maximum=MAX_LIMIT)
        offset = 0
        if params.get("cursor"):
            state = _decode_query_cursor(params["cursor"])
            order = [OrderField(name, direction == "desc") for name, direction in state["order"]]
            # Checked again: a cursor is client input like any other parameter.
            parse_order_fields([f"{o.field},{o.direction}" for o in order])
        else:
            order = parse_order_fields(params.getlist("orderField"))
            term = params.get("fullTextFilterTerm", "")
            if len(term) > MAX_TERM_LENGTH:
                raise QueryError(f"Invalid fullTextFilterTerm: longer than {MAX_TERM_LENGTH} characters")
            state = {
                "filter": params.getlist("filter"),
                "order": [[o.field, o.direction] for o in order],
                "term": term,
                "textFields": parse_fields(params.getlist("fullTextFilterFields")),
                "values": None,
                "previous": False,
            }
            offset = parse_int("offset", params.get("offset"), default=0, minimum=0, maximum=MAX_OFFSET)
        text_fields = parse_fields(state["textFields"]) if state["textFields"] else None
        entities = filter_entities(Entity.objects.all(), parse_filters(state["filter"]))
        text_q = full_text_q(state["term"][:MAX_TERM_LENGTH], text_fields)
        if text_q is not None:
            entities = entities.filter(text_q)
        total = entities.count()

        aliases = [f"_o{i}" for i in range(len(order))]
        keys = [(alias, o.descending) for alias, o in zip(aliases, order, strict=True)]
        keys.append(("ref", order[0].descending if order else False))
        entities = entities.annotate(**{alias: order_expression(o.field) for alias, o in zip(aliases, order,
                                                                                            strict=True)})
        backwards = state["previous"]
        entities = entities.order_by(*[("-" if desc != backwards else "") + alias for alias, desc in keys])
        try:
            if state["values"] is not None:
                entities = entities.filter(_keyset(keys, state["values"], backwards))
            rows = list(entities.values_list(*s.ENTITY_COLUMNS, *aliases)[offset:offset + limit + 1]) if limit else []
        except (DjangoValidationError, ValueError):
            # A sort value the field cannot hold (e.g. a uid that is not one): not a cursor we made.
            raise QueryError("Malformed cursor, could not be parsed")
        more = len(rows) > limit
        rows = rows[:limit]
        if backwards:
            rows.reverse()

        def cursor(row: tuple, previous: bool) -> str:
            values = [str(v) for v in row[3:]] + [row[0]]
            return _encode({**state, "values": values, "previous": previous})

        page_info: dict[str, str] = {}
        came_by_cursor = state["values"] is not None
        if rows:
            if (more and not backwards) or (backwards and came_by_cursor):
                page_info["nextCursor"] = cursor(rows[-1], False)
            if (more and backwards) or (came_by_cursor and not backwards):
                page_info["prevCursor"] = cursor(rows[0], True)
        items = s.entity_payloads([row[:3] for row in rows], fields)
        return Response({"items": items, "totalItems": total, "pageInfo": page_info})


def _entity_payload_or_404(queryset: QuerySet, message: str) -> dict[str, Any]:
    rows = _entity_rows(queryset[:1])
    if not rows:
        raise NotFound(message)
    return s.entity_payloads(rows)[0]


class EntityByNameView(CatalogAPIView):
    @extend_schema(operation_id="catalog_entity_by_name", summary="One entity by kind, namespace and name",
                   responses={200: s.EntityDoc, **ERROR_RESPONSES, **NOT_FOUND})
    def get(self, request, kind: str, namespace: str, name: str):
        return Response(_entity_payload_or_404(
            Entity.objects.filter(ref=_ref_or_404(kind, namespace, name)),
            f"No entity named '{name}' found, with kind '{kind}' in namespace '{namespace}'",
        ))


def _uid_filter(uid: str) -> Q:
    try:
        return Q(uid=uuid.UUID(uid))
    except ValueError:
        return Q(pk__in=[])


class EntityByUidView(CatalogAPIView):
    def get_permissions(self):
        if self.request.method == "DELETE":
            return [IsStaff()]
        return super().get_permissions()

    @extend_schema(operation_id="catalog_entity_by_uid", summary="One entity by uid",
                   responses={200: s.EntityDoc, **ERROR_RESPONSES, **NOT_FOUND})
    def get(self, request, uid: str):
        return Response(_entity_payload_or_404(Entity.objects.filter(_uid_filter(uid)), f"No entity with uid {uid}"))

    @extend_schema(
        operation_id="catalog_entity_delete",
        summary="Remove an entity (staff)",
        description="The entity comes back on its location's next refresh if the location still holds it.",
        responses={204: None, **ERROR_RESPONSES, **NOT_FOUND},
    )
    def delete(self, request, uid: str):
        entity = Entity.objects.filter(_uid_filter(uid)).first()
        if entity is None:
            raise NotFound(f"No entity with uid {uid}")
        with transaction.atomic():
            audit.record(request.user, "catalog.entity.delete", entity, request=request,
                         before={"ref": entity.ref, "uid": str(entity.uid), "orphan": entity.orphan,
                                 "location": str(entity.location_id or "")})
            entity.delete()
            versioning.bump()
            if entity.location_id:
                # Forget what the location last read so its next refresh stores the entity again
                # instead of skipping an unchanged source or an unmoved git ref.
                Location.objects.filter(pk=entity.location_id).update(content_hash="", revision="")
        return Response(status=status.HTTP_204_NO_CONTENT)


class EntitiesByRefsView(CatalogAPIView):
    permission_classes = [SignedInOrAnonymousQuery]

    @extend_schema(
        operation_id="catalog_entities_by_refs",
        summary="Several entities by ref",
        description="`items` has one entry per requested ref, in the same order: the entity, or null.",
        parameters=[FILTER_PARAM, FIELDS_PARAM],
        request=s.EntitiesByRefsSerializer,
        responses={200: s.EntitiesByRefsDoc, **ERROR_RESPONSES},
    )
    def post(self, request):
        body = s.EntitiesByRefsSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        refs: list[str] = body.validated_data["entityRefs"]
        fields = parse_fields(request.query_params.getlist("fields") + list(body.validated_data.get("fields", [])))
        filters = parse_filters(request.query_params.getlist("filter"))
        canonical = [_canonical_or_none(ref) for ref in refs]
        wanted = sorted({ref for ref in canonical if ref})
        found: dict[str, dict[str, Any]] = {}
        for start in range(0, len(wanted), REF_BATCH):
            batch = filter_entities(Entity.objects.filter(ref__in=wanted[start:start + REF_BATCH]), filters)
            rows = _entity_rows(batch)
            for (ref, _, _), payload in zip(rows, s.entity_payloads(rows, fields), strict=True):
                found[ref] = payload
        return Response({"items": [found.get(ref) if ref else None for ref in canonical]})


def _canonical_or_none(ref: str) -> str | None:
    try:
        return parse_entity_ref(ref).canonical
    except InvalidEntityRef:
        return None


class EntityFacetsView(CatalogAPIView):
    @extend_schema(
        operation_id="catalog_entity_facets",
        summary="Count entities by the values of fields",
        parameters=[
            OpenApiParameter("facet", OpenApiTypes.STR, many=True, required=True,
                             description="A dotted field, e.g. kind, spec.type, metadata.tags, relations.ownedBy."),
            FILTER_PARAM,
        ],
        responses={200: s.FacetsDoc, **ERROR_RESPONSES},
    )
    def get(self, request):
        facets = parse_facets(request.query_params.getlist("facet"))
        entities = filter_entities(Entity.objects.all(), parse_filters(request.query_params.getlist("filter")))
        kind_names = {kind.lower(): kind for kind in kind_registry().kinds()}
        return Response({"facets": {facet: facet_values(entities, facet, kind_names) for facet in facets}})


# --------------------------------------------------------------------------- locations


def _location_or_404(location_id: str) -> Location:
    try:
        location = Location.objects.filter(pk=uuid.UUID(location_id)).first()
    except ValueError:
        location = None
    if location is None:
        raise NotFound(f"Found no location with ID {location_id}")
    return location


def _preview_payloads(preview) -> list[dict[str, Any]]:
    relations: dict[str, list[dict[str, Any]]] = defaultdict(list)
    seen: set[tuple[str, str, str]] = set()
    for prepared in preview.entities:
        for source, relation_type, target in prepared.relations:
            if (source, relation_type, target) not in seen:
                seen.add((source, relation_type, target))
                relations[source].append({"type": relation_type, "targetRef": target, "target": s.split_ref(target)})
    return [
        s.entity_payload(prepared.parsed.data, [], sorted(relations[prepared.parsed.ref.canonical],
                                                          key=lambda r: (r["type"], r["targetRef"])))
        for prepared in preview.entities
    ]


class LocationsView(CatalogAPIView):
    @extend_schema(operation_id="catalog_locations_list", summary="List registered locations",
                   responses={200: s.LocationItemDoc(many=True), **ERROR_RESPONSES})
    def get(self, request):
        locations = Location.objects.order_by("created_at", "pk")
        return Response([{"data": s.location_payload(location)} for location in locations])

    @extend_schema(
        operation_id="catalog_locations_create",
        summary="Register a location (or, with dryRun, show what it would import)",
        description="The location is read before anything is stored: an unreachable or disallowed target "
                    "is a 400 and nothing is kept. A location already registered is a 409 "
                    "(with dryRun, `exists: true`).",
        parameters=[OpenApiParameter("dryRun", OpenApiTypes.BOOL)],
        request=s.LocationInputSerializer,
        responses={201: s.LocationCreatedDoc, 409: OpenApiResponse(s.ErrorDoc, description="ConflictError"),
                   **ERROR_RESPONSES},
    )
    def post(self, request):
        dry_run = _truthy(request.query_params.get("dryRun"))
        body = s.LocationInputSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        data = body.validated_data
        location = Location(type=data["type"], target=data["target"], git_ref=data["git_ref"],
                            git_path=data["git_path"])
        spelled = f"{location.type}:{location.target}"
        try:
            check_target_allowed(location.type, location.target)
        except LocationNotAllowed as exc:
            raise InputError(str(exc))
        exists = Location.objects.filter(type=location.type, target=location.target, git_ref=location.git_ref,
                                         git_path=location.git_path).exists()
        if exists and not dry_run:
            raise Conflict(f"Location {spelled} already exists")
        try:
            preview = read_and_prepare(location)
        except LocationReadError as exc:
            raise InputError(f"Could not read {spelled}: {exc}")
        if dry_run:
            return Response(
                {"location": {"id": spelled, "type": location.type, "target": location.target},
                 "entities": _preview_payloads(preview), "exists": exists, "errors": preview.errors},
                status=status.HTTP_201_CREATED,
            )

        location.created_by = request.user if request.user.is_authenticated else None
        try:
            with transaction.atomic():
                location.save()
        except IntegrityError:
            raise Conflict(f"Location {spelled} already exists")
        report = refresh_location(location)
        if report.status == "failed":
            # Read fine a moment ago, not now: keep nothing, as if it had failed up front.
            location.delete()
            raise InputError(f"Could not read {spelled}: {report.message}")
        audit.record(request.user, "catalog.location.register", location, request=request,
                     after={"type": location.type, "target": location.target, "git_ref": location.git_ref,
                            "git_path": location.git_path}, message=report.summary())
        rows = _entity_rows(location.entities.order_by("ref"))
        return Response(
            {"location": s.location_payload(location), "entities": s.entity_payloads(rows), "errors": report.errors},
            status=status.HTTP_201_CREATED,
        )


class LocationDetailView(CatalogAPIView):
    @extend_schema(operation_id="catalog_location_get", summary="One location",
                   responses={200: s.LocationDoc, **ERROR_RESPONSES, **NOT_FOUND})
    def get(self, request, location_id: str):
        return Response(s.location_payload(_location_or_404(location_id)))

    @extend_schema(
        operation_id="catalog_location_delete",
        summary="Remove a location (its creator or staff)",
        description="Its entities are kept and marked as orphans (annotation backstage.io/orphan), as Backstage "
                    "does by default; staff can then remove them.",
        responses={204: None, **ERROR_RESPONSES, **NOT_FOUND},
    )
    def delete(self, request, location_id: str):
        location = _location_or_404(location_id)
        user = request.user
        if not (user.is_staff or (location.created_by_id is not None and location.created_by_id == user.pk)):
            raise PermissionDenied("Only the person who registered this location, or staff, may remove it.")
        with transaction.atomic():
            orphaned = orphan_location_entities(location)
            audit.record(user, "catalog.location.delete", location, request=request,
                         before={"type": location.type, "target": location.target, "git_ref": location.git_ref,
                                 "git_path": location.git_path},
                         message=f"{orphaned} entities orphaned")
            location.delete()
        return Response(status=status.HTTP_204_NO_CONTENT)


class LocationByEntityView(CatalogAPIView):
    @extend_schema(operation_id="catalog_location_by_entity", summary="The location an entity comes from",
                   responses={200: s.LocationDoc, **ERROR_RESPONSES, **NOT_FOUND})
    def get(self, request, kind: str, namespace: str, name: str):
        ref = _ref_or_404(kind, namespace, name)
        entity = Entity.objects.select_related("location").filter(ref=ref).first()
        if entity is None:
            raise NotFound(f"found no entity for ref {ref}")
        if entity.location is None:
            raise NotFound(f"{ref} is an orphan: no registered location provides it")
        return Response(s.location_payload(entity.location))


# --------------------------------------------------------------------------- actions


class RefreshView(CatalogAPIView):
    @extend_schema(
        operation_id="catalog_refresh",
        summary="Refresh the location an entity comes from",
        request=s.RefreshSerializer,
        responses={200: s.RefreshDoc, **ERROR_RESPONSES, **NOT_FOUND},
    )
    def post(self, request):
        body = s.RefreshSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        try:
            ref = parse_entity_ref(body.validated_data["entityRef"]).canonical
        except InvalidEntityRef as exc:
            raise InputError(str(exc))
        entity = Entity.objects.select_related("location").filter(ref=ref).first()
        if entity is None:
            raise NotFound(f"No entity {ref} in the catalog")
        if entity.location is None:
            return Response({"status": "skipped",
                             "message": f"{ref} is an orphan: no registered location provides it any more."})
        report = refresh_location(entity.location, force=True)
        audit.record(request.user, "catalog.location.refresh", entity.location, request=request,
                     after={"entityRef": ref}, message=report.summary())
        return Response({"status": report.status, "message": report.summary()})


def _validation_errors(*messages: str) -> Response:
    return Response({"errors": [{"name": "InputError", "message": m} for m in messages]},
                    status=status.HTTP_400_BAD_REQUEST)


class ValidateEntityView(CatalogAPIView):
    permission_classes = [SignedInOrAnonymousQuery]

    @extend_schema(
        operation_id="catalog_validate_entity",
        summary="Check an entity without storing it",
        request=s.ValidateEntitySerializer,
        responses={200: OpenApiResponse(OpenApiTypes.OBJECT, description="Valid: {}"),
                   400: OpenApiResponse(s.ValidationErrorsDoc, description="{errors: [{name, message}]}")},
    )
    def post(self, request):
        try:
            body = request.data
        except ParseError as exc:
            return _validation_errors(f"Malformed request body: {exc.detail}")
        if not isinstance(body, dict) or "entity" not in body or not isinstance(body.get("location"), str):
            return _validation_errors('Malformed request body: expected {"entity": {...}, "location": "url:..."}')
        location_ref = body["location"]
        location_type, colon, target = location_ref.partition(":")
        if not colon or not target or location_type not in Location.Type.values:
            return _validation_errors(
                f"Invalid location ref {location_ref[:200]!r}, expected '<type>:<target>' with type url, file or git, "
                "e.g. url:https://host/path"
            )
        entity = body["entity"]
        metadata = entity.get("metadata") if isinstance(entity, dict) else None
        if isinstance(metadata, dict) and isinstance(metadata.get("annotations", {}), dict):
            annotations = {MANAGED_BY_LOCATION: location_ref, MANAGED_BY_ORIGIN_LOCATION: location_ref,
                           **metadata.get("annotations", {})}
            entity = {**entity, "metadata": {**metadata, "annotations": annotations}}
        preview = prepare([SourceDocument(data=entity, location=location_ref, index=0)])
        if preview.errors:
            return _validation_errors(*[error["message"] for error in preview.errors])
        return Response({})
