"""Initiatives: progress per team towards rules or a level by a deadline, overdue teams highlighted."""

from datetime import timedelta

import pytest
from django.utils import timezone

from scorecards import evaluation
from scorecards.models import Initiative
from tests.scorecards.conftest import add_rule, make_scorecard

pytestmark = pytest.mark.django_db


@pytest.fixture
def scorecard(catalog):
    scorecard = make_scorecard(kinds=["component"])
    add_rule(scorecard, "Bronze", "Owned by a team", {"type": "owner_is_group"})
    add_rule(scorecard, "Silver", "Has a description", {"type": "field_present", "path": "metadata.description"})
    evaluation.evaluate()
    return scorecard


def test_progress_is_shown_per_team(scorecard, alice_client):
    initiative = Initiative.objects.create(name="Describe everything", scorecard=scorecard,
                                           deadline=timezone.localdate() + timedelta(days=10))
    initiative.rules.set(scorecard.rules.filter(name="Has a description"))
    page = alice_client.get(initiative.get_absolute_url()).content.decode()
    assert 'data-testid="initiative-done">2 of 3 (67%)' in page
    assert "team-a" in page and "1/2" in page and "team-b" in page and "1/1" in page
    assert "10 days left" in page and "overdue" not in page.split('data-testid="initiative-teams"')[1]


def test_teams_not_done_after_the_deadline_are_overdue(scorecard, alice_client):
    initiative = Initiative.objects.create(name="Everyone at Silver", scorecard=scorecard,
                                           target_level=scorecard.levels.get(name="Silver"),
                                           deadline=timezone.localdate() - timedelta(days=3))
    page = alice_client.get(initiative.get_absolute_url()).content.decode()
    assert 'data-testid="initiative-overdue">3 days past' in page
    teams = page.split('data-testid="initiative-teams"')[1]
    assert teams.count('class="overdue"') == 1  # team-a's ledger is below Silver; team-b is done
    assert "1 below Silver" in teams and '<span class="badge ok">done</span>' in teams


def test_the_scope_narrows_the_entities(scorecard, alice_client):
    initiative = Initiative.objects.create(name="Websites", scorecard=scorecard, spec_types=["website"],
                                           target_level=scorecard.levels.get(name="Gold"),
                                           deadline=timezone.localdate())
    page = alice_client.get(initiative.get_absolute_url()).content.decode()
    assert 'data-testid="initiative-done">1 of 1' in page and "today" in page


def test_an_initiative_without_a_goal_says_so(scorecard, alice_client):
    initiative = Initiative.objects.create(name="Nothing", scorecard=scorecard, deadline=timezone.localdate())
    response = alice_client.get(initiative.get_absolute_url())
    assert response.status_code == 200 and "an initiative needs rules, a target level, or both" in \
        response.content.decode()


def test_the_scorecards_page_lists_initiatives(scorecard, alice_client):
    Initiative.objects.create(name="Late one", scorecard=scorecard, deadline=timezone.localdate() - timedelta(days=1),
                              target_level=scorecard.levels.first())
    page = alice_client.get("/scorecards/").content.decode()
    assert "Late one" in page and "past" in page
