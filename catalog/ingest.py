"""Ingestion: read a location, validate its documents, derive relations, store them.

One location's entities are replaced in one transaction. A location that cannot be read
changes nothing but its error; a broken document keeps the entity it used to describe (with
the error attached); an entity another location already provides stays with that location
(a conflict, reported); an entity that disappears from its location becomes an orphan.
"""

from __future__ import annotations

import copy
import functools
import json
import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.db import transaction
from django.dispatch import Signal
from django.utils import timezone

from .entity import KindRegistry, ParsedEntity, compute_etag, default_registry, validate_entity
from .models import Entity, EntityTag, Location, Relation
from .reading import LocationReadError, ReadOptions, SourceDocument, parse_allow_hosts, read_location
from .refs import InvalidEntityRef, parse_entity_ref
from .relations import derive_relations

MANAGED_BY_LOCATION = "backstage.io/managed-by-location"
MANAGED_BY_ORIGIN_LOCATION = "backstage.io/managed-by-origin-location"
ORPHAN_ANNOTATION = "backstage.io/orphan"
BATCH = 1000

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


def read_options(location: Location) -> ReadOptions:
    try:
        allow_hosts = parse_allow_hosts(settings.CAUSEWAY_READ_ALLOW)
    except ValueError as exc:
        raise ImproperlyConfigured(str(exc)) from exc
    return ReadOptions(
        max_bytes=settings.CATALOG_MAX_FILE_BYTES,
        allow_hosts=allow_hosts,
        git_cache_dir=settings.CATALOG_GIT_CACHE_DIR,
        git_ref=location.git_ref or None,
        git_path=location.git_path or "",
        timeout=float(settings.CATALOG_READ_TIMEOUT),
        max_files=settings.CATALOG_MAX_FILES,
    )


def check_target_allowed(location_type: str, target: str) -> None:
    """Refuse local paths outside the configured roots before anything is read."""
    if location_type != Location.Type.FILE:
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


@dataclass
class Preview:
    """What a read would import: valid entities and every problem, nothing stored."""

    entities: list[PreparedEntity] = field(default_factory=list)
    errors: list[dict[str, Any]] = field(default_factory=list)
    invalid_refs: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
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


def prepare(documents: Iterable[SourceDocument], registry: KindRegistry | None = None) -> Preview:
    """Validate documents and derive their relations (no database)."""
    registry = registry or kind_registry()
    preview = Preview()
    seen: dict[str, SourceDocument] = {}
    for doc in documents:
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
        preview.entities.append(PreparedEntity(parsed, doc, relations, entity_errors))
    return preview


def read_and_prepare(location: Location) -> Preview:
    """Read a location and validate what it holds. Raises LocationReadError when unreachable."""
    result = read_location(location.target, type=location.type, options=read_options(location))
    preview = prepare(result.documents)
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
    data = copy.deepcopy(parsed.data)
    metadata = data.setdefault("metadata", {})
    annotations = metadata.setdefault("annotations", {})
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
    }


def refresh_location(location: Location, *, force: bool = False) -> IngestReport:
    """Read `location` and store what it holds. Never raises for a bad source: it reports."""
    now = timezone.now()
    try:
        preview = read_and_prepare(location)
    except LocationReadError as exc:
        Location.objects.filter(pk=location.pk).update(
            status=Location.Status.ERROR, last_error=str(exc), last_refreshed_at=now
        )
        location.refresh_from_db()
        return IngestReport(status="failed", message=str(exc))

    if not force and location.content_hash == preview.content_hash and location.status != Location.Status.PENDING:
        Location.objects.filter(pk=location.pk).update(last_refreshed_at=now, last_error="")
        location.refresh_from_db()
        return IngestReport(status="unchanged", errors=list(location.errors))

    with transaction.atomic():
        report = _store(location, preview, now)
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
        for e in Entity.objects.filter(location=location).only("id", "uid", "ref", "etag", "orphan", "errors")
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
        if current.etag == columns["etag"] and not current.orphan and current.errors == columns["errors"] \
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

    # Entities that were here before and are not any more.
    to_orphan: list[Entity] = []
    for ref, current in existing.items():
        if ref in wanted:
            continue
        if ref in preview.invalid_refs:
            # A broken document: keep what we had, show why it did not update.
            Entity.objects.filter(pk=current.pk).update(
                errors=_status_items(preview.invalid_refs[ref]), has_errors=True
            )
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
             "location", "orphan", "updated_at"],
            batch_size=BATCH,
        )
        Relation.objects.filter(originating_id__in=changed_ids).delete()
        EntityTag.objects.filter(entity_id__in=changed_ids).delete()
    created = Entity.objects.bulk_create(to_create, batch_size=BATCH)
    touched = list(created) + to_update
    relations: list[Relation] = []
    tags: list[EntityTag] = []
    for entity in touched:
        prepared = wanted[entity.ref]
        relations.extend(
            Relation(originating_id=entity.pk, source_ref=s, type=t, target_ref=target)
            for s, t, target in prepared.relations
        )
        tags.extend(EntityTag(entity_id=entity.pk, tag=tag[:63]) for tag in dict.fromkeys(entity.tags))
    Relation.objects.bulk_create(relations, batch_size=5000)
    EntityTag.objects.bulk_create(tags, batch_size=5000)

    location.status = Location.Status.WARNING if report.errors else Location.Status.OK
    location.errors = report.errors
    location.last_error = ""
    location.content_hash = preview.content_hash
    location.revision = preview.revision
    location.last_refreshed_at = now
    if changed_refs:
        location.last_changed_at = now
    location.save()
    report._changed_refs = changed_refs  # type: ignore[attr-defined]
    return report
