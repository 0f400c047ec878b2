"""Storing DORA events: validate a whole request first, then upsert it by external id, atomically.

``parse_batch(kind, payload)`` accepts one event (a JSON object) or many (a JSON array),
validates every item with ``dora.parse_event`` and raises ``BatchError`` listing every bad
item (index, field, message); ``store(kind, events)`` writes them in one transaction,
inserting new external ids and updating known ones, so a client may safely send again.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from django.db import transaction

from catalog.refs import InvalidEntityRef, parse_entity_ref

from . import conf, dora
from .models import Change, Deployment, DeploymentCommit, Incident

MAX_REPORTED_ERRORS = 50
KINDS = {"deployments": "deployment", "changes": "change", "incidents": "incident"}


@dataclass(frozen=True)
class ItemError:
    index: int
    field: str
    message: str

    def as_dict(self) -> dict:
        return {"index": self.index, "field": self.field, "message": self.message}


class BatchError(ValueError):
    def __init__(self, errors: list[ItemError], total: int = 1):
        self.errors = errors
        self.total = total
        first = errors[0]
        where = f"item {first.index}: " if total > 1 else ""
        super().__init__(f"{where}{first.field}: {first.message}")


@dataclass(frozen=True)
class Parsed:
    event: dora.Deployment | dora.Change | dora.Incident
    external_id: str


@dataclass
class StoreReport:
    received: int = 0
    created: int = 0
    updated: int = 0
    refs: set[str] = field(default_factory=set)

    def as_dict(self) -> dict:
        return {"received": self.received, "created": self.created, "updated": self.updated}


def _entity_ref(value: str) -> str:
    try:
        return parse_entity_ref(value, "component").canonical
    except InvalidEntityRef as exc:
        raise dora.EventError("entity_ref", str(exc))


def _external_id(value: Any) -> str:
    if not isinstance(value, str) or not value.strip():
        raise dora.EventError("external_id", "must be a non-empty string")
    text = value.strip()
    if len(text) > dora.MAX_ID_LENGTH:
        raise dora.EventError("external_id", f"must be at most {dora.MAX_ID_LENGTH} characters")
    if any(char.isspace() or ord(char) < 32 or ord(char) == 127 for char in text):
        raise dora.EventError("external_id", "must not contain spaces or control characters")
    return text


def parse_item(kind: str, payload: Any) -> Parsed:
    """One event; raise dora.EventError naming the field."""
    if kind == "change" and isinstance(payload, dict):
        # Changes are keyed by sha; the API also takes an external id (the sha when absent).
        payload = dict(payload)
        external = payload.pop("external_id", None)
        event = dora.parse_event(kind, payload)
        external_id = event.sha if external is None else _external_id(external)
    else:
        event = dora.parse_event(kind, payload)
        external_id = event.external_id  # type: ignore[union-attr]
    ref = _entity_ref(event.entity_ref)
    return Parsed(event=_with_ref(event, ref), external_id=external_id)


def _with_ref(event, ref: str):
    from dataclasses import replace

    return replace(event, entity_ref=ref)


def parse_batch(kind: str, payload: Any) -> list[Parsed]:
    """Every event of a request, or BatchError with every problem found (nothing is stored then)."""
    items = payload if isinstance(payload, list) else [payload]
    if not items:
        raise BatchError([ItemError(0, "payload", "is an empty list; send at least one event")])
    limit = conf.max_events_per_request()
    if len(items) > limit:
        raise BatchError([ItemError(0, "payload", f"holds {len(items)} events; at most {limit} per request")])
    parsed: list[Parsed] = []
    errors: list[ItemError] = []
    for index, item in enumerate(items):
        try:
            parsed.append(parse_item(kind, item))
        except dora.EventError as exc:
            errors.append(ItemError(index, exc.field, exc.message))
    if errors:
        raise BatchError(errors[:MAX_REPORTED_ERRORS], total=len(items))
    return parsed


def _last_by_id(parsed: list[Parsed]) -> dict[str, Parsed]:
    """One event per external id; a later one in the same request wins."""
    latest: dict[str, Parsed] = {}
    for item in parsed:
        latest.pop(item.external_id, None)
        latest[item.external_id] = item
    return latest


def store(kind: str, parsed: list[Parsed]) -> StoreReport:
    latest = _last_by_id(parsed)
    report = StoreReport(received=len(parsed), refs={item.event.entity_ref for item in parsed})
    model = {"deployment": Deployment, "change": Change, "incident": Incident}[kind]
    with transaction.atomic():
        known = set(model.objects.filter(external_id__in=list(latest)).values_list("external_id", flat=True))
        report.updated = len(known)
        report.created = len(latest) - len(known)
        if kind == "deployment":
            _store_deployments(latest)
        elif kind == "change":
            _upsert(Change, [
                Change(external_id=key, sha=item.event.sha, entity_ref=item.event.entity_ref,
                       committed_at=item.event.committed_at)
                for key, item in latest.items()
            ], ["sha", "entity_ref", "committed_at"])
        else:
            _upsert(Incident, [
                Incident(external_id=key, entity_ref=item.event.entity_ref, opened_at=item.event.opened_at,
                         resolved_at=item.event.resolved_at, caused_by_sha=item.event.caused_by_sha or "",
                         caused_by_deployment=item.event.caused_by_deployment or "")
                for key, item in latest.items()
            ], ["entity_ref", "opened_at", "resolved_at", "caused_by_sha", "caused_by_deployment"])
    return report


def _upsert(model, rows: list, fields: list[str]) -> None:
    model.objects.bulk_create(
        rows, batch_size=1000, update_conflicts=True, unique_fields=["external_id"], update_fields=fields
    )


def _store_deployments(latest: dict[str, Parsed]) -> None:
    _upsert(Deployment, [
        Deployment(external_id=key, entity_ref=item.event.entity_ref, environment=item.event.environment.lower(),
                   finished_at=item.event.finished_at, status=item.event.status)
        for key, item in latest.items()
    ], ["entity_ref", "environment", "finished_at", "status"])
    ids = dict(Deployment.objects.filter(external_id__in=list(latest)).values_list("external_id", "pk"))
    DeploymentCommit.objects.filter(deployment_id__in=list(ids.values())).delete()
    DeploymentCommit.objects.bulk_create(
        [
            DeploymentCommit(deployment_id=ids[key], sha=sha)
            for key, item in latest.items()
            for sha in dict.fromkeys(item.event.commit_shas)
        ],
        batch_size=2000,
    )
