"""DORA Four Keys: event records, the arithmetic, and the performance-level tables.

The production dashboards compute the figures in the database; this module is the
reference implementation those queries are tested against, the place where the
rules are written down, and the tool for small in-memory computations.

Events (frozen dataclasses, timezone-aware datetimes only)
---------------------------------------------------------
``Deployment(external_id, entity_ref, environment, finished_at, status, commit_shas)``
``Change(sha, entity_ref, committed_at)``
``Incident(external_id, entity_ref, opened_at, resolved_at, caused_by_sha, caused_by_deployment)``
``parse_event(kind, payload) -> Deployment | Change | Incident`` validates a REST API
payload strictly (required fields, no unknown fields, ISO 8601 date-times with an
offset, converted to UTC; a status from ``DEPLOYMENT_STATUSES``; lists of strings)
and raises ``EventError(field, message)`` naming the bad field, e.g. ``commit_shas[2]``.

Definitions (after Google's Four Keys project, dora-team/fourkeys, METRICS.md)
------------------------------------------------------------------------------
A *window* is the half-open interval ``[start, end)``. Only deployments with status
``success`` to the production environment (compared case-insensitively) count.
Callers scope events to an entity, system or team before calling.

* **Deployment frequency**: ``count`` of deployments finished in the window and
  ``per_week = count / (window days / 7)``. The *bucket* follows Four Keys: the window
  is cut into whole 7-day weeks counted back from ``end`` (a partial oldest week is
  left out, since it cannot hold 7 deploy days); a *deploy day* is a 24-hour slot
  counted back from ``end`` (pass a midnight ``end`` to get calendar days). Then

  - ``daily``   when the median over weeks of deploy days per week is >= 3;
  - ``weekly``  when the median over weeks of "the week had a deploy" (1 or 0) is >= 1,
    i.e. most weeks have a deploy. Note this is Four Keys' ``week_deployed`` flag,
    not the median of deploy days: weeks with 0, 0, 2, 2 deploy days have a median
    of 1 day but a flag median of 0.5, so they are not weekly;
  - ``monthly`` when the median over weeks of "weeks with a deploy in that week's
    month" is >= 1 (months are the UTC calendar month of a week's first day);
  - ``yearly``  otherwise.

  Medians interpolate between the two middle values (SQL ``PERCENTILE_CONT(0.5)``).
* **Lead time for changes**: the median, over (deployment, commit sha) pairs, of the
  deployment's ``finished_at`` minus the change's ``committed_at``, in hours. Pairs
  with a non-positive difference (a change recorded as committed after the deploy)
  are ignored, as Four Keys does. Shas with no recorded change are skipped.
* **Change failure rate**: deployments linked to an incident divided by deployments.
  An incident links to a deployment by ``caused_by_deployment`` (the deployment's
  external id) or by ``caused_by_sha`` (one of the deployment's commit shas).
  Incidents without a cause link to nothing. No deployments: ``None``.
* **Time to restore**: the median of ``resolved_at - opened_at`` in hours over the
  incidents opened in the window and resolved (at any time). Unresolved incidents
  are left out.

Figures with no data are ``None``, never 0 (except deployment counts).

Performance levels
------------------
``PERFORMANCE_TABLES`` holds the DORA report clusters by report year (``"2023"``,
the default, ``"2022"`` and ``"2021"``) as numeric bands per figure;
``level_for(figure, value, table="2023")`` returns ``elite``/``high``/``medium``/``low``
(2022 has no elite cluster). ``frequency_bucket`` and ``bucket_for_median_days``
expose the Four Keys bucket rule for the SQL path to reuse.
"""

from __future__ import annotations

import math
import statistics
from collections import Counter
from collections.abc import Callable, Hashable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

DORA_FIGURES = (
    "deployment_frequency_per_week",
    "lead_time_hours",
    "change_failure_rate",
    "time_to_restore_hours",
)
DEPLOYMENT_STATUSES = ("success", "failure", "cancelled")
SUCCESS = "success"
PRODUCTION = "production"
EVENT_KINDS = ("deployment", "change", "incident")
FREQUENCY_BUCKETS = ("daily", "weekly", "monthly", "yearly")

DAY = timedelta(days=1)
WEEK = timedelta(days=7)
MAX_WINDOW_DAYS = 3_660


class DoraError(ValueError):
    """Bad input to a DORA computation (naive datetime, unknown table, ...)."""


class EventError(DoraError):
    """A REST API event payload is invalid; ``field`` names the offending field."""

    def __init__(self, field: str, message: str):
        self.field = field
        self.message = message
        super().__init__(f"{field}: {message}")


def _require_aware(name: str, value: Any, *, optional: bool = False) -> None:
    if value is None and optional:
        return
    if not isinstance(value, datetime):
        raise DoraError(f"{name} must be a datetime")
    if value.tzinfo is None or value.utcoffset() is None:
        raise DoraError(f"{name} must be timezone-aware")


@dataclass(frozen=True)
class Deployment:
    external_id: str
    entity_ref: str
    environment: str
    finished_at: datetime
    status: str
    commit_shas: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        _require_aware("finished_at", self.finished_at)
        object.__setattr__(self, "commit_shas", tuple(self.commit_shas))


@dataclass(frozen=True)
class Change:
    sha: str
    entity_ref: str
    committed_at: datetime

    def __post_init__(self) -> None:
        _require_aware("committed_at", self.committed_at)


@dataclass(frozen=True)
class Incident:
    external_id: str
    entity_ref: str
    opened_at: datetime
    resolved_at: datetime | None = None
    caused_by_sha: str | None = None
    caused_by_deployment: str | None = None

    def __post_init__(self) -> None:
        _require_aware("opened_at", self.opened_at)
        _require_aware("resolved_at", self.resolved_at, optional=True)


# ---------------------------------------------------------------- small helpers


def median(values: Iterable[float]) -> float | None:
    """Median with interpolation between the middle pair (PERCENTILE_CONT 0.5); None if empty."""
    items = sorted(values)
    if not items:
        return None
    return float(statistics.median(items))


def check_window(start: datetime, end: datetime) -> None:
    """Raise DoraError unless ``start < end`` and both are timezone-aware."""
    _require_aware("start", start)
    _require_aware("end", end)
    if not start < end:
        raise DoraError("the window's start must be before its end")


def in_window(moment: datetime, start: datetime, end: datetime) -> bool:
    return start <= moment < end


def production_deployments(
    deployments: Iterable[Deployment], start: datetime, end: datetime, environment: str = PRODUCTION
) -> list[Deployment]:
    """Successful deployments to ``environment`` finished in ``[start, end)``."""
    check_window(start, end)
    wanted = environment.casefold()
    return [
        deployment
        for deployment in deployments
        if deployment.status == SUCCESS
        and deployment.environment.casefold() == wanted
        and in_window(deployment.finished_at, start, end)
    ]


def _hours(delta: timedelta) -> float:
    return delta.total_seconds() / 3600


# ---------------------------------------------------------------- deployment frequency


def full_week_starts(start: datetime, end: datetime) -> list[datetime]:
    """Starts of the whole 7-day weeks that fit in the window, counted back from ``end``, oldest first."""
    check_window(start, end)
    end = end.astimezone(UTC)  # plain 7-day steps, whatever daylight saving does locally
    count = (end - start) // WEEK
    return [end - WEEK * (count - index) for index in range(count)]


def _day_slot_back(moment: datetime, end: datetime) -> int:
    """Index of the 24-hour slot ``[end - (k+1) days, end - k days)`` holding ``moment``."""
    return -((moment - end) // DAY) - 1


def days_with_deploy_per_week(finished_times: Iterable[datetime], start: datetime, end: datetime) -> list[int]:
    """Distinct deploy days in each whole week of the window (oldest week first)."""
    week_count = len(full_week_starts(start, end))
    days_by_week: list[set[int]] = [set() for _ in range(week_count)]
    for moment in finished_times:
        if not in_window(moment, start, end):
            continue
        day_index = _day_slot_back(moment, end)
        week_index = day_index // 7
        if week_index < week_count:
            days_by_week[week_index].add(day_index)
    return [len(days) for days in reversed(days_by_week)]


def bucket_for_median_days(
    median_days_per_week: float, median_week_deployed: float, median_deployed_weeks_per_month: float
) -> str:
    """The Four Keys bucket from its three medians (see the module docstring)."""
    if median_days_per_week >= 3:
        return "daily"
    if median_week_deployed >= 1:
        return "weekly"
    if median_deployed_weeks_per_month >= 1:
        return "monthly"
    return "yearly"


def frequency_bucket(
    days_with_deploy_per_week: Sequence[int], month_of_week: Sequence[Hashable] | None = None
) -> str | None:
    """Classify deploy days per week (oldest first) as daily/weekly/monthly/yearly; None if no weeks.

    ``month_of_week`` labels each week with its month (any hashable, e.g. ``(2024, 5)``);
    without it, every 4 consecutive weeks from the first count as one month.
    """
    days = list(days_with_deploy_per_week)
    for index, value in enumerate(days):
        if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= 7:
            raise DoraError(f"days_with_deploy_per_week[{index}] must be a whole number from 0 to 7")
    if not days:
        return None
    months = list(month_of_week) if month_of_week is not None else [index // 4 for index in range(len(days))]
    if len(months) != len(days):
        raise DoraError("month_of_week must label every week")
    deployed = [1 if value else 0 for value in days]
    deployed_weeks_by_month: Counter[Hashable] = Counter()
    for month, flag in zip(months, deployed, strict=True):
        deployed_weeks_by_month[month] += flag
    # As in Four Keys, the month total is repeated on each of the month's week rows.
    per_week_month_totals = [deployed_weeks_by_month[month] for month in months]
    return bucket_for_median_days(median(days) or 0.0, median(deployed) or 0.0, median(per_week_month_totals) or 0.0)


@dataclass(frozen=True)
class DeploymentFrequency:
    count: int
    per_week: float
    days_with_deploy_per_week: list[int]
    bucket: str | None


def deployment_frequency(
    deployments: Iterable[Deployment], start: datetime, end: datetime, environment: str = PRODUCTION
) -> DeploymentFrequency:
    counted = production_deployments(deployments, start, end, environment)
    days = days_with_deploy_per_week([d.finished_at for d in counted], start, end)
    months = [(week.astimezone(UTC).year, week.astimezone(UTC).month) for week in full_week_starts(start, end)]
    window_days = (end - start) / DAY
    return DeploymentFrequency(
        count=len(counted),
        per_week=len(counted) / (window_days / 7),
        days_with_deploy_per_week=days,
        bucket=frequency_bucket(days, months),
    )


# ---------------------------------------------------------------- lead time


def lead_time_samples_hours(
    deployments: Iterable[Deployment],
    changes: Iterable[Change],
    start: datetime,
    end: datetime,
    environment: str = PRODUCTION,
) -> list[float]:
    """Positive commit-to-deploy durations, one per (deployment, sha) pair, in hours."""
    committed_at: dict[str, datetime] = {}
    for change in changes:
        known = committed_at.get(change.sha)
        if known is None or change.committed_at < known:
            committed_at[change.sha] = change.committed_at
    samples: list[float] = []
    for deployment in production_deployments(deployments, start, end, environment):
        for sha in dict.fromkeys(deployment.commit_shas):  # a sha listed twice is one pair
            if sha in committed_at:
                hours = _hours(deployment.finished_at - committed_at[sha])
                if hours > 0:
                    samples.append(hours)
    return samples


def lead_time_hours(
    deployments: Iterable[Deployment],
    changes: Iterable[Change],
    start: datetime,
    end: datetime,
    environment: str = PRODUCTION,
) -> float | None:
    return median(lead_time_samples_hours(deployments, changes, start, end, environment))


# ---------------------------------------------------------------- change failure rate


def failed_deployment_ids(deployments: Iterable[Deployment], incidents: Iterable[Incident]) -> set[str]:
    """External ids of the deployments that an incident names as its cause."""
    by_deployment: set[str] = set()
    by_sha: set[str] = set()
    for incident in incidents:
        if incident.caused_by_deployment:
            by_deployment.add(incident.caused_by_deployment)
        if incident.caused_by_sha:
            by_sha.add(incident.caused_by_sha)
    return {
        deployment.external_id
        for deployment in deployments
        if deployment.external_id in by_deployment or not by_sha.isdisjoint(deployment.commit_shas)
    }


def change_failure_rate(
    deployments: Iterable[Deployment],
    incidents: Iterable[Incident],
    start: datetime,
    end: datetime,
    environment: str = PRODUCTION,
) -> float | None:
    counted = production_deployments(deployments, start, end, environment)
    if not counted:
        return None
    failed = failed_deployment_ids(counted, incidents)
    return sum(1 for deployment in counted if deployment.external_id in failed) / len(counted)


# ---------------------------------------------------------------- time to restore


def restore_samples_hours(incidents: Iterable[Incident], start: datetime, end: datetime) -> list[float]:
    """Durations in hours of the incidents opened in the window and resolved."""
    check_window(start, end)
    return [
        _hours(incident.resolved_at - incident.opened_at)
        for incident in incidents
        if incident.resolved_at is not None
        and incident.resolved_at >= incident.opened_at
        and in_window(incident.opened_at, start, end)
    ]


def time_to_restore_hours(incidents: Iterable[Incident], start: datetime, end: datetime) -> float | None:
    return median(restore_samples_hours(incidents, start, end))


# ---------------------------------------------------------------- all four, and trends


@dataclass(frozen=True)
class FourKeys:
    deployment_frequency: DeploymentFrequency
    lead_time_hours: float | None
    change_failure_rate: float | None
    time_to_restore_hours: float | None

    def figures(self) -> dict[str, float | None]:
        """The figures keyed as in ``DORA_FIGURES`` (what scorecard checks read)."""
        return {
            "deployment_frequency_per_week": self.deployment_frequency.per_week,
            "lead_time_hours": self.lead_time_hours,
            "change_failure_rate": self.change_failure_rate,
            "time_to_restore_hours": self.time_to_restore_hours,
        }

    def levels(self, table: str = "2023") -> dict[str, str | None]:
        return {name: level_for(name, value, table) for name, value in self.figures().items()}


def four_keys(
    deployments: Iterable[Deployment],
    changes: Iterable[Change],
    incidents: Iterable[Incident],
    start: datetime,
    end: datetime,
    environment: str = PRODUCTION,
) -> FourKeys:
    deployments, changes, incidents = list(deployments), list(changes), list(incidents)
    return FourKeys(
        deployment_frequency=deployment_frequency(deployments, start, end, environment),
        lead_time_hours=lead_time_hours(deployments, changes, start, end, environment),
        change_failure_rate=change_failure_rate(deployments, incidents, start, end, environment),
        time_to_restore_hours=time_to_restore_hours(incidents, start, end),
    )


@dataclass(frozen=True)
class WeekPoint:
    """One week of a trend chart; ``partial`` when the week was cut by the window's start."""

    start: datetime
    end: datetime
    partial: bool
    deployments: int
    days_with_deploy: int
    lead_time_hours: float | None
    change_failure_rate: float | None
    time_to_restore_hours: float | None


def weekly_trend(
    events: Iterable[Deployment | Change | Incident],
    window_days: int,
    now: datetime,
    environment: str = PRODUCTION,
) -> list[WeekPoint]:
    """Per-week figures over the ``window_days`` before ``now``, oldest week first.

    Weeks are 7-day slots counted back from ``now``; when ``window_days`` is not a
    multiple of 7 the oldest week is shorter and marked ``partial``. Incidents count
    towards the change failure rate of whichever week their deployment is in.
    """
    if isinstance(window_days, bool) or not isinstance(window_days, int) or not 1 <= window_days <= MAX_WINDOW_DAYS:
        raise DoraError(f"window_days must be a whole number from 1 to {MAX_WINDOW_DAYS}")
    _require_aware("now", now)
    now = now.astimezone(UTC)
    deployments: list[Deployment] = []
    changes: list[Change] = []
    incidents: list[Incident] = []
    for event in events:
        if isinstance(event, Deployment):
            deployments.append(event)
        elif isinstance(event, Change):
            changes.append(event)
        elif isinstance(event, Incident):
            incidents.append(event)
        else:
            raise DoraError(f"unexpected event of type {type(event).__name__}")
    window_start = now - timedelta(days=window_days)
    points: list[WeekPoint] = []
    week_end = now
    while week_end > window_start:
        week_start = max(week_end - WEEK, window_start)
        counted = production_deployments(deployments, week_start, week_end, environment)
        days = {_day_slot_back(d.finished_at, week_end) for d in counted}
        points.append(
            WeekPoint(
                start=week_start,
                end=week_end,
                partial=week_end - week_start < WEEK,
                deployments=len(counted),
                days_with_deploy=len(days),
                lead_time_hours=lead_time_hours(counted, changes, week_start, week_end, environment),
                change_failure_rate=change_failure_rate(counted, incidents, week_start, week_end, environment),
                time_to_restore_hours=time_to_restore_hours(incidents, week_start, week_end),
            )
        )
        week_end = week_start
    points.reverse()
    return points


# ---------------------------------------------------------------- performance levels

PERFORMANCE_LEVELS = ("elite", "high", "medium", "low")

# Units: deployments per week; hours; a fraction of deployments.
_ONCE_PER_DAY = 7.0
_ONCE_PER_WEEK = 1.0
_ONCE_PER_MONTH = 7 / 30  # a month is taken as 30 days
_ONCE_PER_SIX_MONTHS = 7 / 180
_HOUR = 1.0
_ONE_DAY = 24.0
_ONE_WEEK = 168.0
_ONE_MONTH = 720.0
_SIX_MONTHS = 4_320.0


@dataclass(frozen=True)
class Band:
    """A value meets the band when ``value <operator> bound`` holds."""

    level: str
    operator: str
    bound: float


@dataclass(frozen=True)
class FigureScale:
    """Bands from best to worst; a value meeting none gets ``otherwise``."""

    bands: tuple[Band, ...]
    otherwise: str


# The reports describe clusters in words ("between one day and one week"), sometimes
# with gaps or overlaps between clusters. We turn each into bands by one rule: a
# level's bound is the slow/poor edge of its published range; values in a gap go to
# the next level down, and a level whose range overlaps the one above is given
# everything worse than that one.
PERFORMANCE_TABLES: Mapping[str, Mapping[str, FigureScale]] = {
    # Accelerate State of DevOps Report 2023 (DORA, Google Cloud), software delivery
    # performance clusters. Deployment frequency: elite on demand (multiple per day),
    # high once per day to once per week, medium and low once per week to once per month.
    # Lead time: elite < one day, high one day to one week, medium and low one week to
    # one month. Change failure rate: elite 5%, high 10%, medium 15%, low 64% (cluster
    # values, used as upper bounds). Failed deployment recovery time: elite < one hour,
    # high < one day, medium one day to one week, low one month to six months.
    "2023": {
        "deployment_frequency_per_week": FigureScale(
            (
                Band("elite", ">=", _ONCE_PER_DAY),
                Band("high", ">=", _ONCE_PER_WEEK),
                Band("medium", ">=", _ONCE_PER_MONTH),
            ),
            "low",
        ),
        "lead_time_hours": FigureScale(
            (Band("elite", "<", _ONE_DAY), Band("high", "<", _ONE_WEEK), Band("medium", "<", _ONE_MONTH)),
            "low",
        ),
        "change_failure_rate": FigureScale(
            (Band("elite", "<=", 0.05), Band("high", "<=", 0.10), Band("medium", "<=", 0.15)), "low"
        ),
        "time_to_restore_hours": FigureScale(
            (Band("elite", "<", _HOUR), Band("high", "<", _ONE_DAY), Band("medium", "<", _ONE_WEEK)), "low"
        ),
    },
    # Accelerate State of DevOps Report 2022: three clusters only, no elite.
    # Deployment frequency: high on demand, medium once per week to once per month, low
    # once per month to once every six months. Lead time: high one day to one week,
    # medium one week to one month, low one month to six months. Time to restore: high
    # < one day, medium one day to one week, low one week to one month. Change failure
    # rate: high 0-15%, medium 16-30%, low 46-60%.
    "2022": {
        "deployment_frequency_per_week": FigureScale(
            (Band("high", ">=", _ONCE_PER_WEEK), Band("medium", ">=", _ONCE_PER_MONTH)), "low"
        ),
        "lead_time_hours": FigureScale((Band("high", "<", _ONE_WEEK), Band("medium", "<", _ONE_MONTH)), "low"),
        "change_failure_rate": FigureScale((Band("high", "<=", 0.15), Band("medium", "<=", 0.30)), "low"),
        "time_to_restore_hours": FigureScale((Band("high", "<", _ONE_DAY), Band("medium", "<", _ONE_WEEK)), "low"),
    },
    # Accelerate State of DevOps Report 2021. Deployment frequency: elite on demand,
    # high once per week to once per month, medium once per month to once every six
    # months, low fewer than once every six months. Lead time: elite < one hour, high
    # one day to one week, medium one month to six months, low > six months. Time to
    # restore: elite < one hour, high < one day, medium one day to one week, low > six
    # months. Change failure rate: elite 0-15%, high, medium and low all 16-30%, so the
    # rate only separates elite, high (up to 30%) and low (beyond every cluster).
    "2021": {
        "deployment_frequency_per_week": FigureScale(
            (
                Band("elite", ">=", _ONCE_PER_DAY),
                Band("high", ">=", _ONCE_PER_MONTH),
                Band("medium", ">=", _ONCE_PER_SIX_MONTHS),
            ),
            "low",
        ),
        "lead_time_hours": FigureScale(
            (Band("elite", "<", _HOUR), Band("high", "<", _ONE_WEEK), Band("medium", "<", _SIX_MONTHS)), "low"
        ),
        "change_failure_rate": FigureScale((Band("elite", "<=", 0.15), Band("high", "<=", 0.30)), "low"),
        "time_to_restore_hours": FigureScale(
            (Band("elite", "<", _HOUR), Band("high", "<", _ONE_DAY), Band("medium", "<", _ONE_WEEK)), "low"
        ),
    },
}
DEFAULT_TABLE = "2023"

_OPERATORS: Mapping[str, Callable[[float, float], bool]] = {
    "<": lambda value, bound: value < bound,
    "<=": lambda value, bound: value <= bound,
    ">": lambda value, bound: value > bound,
    ">=": lambda value, bound: value >= bound,
}


def level_for(metric: str, value: float | None, table: str = DEFAULT_TABLE) -> str | None:
    """The performance level of one figure by a report year's table; None when there is no data."""
    if table not in PERFORMANCE_TABLES:
        raise DoraError(f"unknown performance table {table!r}; known: {', '.join(PERFORMANCE_TABLES)}")
    scales = PERFORMANCE_TABLES[table]
    if metric not in scales:
        raise DoraError(f"unknown DORA figure {metric!r}; known: {', '.join(DORA_FIGURES)}")
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise DoraError(f"{metric} must be a finite number")
    scale = scales[metric]
    for band in scale.bands:
        if _OPERATORS[band.operator](value, band.bound):
            return band.level
    return scale.otherwise


def levels_in_table(table: str = DEFAULT_TABLE) -> tuple[str, ...]:
    """The levels a table can give, best first (2022 has no elite)."""
    if table not in PERFORMANCE_TABLES:
        raise DoraError(f"unknown performance table {table!r}")
    used = {band.level for scale in PERFORMANCE_TABLES[table].values() for band in scale.bands}
    used |= {scale.otherwise for scale in PERFORMANCE_TABLES[table].values()}
    return tuple(level for level in PERFORMANCE_LEVELS if level in used)


# ---------------------------------------------------------------- REST API payloads

MAX_ID_LENGTH = 255
MAX_SHA_LENGTH = 128
MAX_SHAS = 10_000


def _text(name: str, value: Any, max_length: int = MAX_ID_LENGTH) -> str:
    if not isinstance(value, str):
        raise EventError(name, f"must be a string, got {_json_type(value)}")
    text = value.strip()
    if not text:
        raise EventError(name, "must not be empty")
    if len(text) > max_length:
        raise EventError(name, f"must be at most {max_length} characters")
    if any(ord(char) < 32 or ord(char) == 127 for char in text):
        raise EventError(name, "must not contain control characters")
    return text


def _token(name: str, value: Any, max_length: int = MAX_ID_LENGTH) -> str:
    text = _text(name, value, max_length)
    if any(char.isspace() for char in text):
        raise EventError(name, "must not contain spaces")
    return text


def _moment(name: str, value: Any) -> datetime:
    if not isinstance(value, str):
        raise EventError(name, f"must be an ISO 8601 date-time string, got {_json_type(value)}")
    if len(value) > 64:
        raise EventError(name, "is too long for a date-time")
    try:
        parsed = datetime.fromisoformat(value.strip())
    except ValueError:
        raise EventError(name, f"{value!r} is not an ISO 8601 date-time such as 2024-05-01T12:00:00Z")
    if parsed.tzinfo is None or parsed.utcoffset() is None:
        raise EventError(name, "needs a UTC offset (Z or +HH:MM); times without one are ambiguous")
    return parsed.astimezone(UTC)


def _status(name: str, value: Any) -> str:
    if value not in DEPLOYMENT_STATUSES:
        raise EventError(name, "must be one of " + ", ".join(DEPLOYMENT_STATUSES))
    return value


def _shas(name: str, value: Any) -> tuple[str, ...]:
    if not isinstance(value, list):
        raise EventError(name, f"must be a list of commit shas, got {_json_type(value)}")
    if len(value) > MAX_SHAS:
        raise EventError(name, f"must hold at most {MAX_SHAS} shas")
    return tuple(_token(f"{name}[{index}]", sha, MAX_SHA_LENGTH) for index, sha in enumerate(value))


def _json_type(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, (int, float)):
        return "a number"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "an object"
    return "a string" if isinstance(value, str) else type(value).__name__


@dataclass(frozen=True)
class _Field:
    parse: Callable[[str, Any], Any]
    required: bool = True
    nullable: bool = False
    default: Any = None


_PAYLOAD_FIELDS: Mapping[str, Mapping[str, _Field]] = {
    "deployment": {
        "external_id": _Field(_token),
        "entity_ref": _Field(_token),
        "environment": _Field(_token),
        "finished_at": _Field(_moment),
        "status": _Field(_status),
        "commit_shas": _Field(_shas, required=False, default=()),
    },
    "change": {
        "sha": _Field(lambda name, value: _token(name, value, MAX_SHA_LENGTH)),
        "entity_ref": _Field(_token),
        "committed_at": _Field(_moment),
    },
    "incident": {
        "external_id": _Field(_token),
        "entity_ref": _Field(_token),
        "opened_at": _Field(_moment),
        "resolved_at": _Field(_moment, required=False, nullable=True),
        "caused_by_sha": _Field(lambda name, value: _token(name, value, MAX_SHA_LENGTH), False, True),
        "caused_by_deployment": _Field(_token, required=False, nullable=True),
    },
}
_EVENT_CLASSES: Mapping[str, type] = {"deployment": Deployment, "change": Change, "incident": Incident}


def parse_event(kind: str, payload: Any) -> Deployment | Change | Incident:
    """Validate a REST API payload of ``kind`` and build its event; raise EventError naming the field."""
    if kind not in _PAYLOAD_FIELDS:
        raise EventError("kind", "must be one of " + ", ".join(EVENT_KINDS))
    if not isinstance(payload, dict):
        raise EventError("payload", f"must be a JSON object, got {_json_type(payload)}")
    fields = _PAYLOAD_FIELDS[kind]
    for name in payload:
        if name not in fields:
            raise EventError(str(name), f"is not a field of a {kind} (fields: {', '.join(fields)})")
    values: dict[str, Any] = {}
    for name, spec in fields.items():
        if name not in payload:
            if spec.required:
                raise EventError(name, "is required")
            values[name] = spec.default
        elif payload[name] is None:
            if not spec.nullable:
                raise EventError(name, "must not be null" if not spec.required else "is required")
            values[name] = None
        else:
            values[name] = spec.parse(name, payload[name])
    if kind == "incident" and values["resolved_at"] is not None and values["resolved_at"] < values["opened_at"]:
        raise EventError("resolved_at", "is before opened_at")
    return _EVENT_CLASSES[kind](**values)


__all__ = [
    "DEFAULT_TABLE",
    "DEPLOYMENT_STATUSES",
    "DORA_FIGURES",
    "EVENT_KINDS",
    "FREQUENCY_BUCKETS",
    "PERFORMANCE_LEVELS",
    "PERFORMANCE_TABLES",
    "Band",
    "Change",
    "Deployment",
    "DeploymentFrequency",
    "DoraError",
    "EventError",
    "FigureScale",
    "FourKeys",
    "Incident",
    "WeekPoint",
    "bucket_for_median_days",
    "change_failure_rate",
    "check_window",
    "days_with_deploy_per_week",
    "deployment_frequency",
    "failed_deployment_ids",
    "four_keys",
    "frequency_bucket",
    "full_week_starts",
    "in_window",
    "lead_time_hours",
    "lead_time_samples_hours",
    "level_for",
    "levels_in_table",
    "median",
    "parse_event",
    "production_deployments",
    "restore_samples_hours",
    "time_to_restore_hours",
    "weekly_trend",
]
