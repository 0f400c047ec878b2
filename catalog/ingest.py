"""Ingestion: read a location, validate its documents, derive relations, store them.

One location's entities are replaced in one transaction. A location that cannot be read
changes nothing but its error; a broken document keeps the entity it used to describe (with
the error attached); an entity another location already provides stays with that location
(a conflict, reported); an entity that disappears from its location becomes an orphan.
"""

from __future__ import annotations

import functools
import hashlib
import json
import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.db import connection, transaction
from django.dispatch import Signal
from django.utils import timezone
from django.utils.module_loading import import_string

from . import versioning
from .entity import (
    KindRegistry,
    ParsedEntity,
    canonical_json,
    compute_etag,
    default_registry,
    validate_entity,
)
from .models import Entity, EntityTag, Location, Relation
from .reading import LocationReadError, ReadOptions, SourceDocument, parse_allow_hosts, read_location
from .refs import InvalidEntityRef, parse_entity_ref
from .relations import derive_relations

MANAGED_BY_LOCATION = "backstage.io/managed-by-location"
MANAGED_BY_ORIGIN_LOCATION = "backstage.io/managed-by-origin-location"
ORPHAN_ANNOTATION = "backstage.io/orphan"
BATCH = 1000
ANALYZE_AFTER = 1000  # rows inserted in one refresh

# Sent after a location's entities were stored, with the refs that were added, changed or orphaned,
# so other apps (docs builds, scorecards) can follow up on just those.
entities_changed = Signal()


class LocationNotAllowed(ValueError):
    """A location target the portal's settings do not allow."""


@functools.cache
def kind_registry() -> KindRegistry:
    registry = default_registry()
    raw = settings.CATALOG_CUSTOM_KINDS
    if raw:
        try:
            declared = json.loads(raw)
            for item in declared:
                schema = json.loads(Path(item["schema"]).read_text()) if item.get("schema") else None
                registry.register(item["kind"], item["apiVersions"], schema)
        except (ValueError, KeyError, TypeError, OSError) as exc:
            raise ImproperlyConfigured(f"CATALOG_CUSTOM_KINDS is not usable: {exc}") from exc
    return registry


def read_options(location: Location, *, known_revision: str | None = None) -> ReadOptions:
    try:
        allow_hosts = parse_allow_hosts(settings.CAUSEWAY_READ_ALLOW)
    except ValueError as exc:
        raise ImproperlyConfigured(str(exc)) from exc
    fetcher_path = getattr(settings, "CATALOG_URL_FETCHER", "")
    return ReadOptions(
        url_fetcher=import_string(fetcher_path)() if fetcher_path else None,
        max_bytes=settings.CATALOG_MAX_FILE_BYTES,
        allow_hosts=allow_hosts,
        git_cache_dir=settings.CATALOG_GIT_CACHE_DIR,
        git_ref=location.git_ref or None,
        git_path=location.git_path or "",
        timeout=float(settings.CATALOG_READ_TIMEOUT),
        max_files=settings.CATALOG_MAX_FILES,
        known_revision=known_revision,
    )


def check_target_allowed(location_type: str, target: str) -> None:
    """Refuse local paths (files, or git repositories on this server) outside the configured roots."""
    if location_type == Location.Type.GIT:
        if target.startswith("file://"):
            target = target.removeprefix("file://")
        elif not target.startswith("/"):
            return  # a remote repository: held to CAUSEWAY_READ_ALLOW by the reader
    elif location_type != Location.Type.FILE:
        return
    path = Path(target)
    if not path.is_absolute():
        raise LocationNotAllowed(f"A file location must be an absolute path, got {target!r}.")
    resolved = path.resolve()
    roots = [Path(root).resolve() for root in settings.CAUSEWAY_FILE_ROOTS]
    if not any(resolved == root or root in resolved.parents for root in roots):
        allowed = ", ".join(str(root) for root in roots) or "none"
        raise LocationNotAllowed(
            f"{target} is outside the folders file locations may read (CAUSEWAY_FILE_ROOTS: {allowed})."
        )


@dataclass
class PreparedEntity:
    parsed: ParsedEntity
    source: SourceDocument
    relations: list[tuple[str, str, str]]
    errors: list[dict[str, Any]]
    source_hash: str = ""


def source_hash(doc: SourceDocument) -> str:
    """Identifies a document's content and origin, so an unchanged one need not be validated again."""
    return hashlib.sha1(f"{doc.location}\n{canonical_json(doc.data)}".encode(), usedforsecurity=False).hexdigest()


@dataclass
class Preview:
    """What a read would import: valid entities and every problem, nothing stored."""

    entities: list[PreparedEntity] = field(default_factory=list)
    errors: list[dict[str, Any]] = field(default_factory=list)
    invalid_refs: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    # Refs whose documents are byte-for-byte what is stored already (validation skipped).
    unchanged_refs: set[str] = field(default_factory=set)
    content_hash: str = ""
    revision: str = ""


@dataclass
class IngestReport:
    status: str  # "updated", "unchanged", "failed"
    added: int = 0
    updated: int = 0
    unchanged: int = 0
    orphaned: int = 0
    conflicts: int = 0
    errors: list[dict[str, Any]] = field(default_factory=list)
    message: str = ""

    def summary(self) -> str:
        if self.status == "failed":
            return f"Refresh failed: {self.message}"
        if self.status == "unchanged":
            return "Nothing changed since the last refresh."
        parts = [f"{self.added} added", f"{self.updated} updated", f"{self.unchanged} unchanged"]
        if self.orphaned:
            parts.append(f"{self.orphaned} orphaned")
        if self.errors:
            parts.append(f"{len(self.errors)} error{'s' if len(self.errors) != 1 else ''}")
        return ", ".join(parts) + "."


def _error(target: str, message: str, *, line: int | None = None, ref: str = "") -> dict[str, Any]:
    return {"target": target, "message": message, "line": line, "ref": ref}


def _raw_ref(data: Any) -> str:
    """Best-effort ref of a document that failed validation, to keep its error on the old entity."""
    if not isinstance(data, dict):
        return ""
    metadata = data.get("metadata")
    if not isinstance(data.get("kind"), str) or not isinstance(metadata, dict):
        return ""
    try:
        return parse_entity_ref(
            {"kind": data["kind"], "namespace": metadata.get("namespace") or "default", "name": metadata.get("name")}
        ).canonical
    except (InvalidEntityRef, TypeError):
        return ""


def prepare(
    documents: Iterable[SourceDocument],
    registry: KindRegistry | None = None,
    *,
    known_sources: dict[str, str] | None = None,
) -> Preview:
    """Validate documents and derive their relations (no database).

    `known_sources` maps source hashes of stored, error-free entities to their refs: those
    documents are not validated again and come back in `unchanged_refs`.
    """
    registry = registry or kind_registry()
    preview = Preview()
    seen: dict[str, SourceDocument] = {}
    for doc in documents:
        digest = source_hash(doc) if known_sources is not None else ""
        if digest and digest in known_sources:
            ref = known_sources[digest]
            if ref not in seen:
                seen[ref] = doc
                preview.unchanged_refs.add(ref)
                continue
        result = validate_entity(doc.data, registry)
        if not result.ok:
            ref = _raw_ref(doc.data)
            for problem in result.problems:
                error = _error(doc.location, str(problem), line=doc.line, ref=ref)
                preview.errors.append(error)
                if ref:
                    preview.invalid_refs.setdefault(ref, []).append(error)
            continue
        parsed = result.entity
        ref = parsed.ref.canonical
        if ref in seen:
            preview.errors.append(
                _error(doc.location, f"{ref} is defined twice; keeping the one in {seen[ref].location}",
                       line=doc.line, ref=ref)
            )
            continue
        seen[ref] = doc
        entity_errors: list[dict[str, Any]] = []
        try:
            relations = [
                (r.source_ref.canonical, r.type, r.target_ref.canonical) for r in derive_relations(parsed, registry)
            ]
        except InvalidEntityRef as exc:
            relations = []
            message = str(exc)
            entity_errors.append(_error(doc.location, message, line=doc.line, ref=ref))
            preview.errors.append(_error(doc.location, message, line=doc.line, ref=ref))
        preview.entities.append(PreparedEntity(parsed, doc, relations, entity_errors, digest))
    return preview


def read_and_prepare(
    location: Location, *, known_revision: str | None = None, known_sources: dict[str, str] | None = None
) -> Preview | None:
    """Read a location and validate what it holds. Raises LocationReadError when unreachable.

    With `known_revision`, a git location whose ref still points at that commit is not read
    at all and None is returned.
    """
    options = read_options(location, known_revision=known_revision)
    result = read_location(location.target, type=location.type, options=options)
    if result.unchanged:
        return None
    preview = prepare(result.documents, known_sources=known_sources)
    preview.errors[:0] = [_error(e.target, e.message, line=e.line) for e in result.errors]
    preview.content_hash = result.content_hash
    preview.revision = result.revision or ""
    return preview


def _status_items(errors: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Errors in the shape Backstage returns under `status.items`."""
    return [
        {
            "type": "backstage.io/catalog-processing",
            "level": "error",
            "message": error["message"],
            "error": {"name": "InputError", "message": error["message"]},
        }
        for error in errors
    ]


POLICY_ERROR_TYPE = "causeway.dev/policy"


def _processing_errors(items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """An entity's own processing errors, without the policy errors other apps add after ingestion
    (those do not mean the source changed)."""
    return [item for item in items if item.get("type") != POLICY_ERROR_TYPE]


def _search_text(data: dict[str, Any]) -> str:
    metadata, spec = data.get("metadata", {}), data.get("spec") or {}
    parts = [
        data.get("kind", ""),
        metadata.get("name", ""),
        metadata.get("title", ""),
        metadata.get("description", ""),
        " ".join(metadata.get("tags") or []),
        str(spec.get("type", "")),
        str(spec.get("owner", "")),
        str(spec.get("system", "")),
        str(spec.get("lifecycle", "")),
    ]
    profile = spec.get("profile") if isinstance(spec.get("profile"), dict) else {}
    parts += [str(profile.get("displayName", "")), str(profile.get("email", ""))]
    return " ".join(p for p in parts if p).lower()


def _ref_or_blank(value: Any, default_kind: str, namespace: str) -> str:
    if not value:
        return ""
    try:
        return parse_entity_ref(value, default_kind, namespace).canonical
    except InvalidEntityRef:
        return ""


def _columns(prepared: PreparedEntity, location: Location, uid: str) -> dict:
    """The stored row for one prepared entity: full data plus the columns pages filter on."""
    parsed = prepared.parsed
    # validate_entity built this data fresh for us; only metadata and annotations are changed below,
    # so copying those two levels is enough.
    data = dict(parsed.data)
    metadata = data["metadata"] = dict(data.get("metadata") or {})
    annotations = metadata["annotations"] = dict(metadata.get("annotations") or {})
    annotations[MANAGED_BY_LOCATION] = prepared.source.location
    annotations[MANAGED_BY_ORIGIN_LOCATION] = f"{location.type}:{location.target}"
    metadata["uid"] = uid
    metadata.pop("etag", None)
    errors = prepared.errors
    etag = compute_etag(data)[:40]
    metadata["etag"] = etag
    spec = data.get("spec") or {}
    tags = [t for t in metadata.get("tags") or [] if isinstance(t, str)]
    return {
        "ref": parsed.ref.canonical,
        "kind": parsed.kind.lower(),
        "namespace": parsed.namespace.lower(),
        "name": parsed.name.lower(),
        "title": str(metadata.get("title") or "")[:255],
        "description": str(metadata.get("description") or ""),
        "spec_type": str(spec.get("type") or "")[:100] if isinstance(spec.get("type"), str) else "",
        "lifecycle": str(spec.get("lifecycle") or "")[:100] if isinstance(spec.get("lifecycle"), str) else "",
        "owner_ref": _ref_or_blank(spec.get("owner"), "group", parsed.namespace),
        "system_ref": _ref_or_blank(spec.get("system"), "system", parsed.namespace),
        "tags": tags,
        "data": data,
        "etag": etag,
        "source_location": prepared.source.location,
        "errors": _status_items(errors),
        "has_errors": bool(errors),
        "search_text": _search_text(data),
        "source_hash": prepared.source_hash or source_hash(prepared.source),
    }


ENTITY_COLUMNS = [
    "uid", "ref", "kind", "namespace", "name", "title", "description", "spec_type", "lifecycle", "owner_ref",
    "system_ref", "tags", "data", "etag", "location_id", "source_location", "orphan", "errors", "has_errors",
    "search_text", "source_hash", "created_at", "updated_at",
]


def _copy(model, columns: list[str], rows: Iterable[tuple]) -> None:
    """PostgreSQL's COPY: an order of magnitude faster than INSERTs for a cold import."""
    table = connection.ops.quote_name(model._meta.db_table)
    names = ", ".join(connection.ops.quote_name(c) for c in columns)
    with connection.cursor() as cursor:
        with cursor.cursor.copy(f"COPY {table} ({names}) FROM STDIN") as copy:  # noqa: S608 - our own names
            for row in rows:
                copy.write_row(row)


def _insert_rows(model, columns: list[str], rows: list[tuple]) -> None:
    if not rows:
        return
    if connection.vendor == "postgresql":
        _copy(model, columns, rows)
        return
    model.objects.bulk_create([model(**dict(zip(columns, row, strict=True))) for row in rows], batch_size=5000)


def _insert_entities(entities: list[Entity]) -> list[Entity]:
    """Insert new entities and return them with their primary keys."""
    if not entities:
        return []
    if connection.vendor != "postgresql":
        return Entity.objects.bulk_create(entities, batch_size=BATCH)
    dumps = json.dumps
    rows = (
        tuple(
            dumps(value) if name in ("tags", "data", "errors") else value
            for name, value in ((c, getattr(e, c)) for c in ENTITY_COLUMNS)
        )
        for e in entities
    )
    _copy(Entity, ENTITY_COLUMNS, rows)
    ids = dict(Entity.objects.filter(ref__in=[e.ref for e in entities]).values_list("ref", "pk"))
    for entity in entities:
        entity.pk = ids[entity.ref]
    return entities


def orphan_location_entities(location: Location) -> int:
    """Mark a location's entities as orphans (before it is removed): flagged and kept, never dropped."""
    now = timezone.now()
    entities = list(location.entities.filter(orphan=False).only("id", "data"))
    for entity in entities:
        entity.orphan = True
        entity.data.setdefault("metadata", {}).setdefault("annotations", {})[ORPHAN_ANNOTATION] = "true"
        entity.updated_at = now
    Entity.objects.bulk_update(entities, ["orphan", "data", "updated_at"], batch_size=500)
    versioning.bump()
    return len(entities)


def refresh_location(location: Location, *, force: bool = False) -> IngestReport:
    """Read `location` and store what it holds. Never raises for a bad source: it reports."""
    now = timezone.now()
    settled = location.status in (Location.Status.OK, Location.Status.WARNING)
    known_sources = None
    if not force:
        known_sources = dict(
            Entity.objects.filter(location=location, orphan=False, has_errors=False)
            .exclude(source_hash="")
            .values_list("source_hash", "ref")
        )
    try:
        preview = read_and_prepare(
            location,
            known_revision=location.revision if settled and not force else None,
            known_sources=known_sources,
        )
    except LocationReadError as exc:
        Location.objects.filter(pk=location.pk).update(
            status=Location.Status.ERROR, last_error=str(exc), last_refreshed_at=now
        )
        location.refresh_from_db()
        return IngestReport(status="failed", message=str(exc))

    if preview is None or (not force and settled and location.content_hash == preview.content_hash):
        Location.objects.filter(pk=location.pk).update(last_refreshed_at=now, last_error="")
        location.refresh_from_db()
        return IngestReport(status="unchanged", errors=list(location.errors))

    with transaction.atomic():
        report = _store(location, preview, now)
    location.refresh_from_db()
    changed = report.__dict__.pop("_changed_refs", [])
    if changed:
        transaction.on_commit(lambda: entities_changed.send(sender=Location, location=location, refs=changed))
    return report


def _store(location: Location, preview: Preview, now) -> IngestReport:
    location = Location.objects.select_for_update().get(pk=location.pk)
    report = IngestReport(status="updated", errors=list(preview.errors))
    wanted = {p.parsed.ref.canonical: p for p in preview.entities}
    existing = {
        e.ref: e
        for e in Entity.objects.filter(location=location).only(
            "id", "uid", "ref", "etag", "orphan", "errors", "location_id", "source_location"
        )
    }
    # Refs this location wants that another location (still registered) already provides.
    others = {
        e.ref: e
        for e in Entity.objects.filter(ref__in=list(wanted)).exclude(location=location).only("id", "uid", "ref",
                                                                                              "location_id",
                                                                                              "source_location")
    }
    to_create: list[Entity] = []
    to_update: list[Entity] = []
    changed_ids: list[int] = []
    changed_refs: list[str] = []
    for ref, prepared in wanted.items():
        current = existing.get(ref)
        if current is None and ref in others:
            other = others[ref]
            if other.location_id is not None:
                report.conflicts += 1
                report.errors.append(
                    _error(prepared.source.location,
                           f"{ref} is already provided by {other.source_location or 'another location'}; "
                           "that location keeps it.", line=prepared.source.line, ref=ref)
                )
                continue
            current = other  # its location was deleted: this one adopts it
        uid = str(current.uid) if current else str(uuid.uuid4())
        columns = _columns(prepared, location, uid)
        if current is None:
            to_create.append(Entity(uid=uid, location=location, created_at=now, updated_at=now, **columns))
            report.added += 1
            changed_refs.append(ref)
            continue
        if current.etag == columns["etag"] and not current.orphan \
                and _processing_errors(current.errors) == columns["errors"] \
                and current.location_id == location.pk:
            report.unchanged += 1
            continue
        for name, value in columns.items():
            setattr(current, name, value)
        current.location = location
        current.orphan = False
        current.updated_at = now
        to_update.append(current)
        changed_ids.append(current.id)
        changed_refs.append(ref)
        report.updated += 1

    report.unchanged += len(preview.unchanged_refs & set(existing))
    # Entities that were here before and are not any more.
    errors_by_target: dict[str, list[dict[str, Any]]] = {}
    for error in preview.errors:
        errors_by_target.setdefault(error["target"], []).append(error)
    to_orphan: list[Entity] = []
    for ref, current in existing.items():
        if ref in wanted or ref in preview.unchanged_refs:
            continue
        kept_because = preview.invalid_refs.get(ref) or errors_by_target.get(current.source_location)
        if kept_because:
            # A broken document or an unreadable file: keep what we had, show why it did not update.
            Entity.objects.filter(pk=current.pk).update(errors=_status_items(kept_because), has_errors=True)
            continue
        if not current.orphan:
            to_orphan.append(current)
    if to_orphan:
        for entity in Entity.objects.filter(pk__in=[e.pk for e in to_orphan]):
            entity.orphan = True
            entity.data.setdefault("metadata", {}).setdefault("annotations", {})[ORPHAN_ANNOTATION] = "true"
            entity.updated_at = now
            entity.save(update_fields=["orphan", "data", "updated_at"])
            changed_refs.append(entity.ref)
        report.orphaned = len(to_orphan)

    if to_update:
        Entity.objects.bulk_update(
            to_update,
            ["ref", "kind", "namespace", "name", "title", "description", "spec_type", "lifecycle", "owner_ref",
             "system_ref", "tags", "data", "etag", "source_location", "errors", "has_errors", "search_text",
             "source_hash", "location", "orphan", "updated_at"],
            batch_size=BATCH,
        )
        Relation.objects.filter(originating_id__in=changed_ids).delete()
        EntityTag.objects.filter(entity_id__in=changed_ids).delete()
    created = _insert_entities(to_create)
    touched = created + to_update
    relations: list[tuple] = []
    tags: list[tuple] = []
    for entity in touched:
        prepared = wanted[entity.ref]
        relations.extend((entity.pk, s, t, target) for s, t, target in prepared.relations)
        tags.extend((entity.pk, tag[:63]) for tag in dict.fromkeys(entity.tags))
    _insert_rows(Relation, ["originating_id", "source_ref", "type", "target_ref"], relations)
    _insert_rows(EntityTag, ["entity_id", "tag"], tags)

    location.status = Location.Status.WARNING if report.errors else Location.Status.OK
    location.errors = report.errors
    location.last_error = ""
    location.content_hash = preview.content_hash
    location.revision = preview.revision
    location.last_refreshed_at = now
    if changed_refs:
        location.last_changed_at = now
    location.save()
    versioning.bump()
    if len(created) > ANALYZE_AFTER and connection.vendor == "postgresql":
        # Fresh statistics, or the planner guesses badly about the rows just loaded.
        transaction.on_commit(_analyze)
    report._changed_refs = changed_refs  # type: ignore[attr-defined]
    return report


def _analyze() -> None:
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE catalog_entity, catalog_relation, catalog_entitytag")
