"""Per-group quota policy and time-to-live (TTL) helpers for self-service provisioning.

Plain Python, no Django. The Django layer stores policies (e.g. as JSON in a model), loads the
group's current claims, and calls :func:`check_request` before committing a claim.

Public API
----------
TTL
    ``parse_ttl(text, *, max_ttl=None) -> timedelta``      ``"72h"``, ``"3d"``, ``"1d12h"``, ``"2w"``, ``"90m"``
    ``format_ttl(ttl) -> str``                              the inverse, largest units first
    ``expires_at(requested_at, ttl) -> datetime``           ``ttl`` is a string or a timedelta
    ``Lease(requested_at, ttl)``                            ``.expires_at``, ``.is_expired(now)``,
                                                            ``.expiring_soon(now, within=24h)``
    ``is_expired(expires_at, now)``, ``expiring_soon(expires_at, now, within=24h)``

Quotas
    ``QuotaPolicy``          one group's limits (all optional; ``None`` means unlimited)
    ``policy_from_dict(data) -> QuotaPolicy``               from stored JSON, with clear errors
    ``ExistingClaim``, ``Usage``                            what the group already holds
    ``QuotaRequest``                                        what is being asked for
    ``check_request(policy, current_usage, request) -> list[QuotaViolation]``

Errors: :class:`TTLError` (a bad TTL string) and :class:`PolicyError` (a malformed policy), both
subclasses of ``ValueError`` with a message fit to show to a user.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any

__all__ = [
    "DEFAULT_EXPIRY_WARNING",
    "RESOURCE_TYPE_LABELS",
    "ExistingClaim",
    "Lease",
    "PolicyError",
    "QuotaPolicy",
    "QuotaRequest",
    "QuotaViolation",
    "TTLError",
    "Usage",
    "check_request",
    "expires_at",
    "expiring_soon",
    "format_ttl",
    "is_expired",
    "parse_ttl",
    "policy_from_dict",
]

DEFAULT_EXPIRY_WARNING = timedelta(hours=24)

# Plural labels used in quota messages ("Quota 'preview environments' for group team-a: ...").
RESOURCE_TYPE_LABELS: Mapping[str, str] = {
    "database": "databases",
    "cache": "caches",
    "preview-environment": "preview environments",
    "namespace": "namespaces",
}


# --------------------------------------------------------------------------------------------- TTL


class TTLError(ValueError):
    """A TTL string that cannot be used; the message says why."""


_TTL_UNITS: Mapping[str, timedelta] = {
    "w": timedelta(weeks=1),
    "d": timedelta(days=1),
    "h": timedelta(hours=1),
    "m": timedelta(minutes=1),
}
_TTL_UNIT_ORDER = "wdhm"
# Up to 5 digits per part keeps every value far from timedelta's overflow.
_TTL_PART = re.compile(r"([0-9]{1,5})([wdhm])")
_TTL_SHAPE = re.compile(r"(?:[0-9]{1,5}[wdhm]){1,4}")
TTL_HELP = "a duration such as 90m, 72h, 3d, 1d12h or 2w (units: w, d, h, m)"


def parse_ttl(text: str, *, max_ttl: timedelta | None = None) -> timedelta:
    """Parse a TTL such as ``72h`` or ``3d`` into a positive timedelta.

    Units are weeks, days, hours and minutes, each used at most once, largest first
    (``1d12h``). Raises :class:`TTLError` for anything else, for zero, and for a TTL longer
    than ``max_ttl`` when given.
    """
    if not isinstance(text, str):
        raise TTLError(f"TTL must be a string, not {type(text).__name__}")
    candidate = text.lower()
    if not _TTL_SHAPE.fullmatch(candidate):
        raise TTLError(f"TTL {_short(text)} is not valid: expected {TTL_HELP}")
    parts = _TTL_PART.findall(candidate)
    units = [unit for _, unit in parts]
    positions = [_TTL_UNIT_ORDER.index(unit) for unit in units]
    if positions != sorted(set(positions)):
        raise TTLError(f"TTL {_short(text)} is not valid: use each unit once, largest first (e.g. 1d12h)")
    ttl = sum((int(number) * _TTL_UNITS[unit] for number, unit in parts), timedelta())
    if ttl <= timedelta():
        raise TTLError(f"TTL {_short(text)} must be longer than zero")
    if max_ttl is not None and ttl > max_ttl:
        raise TTLError(f"TTL {_short(text)} is longer than the maximum of {format_ttl(max_ttl)}")
    return ttl


def format_ttl(ttl: timedelta) -> str:
    """Render a timedelta as a TTL string (``timedelta(days=1, hours=12)`` -> ``1d12h``)."""
    total_minutes = int(ttl.total_seconds() // 60)
    if total_minutes <= 0:
        return "0m"
    parts = []
    for unit in _TTL_UNIT_ORDER:
        unit_minutes = int(_TTL_UNITS[unit].total_seconds() // 60)
        count, total_minutes = divmod(total_minutes, unit_minutes)
        if count:
            parts.append(f"{count}{unit}")
    return "".join(parts)


def _as_ttl(ttl: str | timedelta) -> timedelta:
    if isinstance(ttl, timedelta):
        if ttl <= timedelta():
            raise TTLError("TTL must be longer than zero")
        return ttl
    return parse_ttl(ttl)


def _require_aware(value: datetime, name: str) -> None:
    if not isinstance(value, datetime):
        raise TypeError(f"{name} must be a datetime, not {type(value).__name__}")
    if value.tzinfo is None or value.utcoffset() is None:
        # Naive datetimes would compare wrongly against the database's aware timestamps.
        raise ValueError(f"{name} must be timezone-aware")


def expires_at(requested_at: datetime, ttl: str | timedelta) -> datetime:
    """When a claim requested at ``requested_at`` with this TTL expires (timezone-aware)."""
    _require_aware(requested_at, "requested_at")
    return requested_at + _as_ttl(ttl)


def is_expired(expiry: datetime, now: datetime) -> bool:
    """True once ``now`` has reached the expiry time."""
    _require_aware(expiry, "expires_at")
    _require_aware(now, "now")
    return now >= expiry


def expiring_soon(expiry: datetime, now: datetime, within: timedelta = DEFAULT_EXPIRY_WARNING) -> bool:
    """True when not yet expired but due to expire within ``within`` of ``now``."""
    _require_aware(expiry, "expires_at")
    _require_aware(now, "now")
    return now < expiry <= now + within


@dataclass(frozen=True)
class Lease:
    """A claim's lifetime: ``Lease(requested_at, "72h").expiring_soon(now)``."""

    requested_at: datetime
    ttl: timedelta

    def __init__(self, requested_at: datetime, ttl: str | timedelta) -> None:
        _require_aware(requested_at, "requested_at")
        object.__setattr__(self, "requested_at", requested_at)
        object.__setattr__(self, "ttl", _as_ttl(ttl))

    @property
    def expires_at(self) -> datetime:
        return self.requested_at + self.ttl

    def is_expired(self, now: datetime) -> bool:
        return is_expired(self.expires_at, now)

    def expiring_soon(self, now: datetime, within: timedelta = DEFAULT_EXPIRY_WARNING) -> bool:
        return expiring_soon(self.expires_at, now, within)

    def remaining(self, now: datetime) -> timedelta:
        """Time left, never negative."""
        _require_aware(now, "now")
        return max(self.expires_at - now, timedelta())


# ------------------------------------------------------------------------------------------ quotas


class PolicyError(ValueError):
    """A quota policy that cannot be used (bad limit, bad regex, unknown key)."""


_MAX_NAME_PATTERN_LENGTH = 200


@dataclass(frozen=True)
class QuotaPolicy:
    """One group's provisioning limits. Every limit is optional: ``None`` or absent means no limit.

    ``max_count_by_offering``      offering key -> most claims of that offering at once
    ``max_count_by_resource_type`` resource type (database, cache, ...) -> most claims at once
    ``max_monthly_cost``           most total estimated monthly cost across the group's claims
    ``allowed_tiers``              tiers the group may request (claims without a tier pass)
    ``name_pattern``               regex a claim name must match in full (e.g. ``team-a-.+``)
    ``name_rule_help``             human wording of the rule, shown instead of the regex
    ``max_ttl``                    longest TTL the group may request
    """

    group: str
    max_count_by_offering: Mapping[str, int] = field(default_factory=dict)
    max_count_by_resource_type: Mapping[str, int] = field(default_factory=dict)
    max_monthly_cost: Decimal | None = None
    allowed_tiers: frozenset[str] | None = None
    name_pattern: str | None = None
    name_rule_help: str | None = None
    max_ttl: timedelta | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.group, str) or not self.group:
            raise PolicyError("quota policy needs a group name")
        for label, limits in (
            ("max_count_by_offering", self.max_count_by_offering),
            ("max_count_by_resource_type", self.max_count_by_resource_type),
        ):
            for key, limit in limits.items():
                if not isinstance(key, str) or isinstance(limit, bool) or not isinstance(limit, int):
                    raise PolicyError(f"{label}: {key!r} must map to a whole number, got {limit!r}")
                if limit < 0:
                    raise PolicyError(f"{label}: limit for {key!r} must not be negative")
        if self.max_monthly_cost is not None:
            if not isinstance(self.max_monthly_cost, Decimal) or not self.max_monthly_cost.is_finite():
                raise PolicyError("max_monthly_cost must be a finite Decimal")
            if self.max_monthly_cost < 0:
                raise PolicyError("max_monthly_cost must not be negative")
        if self.allowed_tiers is not None:
            object.__setattr__(self, "allowed_tiers", frozenset(self.allowed_tiers))
        if self.name_pattern is not None:
            if len(self.name_pattern) > _MAX_NAME_PATTERN_LENGTH:
                raise PolicyError(f"name_pattern is longer than {_MAX_NAME_PATTERN_LENGTH} characters")
            try:
                re.compile(self.name_pattern)
            except re.error as exc:
                raise PolicyError(f"name_pattern is not a valid regular expression: {exc}")
        if self.max_ttl is not None and (
            not isinstance(self.max_ttl, timedelta) or self.max_ttl <= timedelta()
        ):
            raise PolicyError("max_ttl must be a positive duration")


def policy_from_dict(data: Mapping[str, Any]) -> QuotaPolicy:
    """Build a policy from stored data (JSON-like), e.g.::

        {"group": "team-a", "max_count_by_resource_type": {"preview-environment": 3},
         "max_monthly_cost": "1000", "allowed_tiers": ["internal", "standard"],
         "name_pattern": "team-a-[a-z0-9-]+", "max_ttl": "7d"}
    """
    if not isinstance(data, Mapping):
        raise PolicyError("quota policy must be a mapping")
    known = {
        "group", "max_count_by_offering", "max_count_by_resource_type", "max_monthly_cost",
        "allowed_tiers", "name_pattern", "name_rule_help", "max_ttl",
    }
    unknown = sorted(str(key) for key in data if key not in known)
    if unknown:
        raise PolicyError(f"unknown quota policy field(s): {', '.join(unknown)}")
    cost = data.get("max_monthly_cost")
    if cost is not None:
        try:
            cost = Decimal(str(cost))
        except InvalidOperation:
            raise PolicyError(f"max_monthly_cost {_short(cost)} is not a number")
    ttl = data.get("max_ttl")
    if ttl is not None:
        try:
            ttl = parse_ttl(ttl)
        except TTLError as exc:
            raise PolicyError(f"max_ttl: {exc}")
    tiers = data.get("allowed_tiers")
    if tiers is not None:
        if isinstance(tiers, str) or not all(isinstance(tier, str) for tier in tiers):
            raise PolicyError("allowed_tiers must be a list of tier names")
        tiers = frozenset(tiers)
    for key in ("max_count_by_offering", "max_count_by_resource_type"):
        if not isinstance(data.get(key, {}), Mapping):
            raise PolicyError(f"{key} must be a mapping")
    return QuotaPolicy(
        group=data.get("group", ""),
        max_count_by_offering=dict(data.get("max_count_by_offering", {})),
        max_count_by_resource_type=dict(data.get("max_count_by_resource_type", {})),
        max_monthly_cost=cost,
        allowed_tiers=tiers,
        name_pattern=data.get("name_pattern"),
        name_rule_help=data.get("name_rule_help"),
        max_ttl=ttl,
    )


@dataclass(frozen=True)
class ExistingClaim:
    """A claim the group already holds (from the database or the catalog)."""

    offering: str
    resource_type: str
    name: str
    monthly_cost: Decimal = Decimal("0")


@dataclass(frozen=True)
class Usage:
    """Everything a group currently holds."""

    claims: Sequence[ExistingClaim] = ()

    def count_offering(self, offering: str) -> int:
        return sum(1 for claim in self.claims if claim.offering == offering)

    def count_resource_type(self, resource_type: str) -> int:
        return sum(1 for claim in self.claims if claim.resource_type == resource_type)

    @property
    def monthly_cost(self) -> Decimal:
        return sum((claim.monthly_cost for claim in self.claims), Decimal("0"))


@dataclass(frozen=True)
class QuotaRequest:
    """A claim being asked for, as far as quotas care."""

    offering: str
    resource_type: str
    name: str
    estimated_monthly_cost: Decimal
    currency: str
    tier: str | None = None
    ttl: timedelta | None = None
    offering_title: str | None = None


@dataclass(frozen=True)
class QuotaViolation:
    """One broken rule. ``code`` is stable for programs; ``message`` is for people."""

    code: str
    quota: str
    group: str
    limit: Any
    current: Any
    message: str


def check_request(policy: QuotaPolicy, current_usage: Usage, request: QuotaRequest) -> list[QuotaViolation]:
    """Every quota the request would break, in a stable order (empty list: allowed).

    Counts are checked as "already in use + 1 <= limit"; the cost as "current + estimate <= limit".
    A claim name already held by the group is refused too, because the catalog entity ref
    (``resource:<team>/<name>``) must stay unique.
    """
    group = policy.group
    violations: list[QuotaViolation] = []

    if any(claim.name == request.name for claim in current_usage.claims):
        violations.append(
            QuotaViolation(
                code="name-in-use", quota="unique names", group=group, limit=1, current=1,
                message=f"Name '{request.name}' is already used by another claim of group {group}",
            )
        )

    limit = policy.max_count_by_offering.get(request.offering)
    if limit is not None:
        in_use = current_usage.count_offering(request.offering)
        if in_use + 1 > limit:
            label = request.offering_title or request.offering
            violations.append(_count_violation(f"count:offering:{request.offering}", label, group, limit, in_use))

    limit = policy.max_count_by_resource_type.get(request.resource_type)
    if limit is not None:
        in_use = current_usage.count_resource_type(request.resource_type)
        if in_use + 1 > limit:
            label = RESOURCE_TYPE_LABELS.get(request.resource_type, request.resource_type)
            violations.append(
                _count_violation(f"count:resource-type:{request.resource_type}", label, group, limit, in_use)
            )

    if policy.max_monthly_cost is not None:
        in_use_cost = current_usage.monthly_cost
        if in_use_cost + request.estimated_monthly_cost > policy.max_monthly_cost:
            currency = request.currency
            violations.append(
                QuotaViolation(
                    code="monthly-cost", quota="monthly cost", group=group,
                    limit=policy.max_monthly_cost, current=in_use_cost,
                    message=(
                        f"Quota 'monthly cost' for group {group}: {_money(in_use_cost)} of "
                        f"{_money(policy.max_monthly_cost)} {currency} in use; this request would add "
                        f"{_money(request.estimated_monthly_cost)} {currency}"
                    ),
                )
            )

    if policy.allowed_tiers is not None and request.tier is not None and request.tier not in policy.allowed_tiers:
        allowed = ", ".join(sorted(policy.allowed_tiers)) or "none"
        violations.append(
            QuotaViolation(
                code="tier", quota="allowed tiers", group=group,
                limit=sorted(policy.allowed_tiers), current=request.tier,
                message=f"Tier '{request.tier}' is not allowed for group {group} (allowed: {allowed})",
            )
        )

    if policy.name_pattern is not None and not re.fullmatch(policy.name_pattern, request.name):
        rule = policy.name_rule_help or f"must match {policy.name_pattern}"
        violations.append(
            QuotaViolation(
                code="naming", quota="naming rule", group=group,
                limit=policy.name_pattern, current=request.name,
                message=f"Name '{request.name}' breaks the naming rule of group {group}: {rule}",
            )
        )

    if policy.max_ttl is not None and request.ttl is not None and request.ttl > policy.max_ttl:
        violations.append(
            QuotaViolation(
                code="ttl", quota="maximum TTL", group=group,
                limit=policy.max_ttl, current=request.ttl,
                message=(
                    f"Quota 'maximum TTL' for group {group}: {format_ttl(request.ttl)} requested, "
                    f"at most {format_ttl(policy.max_ttl)} allowed"
                ),
            )
        )
    return violations


def _count_violation(code: str, label: str, group: str, limit: int, in_use: int) -> QuotaViolation:
    return QuotaViolation(
        code=code, quota=label, group=group, limit=limit, current=in_use,
        message=f"Quota '{label}' for group {group}: {in_use} of {limit} in use",
    )


def _money(amount: Decimal) -> str:
    return f"{amount.quantize(Decimal('0.01')):f}"


def _short(value: object, limit: int = 60) -> str:
    """repr() of a user value, cut so hostile input cannot flood a message."""
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."
