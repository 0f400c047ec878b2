from datetime import UTC, date, datetime, timedelta

import pytest

from scorecards.checks import CheckResult
from scorecards.levels import (
    LevelError,
    Rule,
    distribution,
    evaluate_ladder,
    initiative_progress,
    is_past,
    rule_status,
    team_rollup,
)

NOW = datetime(2024, 6, 15, 12, 0, tzinfo=UTC)
LEVELS = ["bronze", "silver", "gold"]
RULES = [
    Rule("has-owner", "bronze"),
    Rule("has-lifecycle", "bronze"),
    Rule("has-docs", "silver"),
    Rule("fast-lead-time", "gold"),
    Rule("old-check", "silver", state="disabled"),
    Rule("needs-runbook", "silver", state="enabled_from", enabled_from=date(2024, 7, 1)),
    Rule("has-oncall", "bronze", state="enabled_from", enabled_from=datetime(2024, 6, 1, tzinfo=UTC)),
]
ALL_PASS = {
    "has-owner": True,
    "has-lifecycle": True,
    "has-docs": True,
    "fast-lead-time": True,
    "has-oncall": True,
}


def results(**overrides):
    values = dict(ALL_PASS)
    values.update({key.replace("_", "-"): value for key, value in overrides.items()})
    return values


# ---------------------------------------------------------------- rule states


def test_rule_states_give_active_upcoming_and_disabled():
    assert rule_status(Rule("a", "bronze"), NOW) == "active"
    assert rule_status(Rule("a", "bronze", state="disabled"), NOW) == "disabled"
    assert rule_status(RULES[5], NOW) == "upcoming"
    assert rule_status(RULES[6], NOW) == "active"


def test_a_date_enabled_from_starts_at_the_beginning_of_that_day():
    rule = Rule("a", "bronze", state="enabled_from", enabled_from=date(2024, 7, 1))
    assert rule_status(rule, datetime(2024, 6, 30, 23, 59, tzinfo=UTC)) == "upcoming"
    assert rule_status(rule, datetime(2024, 7, 1, 0, 0, tzinfo=UTC)) == "active"


def test_a_datetime_enabled_from_is_active_from_that_instant():
    start = datetime(2024, 7, 1, 9, 30, tzinfo=UTC)
    rule = Rule("a", "bronze", state="enabled_from", enabled_from=start)
    assert rule_status(rule, start - timedelta(seconds=1)) == "upcoming"
    assert rule_status(rule, start) == "active"


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"state": "paused"}, "state must be one of"),
        ({"state": "enabled_from"}, "needs a date or datetime"),
        ({"state": "enabled_from", "enabled_from": datetime(2024, 7, 1)}, "timezone-aware"),
    ],
)
def test_bad_rule_states_are_refused(kwargs, message):
    with pytest.raises(LevelError, match=message):
        Rule("a", "bronze", **kwargs)


def test_a_naive_now_is_refused():
    with pytest.raises(LevelError, match="timezone-aware"):
        rule_status(RULES[0], datetime(2024, 6, 15))


# ---------------------------------------------------------------- ladder


def test_passing_everything_reaches_the_top_level():
    ladder = evaluate_ladder(LEVELS, RULES, results(), NOW)
    assert ladder.level == "gold"
    assert ladder.next_level is None
    assert ladder.blocking == []


def test_a_failing_rule_stops_the_ladder_at_the_level_below():
    ladder = evaluate_ladder(LEVELS, RULES, results(has_docs=False), NOW)
    assert ladder.level == "bronze"
    assert ladder.next_level == "silver"
    assert ladder.blocking == ["has-docs"]


def test_a_higher_level_is_not_reached_when_a_lower_one_fails():
    # Gold's own rule passes, but bronze fails: nothing is reached.
    ladder = evaluate_ladder(LEVELS, RULES, results(has_owner=False, has_docs=False), NOW)
    assert ladder.level is None
    assert ladder.next_level == "bronze"
    assert ladder.blocking == ["has-owner"]
    assert ladder.failing_by_level == {"bronze": ["has-owner"], "silver": ["has-docs"], "gold": []}


def test_check_results_count_like_booleans():
    mixed = results(has_docs=CheckResult(False, None, "no TechDocs build recorded"))
    mixed["has-owner"] = CheckResult(True, "group:default/team-a", "owned by group:default/team-a")
    ladder = evaluate_ladder(LEVELS, RULES, mixed, NOW)
    assert ladder.level == "bronze" and ladder.blocking == ["has-docs"]


def test_an_active_rule_without_a_result_blocks():
    incomplete = results()
    del incomplete["has-lifecycle"]
    ladder = evaluate_ladder(LEVELS, RULES, incomplete, NOW)
    assert ladder.level is None and ladder.blocking == ["has-lifecycle"]


def test_disabled_rules_never_count():
    ladder = evaluate_ladder(LEVELS, RULES, results(old_check=False), NOW)
    assert ladder.level == "gold"
    assert all("old-check" not in keys for keys in ladder.failing_by_level.values())


def test_upcoming_rules_are_reported_but_do_not_count_yet():
    ladder = evaluate_ladder(LEVELS, RULES, results(needs_runbook=False), NOW)
    assert ladder.level == "gold"
    (upcoming,) = ladder.upcoming
    assert (upcoming.key, upcoming.level, upcoming.enabled_from, upcoming.passed) == (
        "needs-runbook",
        "silver",
        date(2024, 7, 1),
        False,
    )


def test_upcoming_rules_count_once_their_date_arrives():
    later = datetime(2024, 7, 2, tzinfo=UTC)
    ladder = evaluate_ladder(LEVELS, RULES, results(needs_runbook=False), later)
    assert ladder.level == "bronze"
    assert ladder.blocking == ["needs-runbook"]
    assert ladder.upcoming == []


def test_an_upcoming_rule_not_yet_evaluated_has_no_result():
    ladder = evaluate_ladder(LEVELS, RULES, results(), NOW)
    assert [rule.passed for rule in ladder.upcoming] == [None]


def test_a_level_without_active_rules_is_reached_when_lower_ones_are():
    levels = ["bronze", "silver", "gold"]
    rules = [Rule("a", "bronze"), Rule("b", "silver", state="disabled"), Rule("c", "gold")]
    assert evaluate_ladder(levels, rules, {"a": True, "c": False}, NOW).level == "silver"
    assert evaluate_ladder(levels, rules, {"a": False, "c": True}, NOW).level is None


def test_no_rules_at_all_reaches_every_level():
    assert evaluate_ladder(LEVELS, [], {}, NOW).level == "gold"
    assert evaluate_ladder([], [], {}, NOW).level is None


@pytest.mark.parametrize(
    "levels, rules, message",
    [
        (["bronze", "bronze"], [], "listed twice"),
        (["bronze", ""], [], "non-empty strings"),
        (["bronze"], [Rule("a", "platinum")], "unknown level 'platinum'"),
        (["bronze"], [Rule("a", "bronze"), Rule("a", "bronze")], "used twice"),
    ],
)
def test_inconsistent_ladders_are_refused(levels, rules, message):
    with pytest.raises(LevelError, match=message):
        evaluate_ladder(levels, rules, {}, NOW)


# ---------------------------------------------------------------- distribution and roll-ups


def test_distribution_counts_entities_per_level_lowest_first():
    reached = {"a": "gold", "b": None, "c": "bronze", "d": "gold"}
    assert distribution(LEVELS, reached) == [(None, 1), ("bronze", 1), ("silver", 0), ("gold", 2)]


def test_distribution_of_nobody_is_all_zero():
    assert distribution(LEVELS, {}) == [(None, 0), ("bronze", 0), ("silver", 0), ("gold", 0)]


def test_distribution_refuses_unknown_levels():
    with pytest.raises(LevelError, match="entity 'a' is at unknown level 'platinum'"):
        distribution(LEVELS, {"a": "platinum"})


def test_team_rollup_counts_levels_and_pass_rates():
    per_entity = {
        "component:default/a": results(),
        "component:default/b": results(has_docs=False),
        "component:default/c": results(has_owner=False, needs_runbook=True),
    }
    del per_entity["component:default/c"]["fast-lead-time"]
    rollup = team_rollup(LEVELS, RULES, per_entity, NOW)
    assert rollup.entity_count == 3
    assert rollup.reached == {
        "component:default/a": "gold",
        "component:default/b": "bronze",
        "component:default/c": None,
    }
    assert rollup.level_counts == [(None, 1), ("bronze", 1), ("silver", 0), ("gold", 1)]
    rates = {rate.key: rate for rate in rollup.rules}
    assert "old-check" not in rates  # disabled
    assert (rates["has-owner"].passed, rates["has-owner"].evaluated) == (2, 3)
    assert rates["has-owner"].rate == pytest.approx(2 / 3)
    assert (rates["fast-lead-time"].evaluated, rates["fast-lead-time"].not_evaluated) == (2, 1)
    assert rates["needs-runbook"].status == "upcoming"
    assert (rates["needs-runbook"].passed, rates["needs-runbook"].evaluated) == (1, 1)


def test_a_rule_nobody_was_evaluated_on_has_no_rate():
    rollup = team_rollup(LEVELS, [Rule("x", "bronze")], {"a": {}}, NOW)
    assert rollup.rules[0].rate is None


# ---------------------------------------------------------------- initiatives

DEADLINE = date(2024, 6, 30)
BY_OWNER = {
    "group:default/team-b": {
        "component:default/b1": {"has-docs": True, "has-owner": True},
        "component:default/b2": {"has-docs": False, "has-owner": True},
        "component:default/b3": {"has-owner": False},
    },
    "group:default/team-a": {
        "component:default/a1": {"has-docs": True, "has-owner": True},
    },
    "group:default/team-c": {},
}


def test_initiative_progress_per_team():
    progress = initiative_progress(
        rule_keys=["has-docs", "has-owner"], deadline=DEADLINE, results_by_owner=BY_OWNER, now=NOW
    )
    assert [team.owner for team in progress.teams] == [
        "group:default/team-a",
        "group:default/team-b",
        "group:default/team-c",
    ]
    team_a, team_b, team_c = progress.teams
    assert (team_a.done, team_a.total, team_a.rate) == (1, 1, 1.0)
    assert (team_b.done, team_b.total) == (1, 3)
    assert team_b.entities_not_done == ["component:default/b2", "component:default/b3"]
    assert team_b.failing_rules == {"has-docs": 2, "has-owner": 1}
    assert (team_c.total, team_c.rate) == (0, None)
    assert (progress.done, progress.total) == (2, 4)
    assert not any(team.overdue for team in progress.teams)
    assert not progress.overdue


def test_only_unfinished_teams_are_overdue_after_the_deadline():
    after = datetime(2024, 7, 1, 0, 0, tzinfo=UTC)
    progress = initiative_progress(
        rule_keys=["has-docs", "has-owner"], deadline=DEADLINE, results_by_owner=BY_OWNER, now=after
    )
    assert {team.owner: team.overdue for team in progress.teams} == {
        "group:default/team-a": False,
        "group:default/team-b": True,
        "group:default/team-c": False,
    }
    assert progress.overdue


def test_a_date_deadline_lasts_the_whole_day():
    assert not is_past(DEADLINE, datetime(2024, 6, 30, 23, 59, tzinfo=UTC))
    assert is_past(DEADLINE, datetime(2024, 7, 1, 0, 0, tzinfo=UTC))
    exact = datetime(2024, 6, 30, 12, 0, tzinfo=UTC)
    assert not is_past(exact, exact)
    assert is_past(exact, exact + timedelta(seconds=1))


def test_initiative_with_a_target_level_uses_the_ladder():
    by_owner = {
        "group:default/team-a": {
            "component:default/gold": results(),
            "component:default/bronze": results(has_docs=False),
            "component:default/none": results(has_owner=False),
        }
    }
    progress = initiative_progress(
        rule_keys=[],
        target_level="silver",
        levels=LEVELS,
        rules=RULES,
        deadline=DEADLINE,
        results_by_owner=by_owner,
        now=NOW,
    )
    (team,) = progress.teams
    assert (team.done, team.total, team.below_target) == (1, 3, 2)
    assert team.entities_not_done == ["component:default/bronze", "component:default/none"]
    # Failing rules up to the target level; gold's rules are not part of it.
    assert team.failing_rules == {"has-docs": 1, "has-owner": 1}


def test_a_rule_failing_both_ways_is_counted_once_per_entity():
    by_owner = {"team": {"e": results(has_docs=False)}}
    progress = initiative_progress(
        rule_keys=["has-docs"],
        target_level="silver",
        levels=LEVELS,
        rules=RULES,
        deadline=DEADLINE,
        results_by_owner=by_owner,
        now=NOW,
    )
    assert progress.teams[0].failing_rules == {"has-docs": 1}


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"rule_keys": []}, "needs rules, a target level, or both"),
        ({"rule_keys": [], "target_level": "platinum", "levels": LEVELS}, "not one of the levels"),
        ({"rule_keys": ["a"], "deadline": datetime(2024, 6, 30)}, "deadline must be timezone-aware"),
        ({"rule_keys": ["a"], "deadline": "2024-06-30"}, "deadline must be a date or datetime"),
    ],
)
def test_inconsistent_initiatives_are_refused(kwargs, message):
    arguments = {"deadline": DEADLINE, "results_by_owner": {}, "now": NOW, **kwargs}
    with pytest.raises(LevelError, match=message):
        initiative_progress(**arguments)
