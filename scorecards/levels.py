"""Scorecard levels: ladders, team roll-ups and initiatives, over rule results.

Terms
-----
*Levels* are names ordered lowest first, e.g. ``["bronze", "silver", "gold"]``.
A *rule* (``Rule``) belongs to one level and has a state:

* ``enabled``       counts now;
* ``disabled``      never counts and is not reported;
* ``enabled_from``  *upcoming* until ``enabled_from``, then counts. A ``date`` means
  from the start of that day in the timezone of ``now``; a ``datetime`` must be
  timezone-aware.

*Results* map rule keys to a result: a ``bool`` or anything with a ``passed``
attribute (such as ``checks.CheckResult``). An active rule with no result has not
been evaluated yet and does not pass.

Public API
----------
``rule_status(rule, now) -> "active" | "upcoming" | "disabled"``
``evaluate_ladder(levels, rules, results, now) -> LadderResult``
    An entity reaches a level when it passes every active rule of that level and
    of every lower level; a level with no active rules is reached when the levels
    below it are. ``LadderResult`` gives the level reached (``None`` for none), the
    next level, the rules blocking it, failing rules per level and the upcoming
    rules (with their current result, so owners can prepare) which never count.
``distribution(levels, reached_per_entity) -> list[(level | None, count)]``
    Entities per level, starting with ``None`` (no level reached), lowest first.
``team_rollup(levels, rules, results_per_entity, now) -> TeamRollup``
    Level counts and the pass rate of each active or upcoming rule.
``initiative_progress(...) -> InitiativeProgress``
    Per-owner progress towards a set of rules and/or a target level by a deadline.

Everything raises ``LevelError`` on inconsistent input (unknown level, duplicate
level or rule key, naive datetime).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, Literal

RULE_STATES = ("enabled", "disabled", "enabled_from")
RuleStatus = Literal["active", "upcoming", "disabled"]


class LevelError(ValueError):
    """Levels, rules or results that do not fit together."""


@dataclass(frozen=True)
class Rule:
    key: str
    level: str
    state: str = "enabled"
    enabled_from: date | datetime | None = None

    def __post_init__(self) -> None:
        if self.state not in RULE_STATES:
            raise LevelError(f"rule {self.key!r}: state must be one of {', '.join(RULE_STATES)}")
        if self.state == "enabled_from":
            if not isinstance(self.enabled_from, (date, datetime)):
                raise LevelError(f"rule {self.key!r}: enabled_from needs a date or datetime")
            if isinstance(self.enabled_from, datetime) and self.enabled_from.utcoffset() is None:
                raise LevelError(f"rule {self.key!r}: enabled_from must be timezone-aware")


def _require_aware(name: str, value: Any) -> None:
    if not isinstance(value, datetime) or value.utcoffset() is None:
        raise LevelError(f"{name} must be a timezone-aware datetime")


def rule_status(rule: Rule, now: datetime) -> RuleStatus:
    _require_aware("now", now)
    if rule.state == "disabled":
        return "disabled"
    if rule.state == "enabled":
        return "active"
    start = rule.enabled_from
    if isinstance(start, datetime):
        return "active" if now >= start else "upcoming"
    assert isinstance(start, date)  # noqa: S101 -- guaranteed by Rule.__post_init__
    return "active" if now.date() >= start else "upcoming"


def passed(result: Any) -> bool:
    """Whether a result (bool, or an object with ``passed``) is a pass; None is not."""
    if isinstance(result, bool):
        return result
    return bool(getattr(result, "passed", False))


def _level_index(levels: Sequence[str]) -> dict[str, int]:
    index: dict[str, int] = {}
    for position, level in enumerate(levels):
        if not isinstance(level, str) or not level:
            raise LevelError("level names must be non-empty strings")
        if level in index:
            raise LevelError(f"level {level!r} is listed twice")
        index[level] = position
    return index


def _check_rules(levels: Mapping[str, int], rules: Sequence[Rule]) -> None:
    seen: set[str] = set()
    for rule in rules:
        if rule.level not in levels:
            raise LevelError(f"rule {rule.key!r} belongs to unknown level {rule.level!r}")
        if rule.key in seen:
            raise LevelError(f"rule key {rule.key!r} is used twice")
        seen.add(rule.key)


@dataclass(frozen=True)
class UpcomingRule:
    key: str
    level: str
    enabled_from: date | datetime
    passed: bool | None  # None when not evaluated yet


@dataclass(frozen=True)
class LadderResult:
    level: str | None
    next_level: str | None
    blocking: list[str]
    failing_by_level: dict[str, list[str]]
    upcoming: list[UpcomingRule] = field(default_factory=list)


def evaluate_ladder(
    levels: Sequence[str], rules: Sequence[Rule], results: Mapping[str, Any], now: datetime
) -> LadderResult:
    index = _level_index(levels)
    _check_rules(index, rules)
    failing_by_level: dict[str, list[str]] = {level: [] for level in levels}
    upcoming: list[UpcomingRule] = []
    for rule in rules:
        status = rule_status(rule, now)
        if status == "active" and not passed(results.get(rule.key)):
            failing_by_level[rule.level].append(rule.key)
        elif status == "upcoming":
            result = results.get(rule.key)
            upcoming.append(
                UpcomingRule(
                    rule.key,
                    rule.level,
                    rule.enabled_from,  # type: ignore[arg-type]
                    None if result is None else passed(result),
                )
            )
    reached: str | None = None
    next_level: str | None = None
    for level in levels:
        if failing_by_level[level]:
            next_level = level
            break
        reached = level
    blocking = list(failing_by_level[next_level]) if next_level else []
    return LadderResult(reached, next_level, blocking, failing_by_level, upcoming)


def distribution(levels: Sequence[str], reached_per_entity: Mapping[str, str | None]) -> list[tuple[str | None, int]]:
    """Count entities per level reached, as ``[(None, n), (lowest, n), ..., (highest, n)]``."""
    index = _level_index(levels)
    counts: dict[str | None, int] = {None: 0, **{level: 0 for level in levels}}
    for entity, level in reached_per_entity.items():
        if level is not None and level not in index:
            raise LevelError(f"entity {entity!r} is at unknown level {level!r}")
        counts[level] += 1
    return list(counts.items())


@dataclass(frozen=True)
class RulePassRate:
    key: str
    level: str
    status: RuleStatus
    passed: int
    evaluated: int
    not_evaluated: int

    @property
    def rate(self) -> float | None:
        """Share of evaluated entities passing; None when none was evaluated."""
        return self.passed / self.evaluated if self.evaluated else None


@dataclass(frozen=True)
class TeamRollup:
    entity_count: int
    reached: dict[str, str | None]
    level_counts: list[tuple[str | None, int]]
    rules: list[RulePassRate]


def team_rollup(
    levels: Sequence[str],
    rules: Sequence[Rule],
    results_per_entity: Mapping[str, Mapping[str, Any]],
    now: datetime,
) -> TeamRollup:
    """Level counts and per-rule pass rates over a team's entities (disabled rules left out)."""
    reached = {
        entity: evaluate_ladder(levels, rules, results, now).level for entity, results in results_per_entity.items()
    }
    rates: list[RulePassRate] = []
    for rule in rules:
        status = rule_status(rule, now)
        if status == "disabled":
            continue
        outcomes = [results[rule.key] for results in results_per_entity.values() if rule.key in results]
        rates.append(
            RulePassRate(
                key=rule.key,
                level=rule.level,
                status=status,
                passed=sum(1 for outcome in outcomes if passed(outcome)),
                evaluated=len(outcomes),
                not_evaluated=len(results_per_entity) - len(outcomes),
            )
        )
    return TeamRollup(len(results_per_entity), reached, distribution(levels, reached), rates)


# ---------------------------------------------------------------- initiatives


@dataclass(frozen=True)
class TeamProgress:
    owner: str
    done: int
    total: int
    entities_not_done: list[str]
    failing_rules: dict[str, int]  # rule key -> entities failing it
    below_target: int  # entities not at the target level (0 without a target level)
    overdue: bool

    @property
    def rate(self) -> float | None:
        return self.done / self.total if self.total else None


@dataclass(frozen=True)
class InitiativeProgress:
    teams: list[TeamProgress]
    done: int
    total: int
    overdue: bool

    @property
    def rate(self) -> float | None:
        return self.done / self.total if self.total else None


def is_past(deadline: date | datetime, now: datetime) -> bool:
    """``now`` is after the deadline; a date deadline lasts until the end of that day."""
    _require_aware("now", now)
    if isinstance(deadline, datetime):
        if deadline.utcoffset() is None:
            raise LevelError("deadline must be timezone-aware")
        return now > deadline
    if isinstance(deadline, date):
        return now.date() > deadline
    raise LevelError("deadline must be a date or datetime")


def initiative_progress(
    *,
    rule_keys: Sequence[str],
    deadline: date | datetime,
    results_by_owner: Mapping[str, Mapping[str, Mapping[str, Any]]],
    now: datetime,
    target_level: str | None = None,
    levels: Sequence[str] = (),
    rules: Sequence[Rule] = (),
) -> InitiativeProgress:
    """Progress of each owner's entities towards an initiative.

    An entity is done when it passes every rule in ``rule_keys`` and, when
    ``target_level`` is given, reaches that level on the ladder made of ``levels``
    and ``rules``. ``results_by_owner`` maps owner ref -> entity ref -> rule key ->
    result. A team is overdue when ``now`` is past the deadline and some of its
    entities are not done; teams come back sorted by owner.
    """
    if not rule_keys and target_level is None:
        raise LevelError("an initiative needs rules, a target level, or both")
    if target_level is not None:
        index = _level_index(levels)
        if target_level not in index:
            raise LevelError(f"target level {target_level!r} is not one of the levels")
        _check_rules(index, rules)
        target_position = index[target_level]
    past_deadline = is_past(deadline, now)
    teams: list[TeamProgress] = []
    for owner in sorted(results_by_owner):
        entities = results_by_owner[owner]
        not_done: list[str] = []
        failing_rules: dict[str, int] = {}
        below_target = 0
        for entity in sorted(entities):
            results = entities[entity]
            failing = {key for key in rule_keys if not passed(results.get(key))}
            short_of_target = False
            if target_level is not None:
                ladder = evaluate_ladder(levels, rules, results, now)
                reached = -1 if ladder.level is None else index[ladder.level]
                short_of_target = reached < target_position
                if short_of_target:
                    below_target += 1
                    failing.update(_failing_up_to(ladder, levels, target_position))
            for key in failing:
                failing_rules[key] = failing_rules.get(key, 0) + 1
            if failing or short_of_target:
                not_done.append(entity)
        total = len(entities)
        teams.append(
            TeamProgress(
                owner=owner,
                done=total - len(not_done),
                total=total,
                entities_not_done=not_done,
                failing_rules=dict(sorted(failing_rules.items())),
                below_target=below_target,
                overdue=past_deadline and bool(not_done),
            )
        )
    done = sum(team.done for team in teams)
    total = sum(team.total for team in teams)
    return InitiativeProgress(teams, done, total, past_deadline and done < total)


def _failing_up_to(ladder: LadderResult, levels: Sequence[str], target_position: int) -> list[str]:
    """Failing rules of the levels up to the target (those not already counted)."""
    keys: list[str] = []
    for level in levels[: target_position + 1]:
        keys.extend(ladder.failing_by_level[level])
    return keys
