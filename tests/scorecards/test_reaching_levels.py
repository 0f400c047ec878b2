"""The ladder: an entity reaches a level by passing its active rules and every lower level's."""

from datetime import timedelta

import pytest
from django.utils import timezone

from scorecards import evaluation
from scorecards.models import Level, Rule, RuleResult, Scorecard, ScorecardResult
from tests.scorecards.conftest import CHECKOUT, LEDGER, PAYMENTS, add_rule, make_scorecard

pytestmark = pytest.mark.django_db


def reached(scorecard):
    return dict(ScorecardResult.objects.filter(scorecard=scorecard).values_list("entity__ref", "level__name"))


def test_a_new_scorecard_gets_bronze_silver_and_gold():
    scorecard = make_scorecard()
    assert list(scorecard.levels.values_list("name", "order")) == [("Bronze", 0), ("Silver", 1), ("Gold", 2)]
    scorecard.ensure_default_levels()
    assert scorecard.levels.count() == 3


def test_levels_are_reached_in_order(catalog):
    scorecard = make_scorecard(kinds=["component"])
    add_rule(scorecard, "Bronze", "Owned", {"type": "owner_is_group"})
    add_rule(scorecard, "Silver", "Described", {"type": "field_present", "path": "metadata.description"})
    add_rule(scorecard, "Gold", "Has docs", {"type": "annotation_present", "key": "backstage.io/techdocs-ref"})
    evaluation.evaluate()
    assert reached(scorecard) == {PAYMENTS: "Gold", LEDGER: "Bronze", CHECKOUT: "Silver"}


def test_failing_a_lower_level_blocks_the_higher_ones(catalog):
    scorecard = make_scorecard(kinds=["component"])
    add_rule(scorecard, "Bronze", "Is production", {"type": "field_equals", "path": "spec.lifecycle",
                                                    "value": "production"})
    add_rule(scorecard, "Gold", "Described", {"type": "field_present", "path": "metadata.description"})
    evaluation.evaluate()
    # checkout is described (Gold's rule) but fails Bronze: it reaches nothing.
    assert reached(scorecard)[CHECKOUT] is None
    # Silver has no rules: it is reached along with Bronze.
    assert reached(scorecard)[LEDGER] == "Silver"


def test_upcoming_rules_are_evaluated_but_do_not_count_until_their_day(catalog):
    scorecard = make_scorecard(kinds=["component"])
    add_rule(scorecard, "Bronze", "Owned", {"type": "owner_is_group"})
    upcoming = add_rule(scorecard, "Bronze", "Described", {"type": "field_present", "path": "metadata.description"},
                        state=Rule.State.ENABLED_FROM, enabled_from=timezone.localdate() + timedelta(days=10))
    evaluation.evaluate()
    assert reached(scorecard)[LEDGER] == "Gold"
    assert RuleResult.objects.get(rule=upcoming, entity__ref=LEDGER).passed is False
    assert upcoming.status() == "upcoming"
    # Ten days later the rule counts.
    later = timezone.now() + timedelta(days=11)
    evaluation.evaluate(now=later)
    assert reached(scorecard)[LEDGER] is None
    assert reached(scorecard)[PAYMENTS] == "Gold"


def test_custom_levels_follow_their_order(catalog):
    scorecard = make_scorecard(kinds=["component"], levels=False)
    Level.objects.create(scorecard=scorecard, name="Top", order=5)
    Level.objects.create(scorecard=scorecard, name="Base", order=1)
    add_rule(scorecard, "Base", "Owned", {"type": "owner_is_group"})
    add_rule(scorecard, "Top", "Described", {"type": "field_present", "path": "metadata.description"})
    evaluation.evaluate()
    assert reached(scorecard) == {PAYMENTS: "Top", LEDGER: "Base", CHECKOUT: "Top"}


def test_a_scorecard_without_rules_puts_everyone_at_the_top(catalog):
    scorecard = make_scorecard(kinds=["component"])
    evaluation.evaluate()
    assert set(reached(scorecard).values()) == {"Gold"}
    assert Scorecard.objects.get(pk=scorecard.pk).last_evaluated_at is not None
