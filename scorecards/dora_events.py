"""Storing DORA events: validate a whole request first, then upsert it by external id, atomically.

``parse_batch(kind, payload)`` accepts one event (a JSON object) or many (a JSON array),
validates every item with ``dora.parse_event`` and raises ``BatchError`` listing every bad
item (index, field, message); ``store(kind, events)`` writes them in one transaction,
inserting new external ids and updating known ones, so a client may safely send again.

Derived columns
---------------
The joins the four keys need are done here, when events arrive, rather than at query time:
each DeploymentCommit carries its deployment's entity_ref, environment, status and
finished_at, and ``committed_at``, the earliest commit time of the Change rows with its sha
(NULL when there is none); each Deployment carries ``caused_incident``, whether an incident
names its external id or one of its shas. Whatever order events arrive in, and however they
are re-posted (another cause, other shas, another time), every write refreshes the derived
columns its rows touch, with set-based updates: ``store`` for the REST API, and the model
signals (``before_save``, ``after_save``, ``before_delete``, ``after_delete``, connected by
``connect_signals`` from the app's ready()) for single rows saved or deleted elsewhere, e.g. in admin.
``rebuild_derived()`` recomputes every row.

On PostgreSQL the writers of DORA events take one transaction-level lock, so a refresh
always sees the rows another writer committed just before (a change posted while its
deployment is being stored).
"""

from __future__ import annotations

from collections.abc import Iterable
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any

from django.db import connection, transaction
from django.db.models import Min, OuterRef, Q, QuerySet, Subquery, signals

from catalog.refs import InvalidEntityRef, parse_entity_ref

from . import conf, dora
from .models import Change, Deployment, DeploymentCommit, Incident, Rule

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
    # Entities whose figures the write may change: those of the deployments and incidents written
    # (before and after a re-post), and those whose deployments a change or an incident links to.
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
    report = StoreReport(received=len(parsed))
    model = {"deployment": Deployment, "change": Change, "incident": Incident}[kind]
    with transaction.atomic(), _refreshed_here():
        lock_events()
        known = set(model.objects.filter(external_id__in=list(latest)).values_list("external_id", flat=True))
        report.updated = len(known)
        report.created = len(latest) - len(known)
        if kind == "deployment":
            report.refs = _store_deployments(latest)
        elif kind == "change":
            report.refs = _store_changes(latest)
        else:
            report.refs = _store_incidents(latest)
    return report


def _upsert(model, rows: list, fields: list[str]) -> None:
    model.objects.bulk_create(
        rows, batch_size=1000, update_conflicts=True, unique_fields=["external_id"], update_fields=fields
    )


def _store_deployments(latest: dict[str, Parsed]) -> set[str]:
    refs = set(Deployment.objects.filter(external_id__in=list(latest)).values_list("entity_ref", flat=True))
    refs |= {item.event.entity_ref for item in latest.values()}
    _upsert(Deployment, [
        Deployment(external_id=key, entity_ref=item.event.entity_ref, environment=item.event.environment.lower(),
                   finished_at=item.event.finished_at, status=item.event.status)
        for key, item in latest.items()
    ], ["entity_ref", "environment", "finished_at", "status"])
    ids = dict(Deployment.objects.filter(external_id__in=list(latest)).values_list("external_id", "pk"))
    DeploymentCommit.objects.filter(deployment_id__in=list(ids.values())).delete()
    DeploymentCommit.objects.bulk_create(
        [
            # The deployment's columns are known here; committed_at is looked up below, in one statement.
            DeploymentCommit(deployment_id=ids[key], sha=sha, entity_ref=item.event.entity_ref,
                             environment=item.event.environment.lower(), status=item.event.status,
                             finished_at=item.event.finished_at)
            for key, item in latest.items()
            for sha in dict.fromkeys(item.event.commit_shas)
        ],
        batch_size=2000,
    )
    stored = Deployment.objects.filter(pk__in=list(ids.values()))
    refresh_committed_at(DeploymentCommit.objects.filter(deployment_id__in=list(ids.values())))
    refresh_caused_incident(stored)
    return refs


def _store_changes(latest: dict[str, Parsed]) -> set[str]:
    # A change re-posted with another sha leaves its old sha's commits to look again.
    shas = set(Change.objects.filter(external_id__in=list(latest)).values_list("sha", flat=True))
    shas |= {item.event.sha for item in latest.values()}
    _upsert(Change, [
        Change(external_id=key, sha=item.event.sha, entity_ref=item.event.entity_ref,
               committed_at=item.event.committed_at)
        for key, item in latest.items()
    ], ["sha", "entity_ref", "committed_at"])
    commits = DeploymentCommit.objects.filter(sha__in=shas)
    refresh_committed_at(commits)
    return set(commits.order_by().values_list("entity_ref", flat=True).distinct())


def _store_incidents(latest: dict[str, Parsed]) -> set[str]:
    # A re-posted incident may name another cause (or none): its old cause is looked at again too.
    before = list(Incident.objects.filter(external_id__in=list(latest)).values_list(
        "entity_ref", "caused_by_deployment", "caused_by_sha"
    ))
    refs = {ref for ref, _, _ in before}
    deployment_ids = {deployment for _, deployment, _ in before}
    shas = {sha for _, _, sha in before}
    for item in latest.values():
        refs.add(item.event.entity_ref)
        deployment_ids.add(item.event.caused_by_deployment or "")
        shas.add(item.event.caused_by_sha or "")
    _upsert(Incident, [
        Incident(external_id=key, entity_ref=item.event.entity_ref, opened_at=item.event.opened_at,
                 resolved_at=item.event.resolved_at, caused_by_sha=item.event.caused_by_sha or "",
                 caused_by_deployment=item.event.caused_by_deployment or "")
        for key, item in latest.items()
    ], ["entity_ref", "opened_at", "resolved_at", "caused_by_sha", "caused_by_deployment"])
    named = deployments_named_by(deployment_ids, shas)
    refresh_caused_incident(named)
    return refs | set(named.order_by().values_list("entity_ref", flat=True).distinct())


# ---------------------------------------------------------------- derived columns

# Any fixed number: the key of the PostgreSQL advisory lock DORA event writers share.
_EVENTS_LOCK = 4_141_520_330
_refreshed_by_caller: ContextVar[bool] = ContextVar("dora_refreshed_by_caller", default=False)


@contextmanager
def _refreshed_here():
    """Inside: rows are written in bulk and refreshed by the caller, so the model signals stand aside."""
    token = _refreshed_by_caller.set(True)
    try:
        yield
    finally:
        _refreshed_by_caller.reset(token)


def lock_events() -> None:
    """On PostgreSQL, wait for other DORA event writers until this transaction ends (no-op outside one)."""
    if connection.vendor == "postgresql" and connection.in_atomic_block:
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [_EVENTS_LOCK])


def _earliest_commit() -> Subquery:
    return Subquery(
        Change.objects.filter(sha=OuterRef("sha")).order_by().values("sha").annotate(first=Min("committed_at"))
        .values("first")
    )


def refresh_commits(commits: QuerySet[DeploymentCommit]) -> int:
    """Copy each commit's deployment columns and look up its sha's earliest commit time."""
    deployment = Deployment.objects.filter(pk=OuterRef("deployment_id"))
    return commits.update(
        entity_ref=Subquery(deployment.values("entity_ref")),
        environment=Subquery(deployment.values("environment")),
        status=Subquery(deployment.values("status")),
        finished_at=Subquery(deployment.values("finished_at")),
        committed_at=_earliest_commit(),
    )


def refresh_committed_at(commits: QuerySet[DeploymentCommit]) -> int:
    """Look up the earliest commit time of each commit's sha (NULL when no change has it)."""
    return commits.update(committed_at=_earliest_commit())


def _caused_incident_q() -> Q:
    by_deployment = Incident.objects.exclude(caused_by_deployment="").values("caused_by_deployment")
    by_sha = DeploymentCommit.objects.filter(
        sha__in=Incident.objects.exclude(caused_by_sha="").values("caused_by_sha")
    ).values("deployment_id")
    return Q(external_id__in=by_deployment) | Q(pk__in=by_sha)


def refresh_caused_incident(deployments: QuerySet[Deployment]) -> int:
    """Set ``caused_incident`` of these deployments; only rows whose answer changed are written."""
    caused = _caused_incident_q()
    flipped = deployments.filter(caused_incident=False).filter(caused).update(caused_incident=True)
    return flipped + deployments.filter(caused_incident=True).exclude(caused).update(caused_incident=False)


def deployments_named_by(external_ids: Iterable[str], shas: Iterable[str]) -> QuerySet[Deployment]:
    """Deployments an incident naming these external ids or these shas would mark as failed."""
    external_ids = [value for value in set(external_ids) if value]
    shas = [value for value in set(shas) if value]
    shipped = DeploymentCommit.objects.filter(sha__in=shas).values("deployment_id")
    return Deployment.objects.filter(Q(external_id__in=external_ids) | Q(pk__in=shipped))


# PostgreSQL: one pass with hash joins, writing only the rows whose derived values are wrong
# (each written row costs an entry in every index of the table).
_REBUILD_COMMITS_POSTGRESQL = """
UPDATE scorecards_deploymentcommit AS target SET
    entity_ref = source.entity_ref, environment = source.environment, status = source.status,
    finished_at = source.finished_at, committed_at = source.first_committed_at
FROM (
    SELECT c.id, d.entity_ref, d.environment, d.status, d.finished_at, earliest.first_committed_at
    FROM scorecards_deploymentcommit c
    JOIN scorecards_deployment d ON d.id = c.deployment_id
    LEFT JOIN (SELECT sha, MIN(committed_at) AS first_committed_at FROM scorecards_change GROUP BY sha) earliest
        ON earliest.sha = c.sha
) AS source
WHERE source.id = target.id
  AND (target.entity_ref, target.environment, target.status, target.finished_at, target.committed_at)
      IS DISTINCT FROM (source.entity_ref, source.environment, source.status, source.finished_at,
                        source.first_committed_at)
"""


def rebuild_derived() -> int:
    """Recompute every derived column from the events (after loading events in bulk, outside ``store``).

    Returns the number of rows written: on PostgreSQL only those whose derived values were wrong.
    """
    with transaction.atomic(), _refreshed_here():
        lock_events()
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute(_REBUILD_COMMITS_POSTGRESQL)
                fixed = cursor.rowcount
        else:
            fixed = refresh_commits(DeploymentCommit.objects.all())
        return fixed + refresh_caused_incident(Deployment.objects.all())


# Single rows saved or deleted through the ORM (admin, shell, fixtures): called by the signal
# receivers in scorecards.models. The rows' values before a save are read first, since a
# re-saved change or incident may stop naming what it named.
_BEFORE_FIELDS = {
    DeploymentCommit: ("deployment_id", "sha"),
    Change: ("sha",),
    Incident: ("caused_by_deployment", "caused_by_sha"),
}


def before_save(instance) -> None:
    if _refreshed_by_caller.get():
        return
    lock_events()
    fields = _BEFORE_FIELDS.get(type(instance))
    if fields and instance.pk is not None:
        instance._dora_before = type(instance).objects.filter(pk=instance.pk).values(*fields).first() or {}
    else:
        instance._dora_before = {}


def after_save(instance) -> None:
    if _refreshed_by_caller.get():
        return
    before = getattr(instance, "_dora_before", None) or {}
    if isinstance(instance, Deployment):
        refresh_commits(DeploymentCommit.objects.filter(deployment_id=instance.pk))
        refresh_caused_incident(Deployment.objects.filter(pk=instance.pk))
    elif isinstance(instance, DeploymentCommit):
        refresh_commits(DeploymentCommit.objects.filter(pk=instance.pk))
        moved_from = before.get("deployment_id")
        refresh_caused_incident(Deployment.objects.filter(pk__in={instance.deployment_id, moved_from} - {None}))
    elif isinstance(instance, Change):
        refresh_committed_at(DeploymentCommit.objects.filter(sha__in={instance.sha, before.get("sha")} - {None}))
    elif isinstance(instance, Incident):
        refresh_caused_incident(deployments_named_by(
            {instance.caused_by_deployment, before.get("caused_by_deployment") or ""},
            {instance.caused_by_sha, before.get("caused_by_sha") or ""},
        ))


@dataclass
class _Deleted:
    """What the rows of one model deleted by one ``delete()`` call named: refreshed once, after they are gone."""

    deployment_pks: set[int] = field(default_factory=set)
    change_shas: set[str] = field(default_factory=set)
    incident_causes: set[str] = field(default_factory=set)
    incident_shas: set[str] = field(default_factory=set)
    locked: bool = False
    refreshed: bool = False

    def add(self, instance, origin) -> None:
        if isinstance(instance, DeploymentCommit):
            deleting = origin.model if isinstance(origin, QuerySet) else type(origin)
            if deleting is not Deployment:  # otherwise the deployment goes too
                self.deployment_pks.add(instance.deployment_id)
        elif isinstance(instance, Change):
            self.change_shas.add(instance.sha)
        elif isinstance(instance, Incident):
            self.incident_causes.add(instance.caused_by_deployment)
            self.incident_shas.add(instance.caused_by_sha)

    def refresh(self) -> None:
        self.refreshed = True
        if self.deployment_pks:
            refresh_caused_incident(Deployment.objects.filter(pk__in=self.deployment_pks))
        if self.change_shas:
            refresh_committed_at(DeploymentCommit.objects.filter(sha__in=self.change_shas))
        if self.incident_causes or self.incident_shas:
            refresh_caused_incident(deployments_named_by(self.incident_causes, self.incident_shas))


def _deleted(instance, origin) -> _Deleted:
    """The record of this delete() call (kept on its origin, the instance or queryset deleted) for this model."""
    if origin is None:
        return _Deleted()
    records = origin.__dict__.setdefault("_dora_deleted", {})
    return records.setdefault(type(instance), _Deleted())


def before_delete(instance, origin=None) -> None:
    # Django sends every pre_delete of a delete() call before deleting any row.
    if _refreshed_by_caller.get():
        return
    record = _deleted(instance, origin)
    if not record.locked:
        lock_events()
        record.locked = True
    record.add(instance, origin)


def after_delete(instance, origin=None) -> None:
    # Django deletes all the rows of a model, then sends their post_delete: the first one refreshes for all.
    if _refreshed_by_caller.get():
        return
    record = _deleted(instance, origin)
    if origin is None:
        record.add(instance, origin)
    if not record.refreshed:
        record.refresh()


# ---------------------------------------------------------------- scorecards reading the figures


def dora_rules_enabled() -> bool:
    """Whether an enabled (or upcoming) rule has a dora_threshold check."""
    return (
        Rule.objects.filter(check_spec__type="dora_threshold")
        .exclude(state=Rule.State.DISABLED)
        .exclude(state=Rule.State.ENABLED_FROM, enabled_from__isnull=True)
        .exists()
    )


def reevaluate_after_commit(refs: Iterable[str]) -> bool:
    """When a rule reads DORA figures, evaluate these entities once the current transaction commits."""
    ordered = sorted(set(refs))
    if not ordered or not dora_rules_enabled():
        return False
    from .tasks import evaluate_entities

    transaction.on_commit(lambda: evaluate_entities.delay(ordered))
    return True


# ---------------------------------------------------------------- signals


def _on_pre_save(sender, instance, **kwargs) -> None:
    before_save(instance)


def _on_post_save(sender, instance, **kwargs) -> None:
    after_save(instance)


def _on_pre_delete(sender, instance, origin=None, **kwargs) -> None:
    before_delete(instance, origin)


def _on_post_delete(sender, instance, origin=None, **kwargs) -> None:
    after_delete(instance, origin)


def connect_signals() -> None:
    """Rows saved or deleted one at a time (admin, shell, fixtures) keep the derived columns right;
    ``store`` writes in bulk, without signals, and refreshes them itself. Called by the app's ready()."""
    for model in (Deployment, DeploymentCommit, Change, Incident):
        name = model.__name__
        signals.pre_save.connect(_on_pre_save, sender=model, dispatch_uid=f"dora-before-save-{name}")
        signals.post_save.connect(_on_post_save, sender=model, dispatch_uid=f"dora-after-save-{name}")
        signals.pre_delete.connect(_on_pre_delete, sender=model, dispatch_uid=f"dora-before-delete-{name}")
        signals.post_delete.connect(_on_post_delete, sender=model, dispatch_uid=f"dora-after-delete-{name}")
