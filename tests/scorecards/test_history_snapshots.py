"""One snapshot per scorecard and day: level counts and rule pass rates, for the history chart."""

from datetime import date, timedelta

import pytest
from django.utils import timezone

from scorecards import evaluation
from scorecards.models import ScorecardSnapshot
from tests.scorecards.conftest import add_rule, make_scorecard

pytestmark = pytest.mark.django_db


def test_a_snapshot_records_level_counts_and_pass_rates(catalog):
    scorecard = make_scorecard(kinds=["component"])
    rule = add_rule(scorecard, "Silver", "Described", {"type": "field_present", "path": "metadata.description"})
    evaluation.evaluate()
    assert evaluation.take_snapshots(date(2024, 5, 1)) == 1
    snapshot = ScorecardSnapshot.objects.get(scorecard=scorecard, date=date(2024, 5, 1))
    assert snapshot.entity_count == 3
    assert snapshot.level_counts == [[None, 0], ["Bronze", 1], ["Silver", 0], ["Gold", 2]]
    assert snapshot.rule_pass_rates == {str(rule.pk): {"name": "Described", "passed": 2, "evaluated": 3}}


def test_the_last_run_of_the_day_wins(catalog):
    scorecard = make_scorecard(kinds=["component"])
    evaluation.take_snapshots(date(2024, 5, 1))
    evaluation.evaluate()
    evaluation.take_snapshots(date(2024, 5, 1))
    evaluation.take_snapshots(date(2024, 5, 2))
    assert ScorecardSnapshot.objects.filter(scorecard=scorecard).count() == 2
    assert ScorecardSnapshot.objects.get(date=date(2024, 5, 1)).entity_count == 3


def test_evaluate_all_takes_today_s_snapshot(catalog):
    scorecard = make_scorecard(kinds=["component"])
    from scorecards.tasks import evaluate_all

    result = evaluate_all.delay().get()
    assert result["entities"] == 3
    assert ScorecardSnapshot.objects.filter(scorecard=scorecard).count() == 1


def test_the_scorecard_page_draws_the_history(catalog, alice_client):
    scorecard = make_scorecard(kinds=["component"])
    evaluation.evaluate()
    today = timezone.localdate()
    evaluation.take_snapshots(today - timedelta(days=2))
    evaluation.take_snapshots(today)
    page = alice_client.get(scorecard.get_absolute_url()).content.decode()
    assert 'data-testid="history-chart"' in page and "<polyline" in page
    assert (today - timedelta(days=2)).isoformat() in page
