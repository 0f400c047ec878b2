"""The DORA four keys, computed in the database.

The definitions are those of ``scorecards.dora`` (the reference implementation the tests
compare these queries with); only small results leave the database: counts, medians and,
for the deployment frequency bucket, the number of deploy days in each week.

Medians use ``PERCENTILE_CONT(0.5)`` on PostgreSQL and, elsewhere (SQLite), the average of
the one or two middle rows picked with window functions. Durations are computed in SQL
(``EXTRACT(EPOCH ...)`` on PostgreSQL, ``julianday`` on SQLite).

Scopes: one entity, a system (entities whose ``spec.system`` is it), an owning group
(entities whose ``spec.owner`` is it) or the whole organisation. Events of a scope are
those whose ``entity_ref`` belongs to it. A deployment's commits are matched with the
recorded changes of the same sha (the earliest commit time when a sha was recorded twice);
an incident marks a deployment as failed when it names the deployment's external id or one
of its shas, whichever entity the incident was filed against.
"""

from __future__ import annotations

import math
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from django.db import connection, transaction
from django.db.models import (
    BooleanField,
    Count,
    DateTimeField,
    Exists,
    ExpressionWrapper,
    F,
    FloatField,
    Func,
    IntegerField,
    Min,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Value,
)

from . import conf, dora
from .models import Change, Deployment, DeploymentCommit, Incident

WINDOWS = (7, 30, 90)
DEFAULT_DAYS = 30
MIN_DAYS = 7
MAX_DAYS = 365
SCOPE_KINDS = ("organisation", "entity", "group", "system")


# ---------------------------------------------------------------- SQL expressions


class HoursBetween(Func):
    """``later - earlier`` in hours, as a float."""

    arity = 2
    output_field = FloatField()

    def _parts(self, compiler, connection):
        later, earlier = self.get_source_expressions()
        later_sql, later_params = compiler.compile(later)
        earlier_sql, earlier_params = compiler.compile(earlier)
        return later_sql, earlier_sql, [*later_params, *earlier_params]

    def as_sql(self, compiler, connection, **extra_context):
        later, earlier, params = self._parts(compiler, connection)
        return f"(CAST(EXTRACT(EPOCH FROM ({later} - {earlier})) AS double precision) / 3600.0)", params

    def as_sqlite(self, compiler, connection, **extra_context):
        later, earlier, params = self._parts(compiler, connection)
        return f"((julianday({later}) - julianday({earlier})) * 24.0)", params


class SlotBack(Func):
    """Index k of the interval ``[end - (k+1) * slot, end - k * slot)`` holding a moment (0 = newest).

    A moment exactly ``k`` slots before ``end`` starts slot ``k - 1``: the index is
    ``ceil((end - moment) / slot) - 1``, as ``dora._day_slot_back`` computes it.
    """

    arity = 2
    output_field = IntegerField()

    def __init__(self, end: datetime, moment, slot: timedelta):
        self.slot_seconds = int(slot.total_seconds())
        super().__init__(Value(end, output_field=DateTimeField()), moment)

    def _parts(self, compiler, connection):
        end, moment = self.get_source_expressions()
        end_sql, end_params = compiler.compile(end)
        moment_sql, moment_params = compiler.compile(moment)
        return end_sql, moment_sql, [*end_params, *moment_params]

    def as_sql(self, compiler, connection, **extra_context):
        end, moment, params = self._parts(compiler, connection)
        seconds = self.slot_seconds
        return (
            f"(CAST(CEIL(EXTRACT(EPOCH FROM (CAST({end} AS timestamp with time zone) - {moment})) / {seconds}) "
            "AS integer) - 1)",
            params,
        )

    def as_sqlite(self, compiler, connection, **extra_context):
        end, moment, params = self._parts(compiler, connection)
        # Whole milliseconds (julianday's precision), then integer division: exact at slot edges.
        millis = self.slot_seconds * 1000
        return (
            f"((CAST(ROUND((julianday({end}) - julianday({moment})) * 86400000.0) AS INTEGER) - 1) / {millis})",
            params,
        )


def _median_sql(inner: str, keep: str) -> str:
    if connection.vendor == "postgresql":
        # MATERIALIZED: compute each sample once, rather than in every condition the planner pushes down.
        return (
            f"WITH samples AS MATERIALIZED ({inner}) "  # noqa: S608 -- our own SQL
            "SELECT grp, PERCENTILE_CONT(0.5) WITHIN GROUP (ORDER BY val) "
            f"FROM samples WHERE val {keep} GROUP BY grp"
        )
    return (
        "SELECT grp, AVG(val) FROM ("  # noqa: S608 -- our own SQL
        "SELECT grp, val, ROW_NUMBER() OVER (PARTITION BY grp ORDER BY val) AS rn, "
        f"COUNT(*) OVER (PARTITION BY grp) AS n FROM ({inner}) AS samples WHERE val {keep}"
        ") AS ranked WHERE rn IN ((n + 1) / 2, (n + 2) / 2) GROUP BY grp"
    )


@contextmanager
def analytic_queries():
    """On PostgreSQL, run without JIT compilation: it costs more than it saves on these mid-sized aggregates."""
    if connection.vendor != "postgresql":
        yield
        return
    with transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute("SET LOCAL jit = off")
        yield


def medians(queryset: QuerySet, value, group=None, *, keep: str = "IS NOT NULL") -> dict[Any, float]:
    """Median of ``value`` over the rows of ``queryset``, per ``group`` (one key, 0, without a group).

    ``keep`` is the SQL condition on the value (``> 0``, ``>= 0``); NULL values never count.
    """
    grouped = queryset.order_by().annotate(val=value, grp=group if group is not None else Value(0))
    inner, params = grouped.values_list("grp", "val").query.sql_with_params()
    condition = "IS NOT NULL" if keep == "IS NOT NULL" else f"IS NOT NULL AND val {keep}"
    with connection.cursor() as cursor:
        cursor.execute(_median_sql(inner, condition), params)
        return {key: float(median) for key, median in cursor.fetchall() if median is not None}


# ---------------------------------------------------------------- scopes and windows


@dataclass(frozen=True)
class Scope:
    kind: str = "organisation"
    ref: str = ""

    def __post_init__(self) -> None:
        if self.kind not in SCOPE_KINDS:
            raise ValueError(f"scope kind must be one of {', '.join(SCOPE_KINDS)}")

    def q(self, prefix: str = "") -> Q:
        """Rows (deployments, incidents; or rows related through ``prefix``) of this scope."""
        from catalog.models import Entity

        field = f"{prefix}entity_ref"
        if self.kind == "entity":
            return Q(**{field: self.ref})
        if self.kind == "group":
            return Q(**{f"{field}__in": Entity.objects.filter(owner_ref=self.ref).values("ref")})
        if self.kind == "system":
            return Q(**{f"{field}__in": Entity.objects.filter(system_ref=self.ref).values("ref")})
        return Q()


@dataclass(frozen=True)
class Window:
    start: datetime
    end: datetime

    @classmethod
    def last(cls, days: int, now: datetime) -> Window:
        end = now.astimezone(UTC)
        return cls(end - timedelta(days=days), end)

    @property
    def days(self) -> float:
        return (self.end - self.start) / timedelta(days=1)


def production_deployments(scope: Scope, window: Window, environment: str | None = None) -> QuerySet[Deployment]:
    environment = (environment or conf.production_environment()).lower()
    return Deployment.objects.filter(
        scope.q(),
        status=Deployment.Status.SUCCESS,
        environment=environment,
        finished_at__gte=window.start,
        finished_at__lt=window.end,
    )


def _deployment_q(scope: Scope, window: Window, environment: str, prefix: str) -> Q:
    return scope.q(prefix) & Q(**{
        f"{prefix}status": Deployment.Status.SUCCESS,
        f"{prefix}environment": environment.lower(),
        f"{prefix}finished_at__gte": window.start,
        f"{prefix}finished_at__lt": window.end,
    })


# ---------------------------------------------------------------- the four keys, grouped or not

# A group is None (one figure for the scope), "entity" (per entity_ref) or "week" (weeks back from the end).


def _group(group: str | None, window: Window, moment: str, ref: str = "entity_ref"):
    if group is None:
        return None
    if group == "entity":
        return F(ref)
    if group == "week":
        return SlotBack(window.end, F(moment), dora.WEEK)
    raise ValueError(f"unknown grouping {group!r}")


def _key(group: str | None, key: Any) -> Any:
    return None if group is None else key


def deployment_counts(scope: Scope, window: Window, environment: str, group: str | None = None) -> dict:
    deployments = production_deployments(scope, window, environment).order_by()
    if group is None:
        return {None: deployments.count()}
    rows = deployments.annotate(grp=_group(group, window, "finished_at")).values("grp").annotate(n=Count("pk"))
    return {row["grp"]: row["n"] for row in rows}


def days_with_deploy_per_week(scope: Scope, window: Window, environment: str) -> list[int]:
    """Distinct deploy days in each whole week of the window, oldest first (as dora.days_with_deploy_per_week)."""
    week_count = len(dora.full_week_starts(window.start, window.end))
    rows = (
        production_deployments(scope, window, environment)
        .order_by()
        .annotate(day=SlotBack(window.end, F("finished_at"), dora.DAY))
        .annotate(week=SlotBack(window.end, F("finished_at"), dora.WEEK))
        .values("week")
        .annotate(days=Count("day", distinct=True))
        .values_list("week", "days")
    )
    by_week = dict(rows)
    return [by_week.get(index, 0) for index in reversed(range(week_count))]


def lead_time_hours(scope: Scope, window: Window, environment: str, group: str | None = None) -> dict:
    earliest = (
        Change.objects.filter(sha=OuterRef("sha")).order_by().values("sha").annotate(first=Min("committed_at"))
        .values("first")
    )
    pairs = DeploymentCommit.objects.filter(_deployment_q(scope, window, environment, "deployment__"))
    value = HoursBetween(F("deployment__finished_at"), Subquery(earliest))
    found = medians(pairs, value, _group(group, window, "deployment__finished_at", "deployment__entity_ref"),
                    keep="> 0")
    return {_key(group, key): median for key, median in found.items()}


def _failed_expression():
    by_deployment = Exists(Incident.objects.filter(caused_by_deployment=OuterRef("external_id")))
    # Per commit of the deployment, one index lookup among the incidents' causes.
    by_sha = Exists(
        DeploymentCommit.objects.filter(deployment_id=OuterRef("pk")).filter(
            Exists(Incident.objects.filter(caused_by_sha=OuterRef("sha")))
        )
    )
    return ExpressionWrapper(Q(by_deployment) | Q(by_sha), output_field=BooleanField())


def change_failure_counts(scope: Scope, window: Window, environment: str, group: str | None = None) -> dict:
    """{group: (failed deployments, deployments)}."""
    deployments = (
        production_deployments(scope, window, environment).order_by().annotate(is_failed=_failed_expression())
    )
    if group is None:
        totals = deployments.aggregate(total=Count("pk"), failed=Count("pk", filter=Q(is_failed=True)))
        return {None: (totals["failed"], totals["total"])}
    rows = (
        deployments.annotate(grp=_group(group, window, "finished_at")).values("grp")
        .annotate(total=Count("pk"), failed_count=Count("pk", filter=Q(is_failed=True)))
    )
    return {row["grp"]: (row["failed_count"], row["total"]) for row in rows}


def change_failure_rate(scope: Scope, window: Window, environment: str, group: str | None = None) -> dict:
    return {
        key: (failed / total if total else None)
        for key, (failed, total) in change_failure_counts(scope, window, environment, group).items()
    }


def time_to_restore_hours(scope: Scope, window: Window, group: str | None = None) -> dict:
    incidents = Incident.objects.filter(
        scope.q(), opened_at__gte=window.start, opened_at__lt=window.end, resolved_at__isnull=False
    )
    found = medians(incidents, HoursBetween(F("resolved_at"), F("opened_at")), _group(group, window, "opened_at"),
                    keep=">= 0")
    return {_key(group, key): median for key, median in found.items()}


# ---------------------------------------------------------------- what pages and the API show


@dataclass(frozen=True)
class Metrics:
    count: int
    per_week: float
    bucket: str | None
    days_with_deploy_per_week: list[int]
    lead_time_hours: float | None
    change_failure_rate: float | None
    time_to_restore_hours: float | None
    table: str

    def figures(self) -> dict[str, float | None]:
        return {
            "deployment_frequency_per_week": self.per_week,
            "lead_time_hours": self.lead_time_hours,
            "change_failure_rate": self.change_failure_rate,
            "time_to_restore_hours": self.time_to_restore_hours,
        }

    def levels(self) -> dict[str, str | None]:
        return {name: dora.level_for(name, value, self.table) for name, value in self.figures().items()}

    def as_api(self) -> dict:
        levels = self.levels()
        return {
            "deployment_frequency": {
                "count": self.count,
                "per_week": self.per_week,
                "bucket": self.bucket,
                "level": levels["deployment_frequency_per_week"],
            },
            "lead_time_for_changes": {"median_hours": self.lead_time_hours, "level": levels["lead_time_hours"]},
            "change_failure_rate": {"ratio": self.change_failure_rate, "level": levels["change_failure_rate"]},
            "time_to_restore": {"median_hours": self.time_to_restore_hours, "level": levels["time_to_restore_hours"]},
        }


def metrics(scope: Scope, window: Window, environment: str | None = None, table: str | None = None) -> Metrics:
    with analytic_queries():
        return _metrics(scope, window, environment, table)


def _metrics(scope: Scope, window: Window, environment: str | None, table: str | None) -> Metrics:
    environment = environment or conf.production_environment()
    count = deployment_counts(scope, window, environment)[None]
    days = days_with_deploy_per_week(scope, window, environment)
    months = [(start.year, start.month) for start in dora.full_week_starts(window.start, window.end)]
    return Metrics(
        count=count,
        per_week=count / (window.days / 7),
        bucket=dora.frequency_bucket(days, months),
        days_with_deploy_per_week=days,
        lead_time_hours=lead_time_hours(scope, window, environment).get(None),
        change_failure_rate=change_failure_rate(scope, window, environment)[None],
        time_to_restore_hours=time_to_restore_hours(scope, window).get(None),
        table=table or conf.performance_table(),
    )


def weekly_trend(scope: Scope, days: int, now: datetime, environment: str | None = None) -> list[dora.WeekPoint]:
    """Per-week figures over the ``days`` before ``now`` (as dora.weekly_trend), oldest week first."""
    with analytic_queries():
        return _weekly_trend(scope, days, now, environment)


def _weekly_trend(scope: Scope, days: int, now: datetime, environment: str | None) -> list[dora.WeekPoint]:
    environment = environment or conf.production_environment()
    window = Window.last(days, now)
    counts = deployment_counts(scope, window, environment, "week")
    deploy_days = dict(
        production_deployments(scope, window, environment)
        .order_by()
        .annotate(day=SlotBack(window.end, F("finished_at"), dora.DAY))
        .annotate(week=SlotBack(window.end, F("finished_at"), dora.WEEK))
        .values("week")
        .annotate(days=Count("day", distinct=True))
        .values_list("week", "days")
    )
    lead = lead_time_hours(scope, window, environment, "week")
    failures = change_failure_rate(scope, window, environment, "week")
    restore = time_to_restore_hours(scope, window, "week")
    points = []
    for index in reversed(range(math.ceil(days / 7))):
        week_end = window.end - dora.WEEK * index
        week_start = max(week_end - dora.WEEK, window.start)
        points.append(
            dora.WeekPoint(
                start=week_start,
                end=week_end,
                partial=week_end - week_start < dora.WEEK,
                deployments=counts.get(index, 0),
                days_with_deploy=deploy_days.get(index, 0),
                lead_time_hours=lead.get(index),
                change_failure_rate=failures.get(index),
                time_to_restore_hours=restore.get(index),
            )
        )
    return points


def figures_by_entity(
    refs: list[str] | None, days: int, now: datetime, environment: str | None = None
) -> dict[str, dict[str, float | None]]:
    """The figures scorecard checks read, for each entity with events (``refs=None``: every entity).

    Entities without deployments in the window are left out: their deployment frequency is 0
    and every other figure is None (see ``no_figures``).
    """
    with analytic_queries():
        return _figures_by_entity(refs, days, now, environment)


def _figures_by_entity(
    refs: list[str] | None, days: int, now: datetime, environment: str | None
) -> dict[str, dict[str, float | None]]:
    environment = environment or conf.production_environment()
    window = Window.last(days, now)
    scope = Scope()
    if refs is not None:
        if not refs:
            return {}
        scope_q = Q(entity_ref__in=refs)
    else:
        scope_q = Q()
    weeks = window.days / 7
    counts = {
        row["entity_ref"]: row["n"]
        for row in production_deployments(scope, window, environment).filter(scope_q).order_by()
        .values("entity_ref").annotate(n=Count("pk"))
    }
    earliest = (
        Change.objects.filter(sha=OuterRef("sha")).order_by().values("sha").annotate(first=Min("committed_at"))
        .values("first")
    )
    pairs = DeploymentCommit.objects.filter(
        _deployment_q(scope, window, environment, "deployment__"),
        **({"deployment__entity_ref__in": refs} if refs is not None else {}),
    )
    lead = medians(pairs, HoursBetween(F("deployment__finished_at"), Subquery(earliest)), F("deployment__entity_ref"),
                   keep="> 0")
    failures = {
        row["entity_ref"]: row["failed_count"] / row["total"]
        for row in production_deployments(scope, window, environment).filter(scope_q).order_by()
        .annotate(is_failed=_failed_expression()).values("entity_ref")
        .annotate(total=Count("pk"), failed_count=Count("pk", filter=Q(is_failed=True)))
        if row["total"]
    }
    incidents = Incident.objects.filter(scope_q, opened_at__gte=window.start, opened_at__lt=window.end,
                                        resolved_at__isnull=False)
    restore = medians(incidents, HoursBetween(F("resolved_at"), F("opened_at")), F("entity_ref"), keep=">= 0")
    figures: dict[str, dict[str, float | None]] = {}
    for ref in set(counts) | set(lead) | set(failures) | set(restore):
        figures[ref] = {
            "deployment_frequency_per_week": counts.get(ref, 0) / weeks,
            "lead_time_hours": lead.get(ref),
            "change_failure_rate": failures.get(ref),
            "time_to_restore_hours": restore.get(ref),
        }
    return figures


def no_figures() -> dict[str, float | None]:
    return {
        "deployment_frequency_per_week": 0.0,
        "lead_time_hours": None,
        "change_failure_rate": None,
        "time_to_restore_hours": None,
    }
