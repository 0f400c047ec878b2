"""Query parameters of the Backstage catalog API, turned into ORM filters, orderings and facets.

Filters (``filter`` query parameter, as Backstage reads it)::

    filter=kind=component,spec.type=service      one filter: every statement must hold (AND)
    filter=kind=api&filter=kind=component       repeated filters: any of them may hold (OR)
    filter=kind=component,kind=api              the same key twice in one filter: any value
    filter=metadata.annotations.backstage.io/techdocs-ref   a key alone: the field exists

Keys are dotted paths into the entity JSON; the key names of the indexed fields (``kind``,
``metadata.name``, ``metadata.namespace``, ``metadata.uid``, ``spec.type``, ``spec.lifecycle``,
``metadata.tags``, ``relations.<type>``) are matched without regard to case and answered from
the indexed columns, tag rows and relation rows. Any other key is looked up in the stored JSON
(on SQLite and PostgreSQL): a scalar matches when equal, an array of scalars when one element
is equal. Values are always compared without regard to case, against the raw JSON value (so
``spec.owner=team-a`` matches ``owner: Team-A``, not the resolved ``group:default/team-a``).
``metadata.annotations.<key>`` and ``metadata.labels.<key>`` take the rest of the key whole,
dots included.

Public API::

    QueryError                      a malformed parameter (the views answer 400 InputError)
    parse_filters(strings) -> list[list[Condition]]
    filter_entities(queryset, filters) -> queryset
    full_text_q(term, fields) -> Q | None
    parse_fields(strings) -> list[str] | None;  project(entity, fields) -> dict
    parse_order(strings) -> list[OrderField]            # GET /entities: ``asc:metadata.name``
    parse_order_fields(strings) -> list[OrderField]     # by-query: ``metadata.name,asc``
    order_expression(field) -> expression to annotate and sort on
    facet_values(queryset, facet) -> [{"value", "count"}]
    parse_int(name, raw, default, minimum, maximum) -> int | None
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass, field
from typing import Any

from django.db import NotSupportedError, connection
from django.db.models import BooleanField, Count, Exists, F, Func, OuterRef, Q, QuerySet, Value
from django.db.models.fields.json import KeyTextTransform, KeyTransform, compile_json_path
from django.db.models.functions import Coalesce, Lower

from catalog.models import Entity, EntityTag, Relation
from catalog.refs import REVERSE_RELATION

MAX_FILTERS = 50
MAX_STATEMENTS = 50
MAX_KEY_LENGTH = 300
MAX_VALUE_LENGTH = 1000
MAX_FIELDS = 100
MAX_FACETS = 20

# Keys are printable text without quotes, backslashes, brackets or spaces: enough for every
# entity field and annotation key, and safe to embed in a JSON path.
_KEY_RE = re.compile(r'^[^\s"\\\[\]\x00-\x1f\x7f]+$')
_RELATION_TYPES = {name.lower(): name for pair in REVERSE_RELATION.items() for name in pair}
# Keys whose remainder is one key of a map, dots and slashes included (backstage.io/techdocs-ref).
_MAP_PREFIXES = ("metadata.annotations.", "metadata.labels.")


class QueryError(ValueError):
    """A query parameter that cannot be used as given; the message says why."""


@dataclass
class Condition:
    """One key of one filter: it exists (``exists``), and/or equals one of ``values``."""

    key: str
    values: list[str] = field(default_factory=list)
    exists: bool = False


@dataclass(frozen=True)
class OrderField:
    field: str
    descending: bool = False

    @property
    def direction(self) -> str:
        return "desc" if self.descending else "asc"


# --------------------------------------------------------------------------- keys and paths


def check_key(key: str, what: str = "filter") -> str:
    if len(key) > MAX_KEY_LENGTH:
        raise QueryError(f"Invalid {what} key '{key[:40]}...': longer than {MAX_KEY_LENGTH} characters")
    if not _KEY_RE.match(key) or any(not part for part in json_path(key)):
        raise QueryError(
            f"Invalid {what} key '{key}': expected a dotted path such as spec.type or "
            "metadata.annotations.backstage.io/techdocs-ref (no spaces, quotes or brackets)"
        )
    return key


def json_path(key: str) -> list[str]:
    """The JSON keys a dotted key walks through."""
    lowered = key.lower()
    for prefix in _MAP_PREFIXES:
        if lowered.startswith(prefix):
            return [*prefix.strip(".").split("."), key[len(prefix):]]
    return key.split(".")


# --------------------------------------------------------------------------- JSON lookups


# The SQL below is assembled from compiled column SQL and constants only; every value that
# comes from a request (paths, compared values) is passed as a query parameter.


class JsonValueMatch(Func):
    """True when the JSON value at ``path`` in ``data`` (a scalar, or one element of an array of
    scalars) equals one of ``equals`` or contains ``contains``, both lower-case; with neither,
    true when the value exists and is not null or empty."""

    output_field = BooleanField()

    def __init__(self, path: list[str] | tuple[str, ...], *, equals: tuple[str, ...] = (), contains: str = ""):
        super().__init__(F("data"))
        self.path = tuple(path)
        self.equals = tuple(equals)
        self.contains = contains

    def as_sql(self, compiler, connection, **extra):
        raise NotSupportedError(f"Filtering on JSON fields needs SQLite or PostgreSQL, not {connection.vendor}.")

    def _match(self, value_sql: str, find: str) -> tuple[str, list[Any]]:
        if self.equals:
            placeholders = ", ".join(["%s"] * len(self.equals))
            return f"lower({value_sql}) IN ({placeholders})", list(self.equals)
        return f"{find}(lower({value_sql}), %s) > 0", [self.contains]

    def as_sqlite(self, compiler, connection, **extra):
        column, params = compiler.compile(self.source_expressions[0])
        path = compile_json_path(self.path)
        if not self.equals and not self.contains:
            sql = f"EXISTS (SELECT 1 FROM json_each({column}, %s) AS jv WHERE jv.type <> 'null')"  # noqa: S608
            return sql, [*params, path]
        value = "(CASE jv.type WHEN 'true' THEN 'true' WHEN 'false' THEN 'false' ELSE jv.value END)"
        match, match_params = self._match(value, "instr")
        # A scalar at the path comes back with a NULL key, array elements with integer keys;
        # members of an object (text keys) are not values of this path.
        sql = (
            f"EXISTS (SELECT 1 FROM json_each({column}, %s) AS jv WHERE typeof(jv.key) <> 'text' "  # noqa: S608
            f"AND jv.type NOT IN ('object', 'array', 'null') AND {match})"
        )
        return sql, [*params, path, *match_params]

    def as_postgresql(self, compiler, connection, **extra):
        column, params = compiler.compile(self.source_expressions[0])
        path = list(self.path)
        target = f"({column} #> %s::text[])"
        if not self.equals and not self.contains:
            sql = (
                f"(CASE COALESCE(jsonb_typeof({target}), 'null') WHEN 'null' THEN false "
                f"WHEN 'array' THEN jsonb_array_length({target}) > 0 "
                f"WHEN 'object' THEN {target} <> '{{}}'::jsonb ELSE true END)"
            )
            return sql, [*params, path] * 3
        match, match_params = self._match("(jv.v #>> '{}')", "strpos")
        sql = (
            f"EXISTS (SELECT 1 FROM jsonb_array_elements(CASE jsonb_typeof({target}) WHEN 'array' "  # noqa: S608
            f"THEN {target} ELSE jsonb_build_array({target}) END) AS jv(v) "
            f"WHERE jsonb_typeof(jv.v) IN ('string', 'number', 'boolean') AND {match})"
        )
        return sql, [*params, path] * 3 + match_params


def json_text(path: list[str]):
    """The text at a JSON path ("" when missing), lower-cased, for sorting."""
    expression: Any = "data"
    for key in path[:-1]:
        expression = KeyTransform(key, expression)
    return Lower(Coalesce(KeyTextTransform(path[-1], expression), Value("")))


# --------------------------------------------------------------------------- filters


def parse_filter_string(text: str) -> list[Condition] | None:
    statements = [s.strip() for s in text.split(",") if s.strip()]
    if not statements:
        return None
    if len(statements) > MAX_STATEMENTS:
        raise QueryError(f"Invalid filter: at most {MAX_STATEMENTS} statements per filter")
    by_key: dict[str, Condition] = {}
    for statement in statements:
        key, equals, value = statement.partition("=")
        key = key.strip()
        if not key:
            raise QueryError(
                f"Invalid filter, '{statement}' is not a valid statement (expected a string on the form a=b or a= or a)"
            )
        check_key(key)
        if len(value) > MAX_VALUE_LENGTH:
            raise QueryError(f"Invalid filter value for '{key}': longer than {MAX_VALUE_LENGTH} characters")
        condition = by_key.setdefault(key.lower(), Condition(key))
        if equals:
            condition.values.append(value.strip())
        else:
            condition.exists = True
    return list(by_key.values())


def parse_filters(strings: list[str]) -> list[list[Condition]]:
    """Each ``filter`` parameter, read as a list of conditions that must all hold."""
    if len(strings) > MAX_FILTERS:
        raise QueryError(f"Invalid filter: at most {MAX_FILTERS} filter parameters")
    return [conditions for text in strings if (conditions := parse_filter_string(text))]


def _column_in(column: str, values: list[str], *, case_insensitive: bool) -> Q:
    if not case_insensitive:
        return Q(**{f"{column}__in": [v.lower() for v in values]})
    q = Q()
    for value in values:
        q |= Q(**{f"{column}__iexact": value})
    return q


def condition_q(condition: Condition) -> Q:
    key = condition.key
    lowered = key.lower()
    values = condition.values
    q = Q()
    if lowered in ("kind", "metadata.name", "metadata.namespace"):
        column = {"kind": "kind", "metadata.name": "name", "metadata.namespace": "namespace"}[lowered]
        return _column_in(column, values, case_insensitive=False) if values else q
    if lowered == "metadata.uid":
        if not values:
            return q
        uids = [v for v in values if _is_uuid(v)]
        return Q(uid__in=uids) if uids else Q(pk__in=[])
    if lowered in ("spec.type", "spec.lifecycle"):
        column = "spec_type" if lowered == "spec.type" else "lifecycle"
        if condition.exists:
            q &= ~Q(**{column: ""})
        if values:
            q &= _column_in(column, values, case_insensitive=True)
        return q
    if lowered == "metadata.tags":
        tags = EntityTag.objects.filter(entity=OuterRef("pk"))
        if condition.exists:
            q &= Q(Exists(tags))
        if values:
            q &= Q(Exists(tags.filter(tag__in=[v.lower() for v in values])))
        return q
    if lowered.startswith("relations."):
        relation_type = key[len("relations."):]
        relations = Relation.objects.filter(source_ref=OuterRef("ref"))
        known = _RELATION_TYPES.get(relation_type.lower())
        relations = relations.filter(type=known) if known else relations.filter(type__iexact=relation_type)
        if condition.exists:
            q &= Q(Exists(relations))
        if values:
            q &= Q(Exists(relations.filter(target_ref__in=[v.lower() for v in values])))
        return q
    path = json_path(key)
    if condition.exists:
        q &= Q(JsonValueMatch(path))
    if values:
        q &= Q(JsonValueMatch(path, equals=tuple(dict.fromkeys(v.lower() for v in values))))
    return q


def filters_q(filters: list[list[Condition]]) -> Q | None:
    if not filters:
        return None
    any_of = Q()
    for conditions in filters:
        all_of = Q()
        for condition in conditions:
            all_of &= condition_q(condition)
        if not all_of:
            return None  # a filter that holds for every entity makes the whole OR hold
        any_of |= all_of
    return any_of


def filter_entities(queryset: QuerySet, filters: list[list[Condition]]) -> QuerySet:
    q = filters_q(filters)
    return queryset.filter(q) if q is not None else queryset


def _is_uuid(value: str) -> bool:
    try:
        uuid.UUID(value)
    except ValueError:
        return False
    return True


# --------------------------------------------------------------------------- full text


def full_text_q(term: str, fields: list[str] | None) -> Q | None:
    """Entities where any of ``fields`` contains ``term`` (case-insensitive).

    Without fields, the words of the entity the catalog indexes for search (kind, name, title,
    description, tags, type, owner, system, lifecycle) are searched.
    """
    term = term.strip().lower()
    if not term:
        return None
    if not fields:
        return Q(search_text__contains=term)
    q = Q()
    for name in fields:
        lowered = name.lower()
        column = {
            "kind": "kind", "metadata.name": "name", "metadata.namespace": "namespace", "spec.type": "spec_type",
            "spec.lifecycle": "lifecycle", "metadata.title": "title",
        }.get(lowered)
        if column:
            q |= Q(**{f"{column}__icontains": term})
        elif lowered == "metadata.tags":
            q |= Q(Exists(EntityTag.objects.filter(entity=OuterRef("pk"), tag__contains=term)))
        elif lowered.startswith("relations."):
            relation_type = _RELATION_TYPES.get(lowered[len("relations."):], name[len("relations."):])
            q |= Q(Exists(Relation.objects.filter(source_ref=OuterRef("ref"), type=relation_type,
                                                  target_ref__contains=term)))
        else:
            q |= Q(JsonValueMatch(json_path(name), contains=term))
    return q


# --------------------------------------------------------------------------- fields


def parse_fields(strings: list[str]) -> list[str] | None:
    fields = [f.strip() for text in strings for f in text.split(",") if f.strip()]
    if not fields:
        return None
    if len(fields) > MAX_FIELDS:
        raise QueryError(f"Invalid fields: at most {MAX_FIELDS} fields")
    if any("[" in f for f in fields):
        raise QueryError("Invalid fields, array type fields are not supported")
    for name in fields:
        check_key(name, "fields")
    return fields


def _find(entity: dict[str, Any], name: str) -> list[str] | None:
    """The keys leading to a dotted field, joining parts whose keys contain dots."""
    node: Any = entity
    path: list[str] = []
    pending = ""
    for part in name.split("."):
        candidate = f"{pending}.{part}" if pending else part
        if isinstance(node, dict) and candidate in node:
            path.append(candidate)
            node = node[candidate]
            pending = ""
        else:
            pending = candidate
    return None if pending else path


def project(entity: dict[str, Any], fields: list[str] | None) -> dict[str, Any]:
    """Only the named parts of an entity, nested as in the entity."""
    if not fields:
        return entity
    output: dict[str, Any] = {}
    for name in fields:
        path = _find(entity, name)
        if not path:
            continue
        source: Any = entity
        target = output
        for key in path[:-1]:
            source = source[key]
            target = target.setdefault(key, {})
        target[path[-1]] = source[path[-1]]
    return output


def wants_relations(fields: list[str] | None) -> bool:
    return fields is None or any(f.split(".")[0] == "relations" for f in fields)


# --------------------------------------------------------------------------- order


def parse_order(strings: list[str]) -> list[OrderField]:
    """``order=asc:metadata.name`` (GET /entities), repeatable."""
    result = []
    for text in strings:
        match = re.match(r"^(asc|desc):(.+)$", text.strip())
        if not match:
            raise QueryError(f'Invalid order parameter "{text}", expected "<asc or desc>:<field name>"')
        result.append(OrderField(check_key(match.group(2), "order"), match.group(1) == "desc"))
    return result[:10]


def parse_order_fields(strings: list[str]) -> list[OrderField]:
    """``orderField=metadata.name,asc`` (by-query), repeatable; the order defaults to asc."""
    result = []
    for text in strings:
        name, _, order = text.strip().partition(",")
        order = order.strip()
        if order and order not in ("asc", "desc"):
            raise QueryError("Invalid order field order, must be asc or desc")
        if not name.strip():
            raise QueryError(f'Invalid orderField "{text}", expected "<field name>[,asc|desc]"')
        result.append(OrderField(check_key(name.strip(), "orderField"), order == "desc"))
    return result[:10]


def order_expression(name: str):
    """What to sort on for a field: an indexed column where there is one, else the JSON text."""
    lowered = name.lower()
    column = {"metadata.name": "name", "kind": "kind", "metadata.namespace": "namespace", "metadata.uid": "uid"}
    if lowered in column:
        return F(column[lowered])
    lower_column = {"spec.type": "spec_type", "spec.lifecycle": "lifecycle", "metadata.title": "title"}
    if lowered in lower_column:
        return Lower(lower_column[lowered])
    return json_text(json_path(name))


# --------------------------------------------------------------------------- facets


def parse_facets(strings: list[str]) -> list[str]:
    facets = list(dict.fromkeys(s.strip() for s in strings if s.strip()))
    if not facets:
        raise QueryError("Missing facet parameter")
    if len(facets) > MAX_FACETS:
        raise QueryError(f"Invalid facet: at most {MAX_FACETS} facets")
    for name in facets:
        check_key(name, "facet")
    return facets


def facet_values(entities: QuerySet, facet: str, kind_names: dict[str, str]) -> list[dict[str, Any]]:
    """``[{"value", "count"}]`` of one facet over a filtered entity queryset, most common first.

    ``kind_names`` maps lower-case kinds to their spelling (``component`` -> ``Component``).
    """
    lowered = facet.lower()
    rows: list[tuple[Any, int]]
    column = {"kind": "kind", "metadata.namespace": "namespace", "spec.type": "spec_type",
              "spec.lifecycle": "lifecycle"}.get(lowered)
    if column:
        rows = list(entities.exclude(**{column: ""}).order_by().values_list(column).annotate(n=Count("pk")))
        if column == "kind":
            rows = [(kind_names.get(value, value), n) for value, n in rows]
    elif lowered == "metadata.tags":
        rows = list(
            EntityTag.objects.filter(entity__in=entities.values("pk")).order_by().values_list("tag")
            .annotate(n=Count("entity_id", distinct=True))
        )
    elif lowered.startswith("relations."):
        relation_type = _RELATION_TYPES.get(lowered[len("relations."):], facet[len("relations."):])
        rows = list(
            Relation.objects.filter(source_ref__in=entities.values("ref"), type=relation_type).order_by()
            .values_list("target_ref").annotate(n=Count("source_ref", distinct=True))
        )
    else:
        rows = _json_facet(entities, json_path(facet))
    values = [{"value": str(value), "count": int(n)} for value, n in rows if value is not None]
    values.sort(key=lambda item: (-item["count"], item["value"]))
    return values


def _json_facet(entities: QuerySet, path: list[str]) -> list[tuple[Any, int]]:
    subquery, params = entities.order_by().values("pk").query.sql_with_params()
    table = connection.ops.quote_name(Entity._meta.db_table)
    if connection.vendor == "sqlite":
        sql = (
            "SELECT CASE jv.type WHEN 'true' THEN 'true' WHEN 'false' THEN 'false' ELSE jv.value END AS v, "  # noqa: S608
            f"COUNT(DISTINCT e.id) FROM {table} AS e, json_each(e.data, %s) AS jv "
            f"WHERE e.id IN ({subquery}) AND typeof(jv.key) <> 'text' "
            "AND jv.type NOT IN ('object', 'array', 'null') GROUP BY v"
        )
        args = [compile_json_path(path), *params]
    elif connection.vendor == "postgresql":
        target = "(e.data #> %s::text[])"
        sql = (
            f"SELECT jv.v #>> '{{}}' AS v, COUNT(DISTINCT e.id) FROM {table} AS e CROSS JOIN LATERAL "  # noqa: S608
            f"jsonb_array_elements(CASE jsonb_typeof({target}) WHEN 'array' THEN {target} "
            f"ELSE jsonb_build_array({target}) END) AS jv(v) "
            f"WHERE e.id IN ({subquery}) AND jsonb_typeof(jv.v) IN ('string', 'number', 'boolean') "
            "GROUP BY 1"
        )
        args = [path, path, path, *params]
    else:
        raise NotSupportedError(f"Facets on JSON fields need SQLite or PostgreSQL, not {connection.vendor}.")
    with connection.cursor() as cursor:
        cursor.execute(sql, args)
        return list(cursor.fetchall())


# --------------------------------------------------------------------------- numbers


def parse_int(name: str, raw: str | None, *, default: int | None, minimum: int, maximum: int) -> int | None:
    if raw is None or raw.strip() == "":
        return default
    text = raw.strip()
    if not re.fullmatch(r"\d{1,9}", text) or not minimum <= int(text) <= maximum:
        raise QueryError(f"Invalid {name} '{raw[:40]}', must be a whole number from {minimum} to {maximum}")
    return int(text)
