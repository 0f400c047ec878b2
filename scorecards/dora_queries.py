"""The DORA four keys, computed in the database.

The definitions are those of ``scorecards.dora`` (the reference implementation the tests
compare these queries with); only small results leave the database: counts, medians and,
for the deployment frequency bucket, the number of deploy days in each week.

No join is left for query time: scorecards.dora_events does it when events arrive. Lead
time reads DeploymentCommit alone (each row carries its deployment's entity_ref,
environment, status and finished_at, and ``committed_at``, the earliest commit time recorded
for its sha); the change failure rate reads ``Deployment.caused_incident`` (an incident
names the deployment's external id or one of its shas, whichever entity it was filed against).

Medians use ``PERCENTILE_CONT(0.5)`` on PostgreSQL and, elsewhere (SQLite), the average of
the one or two middle rows picked with window functions. Durations are computed in SQL
(``date_part('epoch', ...)``, a double, on PostgreSQL; ``julianday`` on SQLite).

One pass per table serves a window's figures and their weekly trend (``dashboard``):
deployments are counted per week (the window's counts are the weeks' sums) and medians are
taken per week with the window's median alongside (``GROUP BY ROLLUP`` on PostgreSQL).

Scopes: one entity, a system (entities whose ``spec.system`` is it), an owning group
(entities whose ``spec.owner`` is it) or the whole organisation. Events of a scope are
those whose ``entity_ref`` belongs to it. Figures may also be grouped per entity, per week,
or per owning group (``figures_by_owner``, for the organisation's "by team" table).
"""

from __future__ import annotations

import math
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from django.db import connection, transaction
from django.db.models import Count, DateTimeField, F, FloatField, Func, IntegerField, Q, QuerySet, Value

from . import conf, dora
from .models import Deployment, DeploymentCommit, Incident

WINDOWS = (7, 30, 90)
DEFAULT_DAYS = 30
MIN_DAYS = 7
MAX_DAYS = 365
SCOPE_KINDS = ("organisation", "entity", "group", "system")
GROUPINGS = ("entity", "week", "owner")


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
        # date_part gives a double directly: EXTRACT's numeric arithmetic costs more than the scan itself.
        return f"(date_part('epoch', {later} - {earlier}) / 3600.0)", params

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
            # In double precision, still exact to the microsecond at slot edges over MAX_DAYS.
            f"(CAST(CEIL(date_part('epoch', CAST({end} AS timestamp with time zone) - {moment}) / {seconds}) "
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


def _entity_table() -> str:
    from catalog.models import Entity

    return connection.ops.quote_name(Entity._meta.db_table)


def _by_owner(inner: str, select: str) -> str:
    """``inner``'s rows (one per entity, its ref in ``grp``) joined to their entity's owning group, as ``grp``."""
    return (
        f"SELECT e.owner_ref AS grp, {select} FROM ({inner}) AS per_entity "  # noqa: S608 -- our own SQL
        f"JOIN {_entity_table()} e ON e.ref = per_entity.grp WHERE e.owner_ref <> ''"
    )


def _median_sql(inner: str, keep: str, total: bool) -> tuple[str, int]:
    """SQL giving (group, median) rows, and how many times it repeats ``inner``'s parameters."""
    if connection.vendor == "postgresql":
        # ROLLUP: the window's median comes with the groups', from the same scan.
        grouping = "ROLLUP(grp)" if total else "grp"
        return (
            "SELECT grp, PERCENTILE_CONT(0.5) WITHIN GROUP (ORDER BY val) "  # noqa: S608 -- our own SQL
            f"FROM ({inner}) AS samples WHERE val {keep} GROUP BY {grouping}"
        ), 1
    repeats = 1
    if total:
        # The window's samples again, in the group NULL.
        inner = f"SELECT grp, val FROM ({inner}) AS a UNION ALL SELECT NULL, val FROM ({inner}) AS b"  # noqa: S608
        repeats = 2
    return (
        "SELECT grp, AVG(val) FROM ("  # noqa: S608 -- our own SQL
        "SELECT grp, val, ROW_NUMBER() OVER (PARTITION BY grp ORDER BY val) AS rn, "
        f"COUNT(*) OVER (PARTITION BY grp) AS n FROM ({inner}) AS samples WHERE val {keep}"
        ") AS ranked WHERE rn IN ((n + 1) / 2, (n + 2) / 2) GROUP BY grp"
    ), repeats


@contextmanager
def analytic_queries():
    """On PostgreSQL: no JIT (it costs more than it saves on these mid-sized aggregates), more sort memory."""
    if connection.vendor != "postgresql":
        yield
        return
    with transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute("SET LOCAL jit = off")
            # Sort the samples of a median in memory rather than on disk (a window holds a few 100,000).
            cursor.execute("SET LOCAL work_mem = '64MB'")
        yield


def medians(
    queryset: QuerySet, value, group=None, *, keep: str = "IS NOT NULL", total: bool = False, by_owner: bool = False
) -> dict[Any, float]:
    """Median of ``value`` over the rows of ``queryset``, per ``group``; the key None holds the median of all rows.

    Without a group only the median of all rows is given; with ``total`` it comes along with the
    groups'. With ``by_owner`` the group must be the entity ref, and rows are regrouped by the
    entity's owning group. ``keep`` is the SQL condition on the value (``> 0``, ``>= 0``); NULL
    values never count. Groups are never NULL (weeks and refs), so None is free for the total.
    """
    grouped = queryset.order_by().annotate(
        val=value, grp=group if group is not None else Value(None, output_field=IntegerField())
    )
    inner, params = grouped.values_list("grp", "val").query.sql_with_params()
    if by_owner:
        inner = _by_owner(inner, "per_entity.val AS val")
    condition = "IS NOT NULL" if keep == "IS NOT NULL" else f"IS NOT NULL AND val {keep}"
    sql, repeats = _median_sql(inner, condition, total and group is not None)
    with connection.cursor() as cursor:
        cursor.execute(sql, tuple(params) * repeats)
        return {key: float(median) for key, median in cursor.fetchall() if median is not None}


# ---------------------------------------------------------------- scopes and windows


@dataclass(frozen=True)
class Scope:
    kind: str = "organisation"
    ref: str = ""

    def __post_init__(self) -> None:
        if self.kind not in SCOPE_KINDS:
            raise ValueError(f"scope kind must be one of {', '.join(SCOPE_KINDS)}")

    def q(self) -> Q:
        """Rows (deployments, their commits, incidents) of this scope."""
        from catalog.models import Entity

        if self.kind == "entity":
            return Q(entity_ref=self.ref)
        if self.kind == "group":
            return Q(entity_ref__in=Entity.objects.filter(owner_ref=self.ref).values("ref"))
        if self.kind == "system":
            return Q(entity_ref__in=Entity.objects.filter(system_ref=self.ref).values("ref"))
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


def _successful(model, scope: Scope, window: Window, environment: str, refs: list[str] | None) -> QuerySet:
    """Deployments (or the commits they shipped) that count: successful, to ``environment``, in the window."""
    rows = model.objects.filter(
        scope.q(),
        status=Deployment.Status.SUCCESS,
        environment=environment.lower(),
        finished_at__gte=window.start,
        finished_at__lt=window.end,
    )
    return rows if refs is None else rows.filter(entity_ref__in=refs)


def production_deployments(scope: Scope, window: Window, environment: str | None = None) -> QuerySet[Deployment]:
    return _successful(Deployment, scope, window, environment or conf.production_environment(), None)


# ---------------------------------------------------------------- the four keys, grouped or not

# A group is None (one figure for the scope), "entity" (per entity_ref), "week" (weeks back from
# the window's end, 0 the newest) or "owner" (per owning group of the entity).


def _group(group: str | None, window: Window, moment: str):
    if group is None:
        return None
    if group in ("entity", "owner"):
        return F("entity_ref")
    if group == "week":
        return SlotBack(window.end, F(moment), dora.WEEK)
    raise ValueError(f"unknown grouping {group!r}; known: {', '.join(GROUPINGS)}")


@dataclass(frozen=True)
class Tally:
    """Counted deployments, those an incident names, and (per week) their distinct deploy days."""

    deployments: int = 0
    failed: int = 0
    deploy_days: int = 0

    @property
    def change_failure_rate(self) -> float | None:
        return self.failed / self.deployments if self.deployments else None


def deployment_tallies(
    scope: Scope, window: Window, environment: str, group: str | None = None, refs: list[str] | None = None
) -> dict[Any, Tally]:
    """One pass over the counted deployments: a Tally per group (the key None without a group)."""
    deployments = _successful(Deployment, scope, window, environment, refs).order_by()
    # Counting a column of the covering index (rather than rows) lets PostgreSQL read the index alone.
    counts = {"n": Count("finished_at"), "failed": Count("finished_at", filter=Q(caused_incident=True))}
    if group is None:
        row = deployments.aggregate(**counts)
        return {None: Tally(row["n"], row["failed"])} if row["n"] else {}
    if group == "week":
        # Grouped by deploy day (a hash of a few hundred groups at most), then summed into weeks here: day
        # k lies in week k // 7, as in dora.days_with_deploy_per_week.
        days = deployments.annotate(day=SlotBack(window.end, F("finished_at"), dora.DAY)).values("day")
        weeks: dict[int, Tally] = {}
        for row in days.annotate(**counts):
            week = weeks.get(row["day"] // 7, Tally())
            weeks[row["day"] // 7] = Tally(week.deployments + row["n"], week.failed + row["failed"],
                                           week.deploy_days + 1)
        return weeks
    rows = deployments.annotate(grp=_group(group, window, "finished_at")).values("grp").annotate(**counts)
    if group != "owner":
        return {row["grp"]: Tally(row["n"], row["failed"]) for row in rows}
    inner, params = rows.values_list("grp", "n", "failed").query.sql_with_params()
    sql = _by_owner(inner, "SUM(per_entity.n), SUM(per_entity.failed)") + " GROUP BY e.owner_ref"
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return {owner: Tally(int(n), int(failed)) for owner, n, failed in cursor.fetchall()}


def lead_time_hours(
    scope: Scope, window: Window, environment: str, group: str | None = None, *, total: bool = False,
    refs: list[str] | None = None,
) -> dict:
    """Median hours from commit to deployment, over (deployment, sha) pairs with a recorded change."""
    # Only positive durations count: said on the columns, it is checked while the index is read.
    pairs = _successful(DeploymentCommit, scope, window, environment, refs).filter(
        committed_at__isnull=False, finished_at__gt=F("committed_at")
    )
    return medians(pairs, HoursBetween(F("finished_at"), F("committed_at")), _group(group, window, "finished_at"),
                   keep="> 0", total=total, by_owner=group == "owner")


def change_failure_rate(scope: Scope, window: Window, environment: str, group: str | None = None) -> dict:
    return {key: tally.change_failure_rate for key, tally in deployment_tallies(scope, window, environment,
                                                                                group).items()}


def time_to_restore_hours(
    scope: Scope, window: Window, group: str | None = None, *, total: bool = False, refs: list[str] | None = None
) -> dict:
    """Median hours from opened to resolved, over the scope's incidents opened in the window."""
    incidents = Incident.objects.filter(
        scope.q(), opened_at__gte=window.start, opened_at__lt=window.end, resolved_at__isnull=False
    )
    if refs is not None:
        incidents = incidents.filter(entity_ref__in=refs)
    return medians(incidents, HoursBetween(F("resolved_at"), F("opened_at")), _group(group, window, "opened_at"),
                   keep=">= 0", total=total, by_owner=group == "owner")


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


def _metrics(window: Window, tallies: dict[Any, Tally], lead: dict, restore: dict, table: str | None) -> Metrics:
    """The window's figures from per-week tallies and the window's medians (key None)."""
    count = sum(tally.deployments for tally in tallies.values())
    failed = sum(tally.failed for tally in tallies.values())
    week_starts = dora.full_week_starts(window.start, window.end)
    # Whole weeks only, oldest first; a partial oldest week has the highest index and is left out.
    days = [tallies.get(index, Tally()).deploy_days for index in reversed(range(len(week_starts)))]
    months = [(start.year, start.month) for start in week_starts]
    return Metrics(
        count=count,
        per_week=count / (window.days / 7),
        bucket=dora.frequency_bucket(days, months),
        days_with_deploy_per_week=days,
        lead_time_hours=lead.get(None),
        change_failure_rate=failed / count if count else None,
        time_to_restore_hours=restore.get(None),
        table=table or conf.performance_table(),
    )


def _trend(window: Window, tallies: dict[Any, Tally], lead: dict, restore: dict) -> list[dora.WeekPoint]:
    """Per-week points, oldest first, from figures keyed by week index (0 the newest)."""
    points = []
    for index in reversed(range(math.ceil(window.days / 7))):
        week_end = window.end - dora.WEEK * index
        week_start = max(week_end - dora.WEEK, window.start)
        tally = tallies.get(index, Tally())
        points.append(
            dora.WeekPoint(
                start=week_start,
                end=week_end,
                partial=week_end - week_start < dora.WEEK,
                deployments=tally.deployments,
                days_with_deploy=tally.deploy_days,
                lead_time_hours=lead.get(index),
                change_failure_rate=tally.change_failure_rate,
                time_to_restore_hours=restore.get(index),
            )
        )
    return points


def metrics(scope: Scope, window: Window, environment: str | None = None, table: str | None = None) -> Metrics:
    environment = environment or conf.production_environment()
    with analytic_queries():
        tallies = deployment_tallies(scope, window, environment, "week")
        lead = lead_time_hours(scope, window, environment)
        restore = time_to_restore_hours(scope, window)
    return _metrics(window, tallies, lead, restore, table)


def weekly_trend(scope: Scope, days: int, now: datetime, environment: str | None = None) -> list[dora.WeekPoint]:
    """Per-week figures over the ``days`` before ``now`` (as dora.weekly_trend), oldest week first."""
    environment = environment or conf.production_environment()
    window = Window.last(days, now)
    with analytic_queries():
        tallies = deployment_tallies(scope, window, environment, "week")
        lead = lead_time_hours(scope, window, environment, "week")
        restore = time_to_restore_hours(scope, window, "week")
    return _trend(window, tallies, lead, restore)


def dashboard(
    scope: Scope, days: int, now: datetime, environment: str | None = None, table: str | None = None
) -> tuple[Metrics, list[dora.WeekPoint]]:
    """``metrics`` over the last ``days`` and its ``weekly_trend``, from one pass per table."""
    environment = environment or conf.production_environment()
    window = Window.last(days, now)
    with analytic_queries():
        tallies = deployment_tallies(scope, window, environment, "week")
        lead = lead_time_hours(scope, window, environment, "week", total=True)
        restore = time_to_restore_hours(scope, window, "week", total=True)
    return _metrics(window, tallies, lead, restore, table), _trend(window, tallies, lead, restore)


def _figures_by(
    group: str, window: Window, environment: str | None, refs: list[str] | None
) -> dict[str, dict[str, float | None]]:
    environment = environment or conf.production_environment()
    scope = Scope()
    with analytic_queries():
        tallies = deployment_tallies(scope, window, environment, group, refs)
        lead = lead_time_hours(scope, window, environment, group, refs=refs)
        restore = time_to_restore_hours(scope, window, group, refs=refs)
    weeks = window.days / 7
    return {
        key: {
            "deployment_frequency_per_week": tallies.get(key, Tally()).deployments / weeks,
            "lead_time_hours": lead.get(key),
            "change_failure_rate": tallies.get(key, Tally()).change_failure_rate,
            "time_to_restore_hours": restore.get(key),
        }
        for key in set(tallies) | set(lead) | set(restore)
    }


def figures_by_entity(
    refs: list[str] | None, days: int, now: datetime, environment: str | None = None
) -> dict[str, dict[str, float | None]]:
    """The figures scorecard checks read, for each entity with events (``refs=None``: every entity).

    Entities without deployments in the window are left out: their deployment frequency is 0
    and every other figure is None (see ``no_figures``).
    """
    if refs is not None and not refs:
        return {}
    return _figures_by("entity", Window.last(days, now), environment, refs)


def figures_by_owner(window: Window, environment: str | None = None) -> dict[str, dict[str, float | None]]:
    """The four figures of each owning group with events in the window (its entities', as Scope("group"))."""
    return _figures_by("owner", window, environment, None)


def no_figures() -> dict[str, float | None]:
    return {
        "deployment_frequency_per_week": 0.0,
        "lead_time_hours": None,
        "change_failure_rate": None,
        "time_to_restore_hours": None,
    }
