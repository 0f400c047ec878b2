"""The scorecard pages, the Scorecard tab of catalog entities and the team roll-up on group pages."""

import pytest
from django.urls import reverse

from portal.models import AuditEvent
from scorecards import evaluation
from scorecards.models import RuleResult, Scorecard
from tests.scorecards.conftest import LEDGER, add_rule, entity, make_scorecard

pytestmark = pytest.mark.django_db


@pytest.fixture
def scorecard(catalog):
    scorecard = make_scorecard(kinds=["component"], description="What production needs")
    add_rule(scorecard, "Bronze", "Owned by a team", {"type": "owner_is_group"})
    add_rule(scorecard, "Silver", "Has a description", {"type": "field_present", "path": "metadata.description"},
             how_to_fix="Add a **description**.\n\n<script>alert(1)</script>\n\n[docs](javascript:alert(2))")
    add_rule(scorecard, "Gold", "Has docs", {"type": "annotation_present", "key": "backstage.io/techdocs-ref"})
    evaluation.evaluate()
    evaluation.take_snapshots()
    return scorecard


def test_the_list_shows_each_scorecard_with_its_level_distribution(scorecard, alice_client):
    page = alice_client.get(reverse("scorecards:index")).content.decode()
    assert "Production readiness" in page and 'class="chart stacked-bar"' in page
    assert "Gold: 1" in page and "Bronze: 1" in page and "Silver: 1" in page


def test_the_list_invites_staff_to_define_a_scorecard(db, staff_client):
    assert "Define one in the admin" in staff_client.get(reverse("scorecards:index")).content.decode()


def test_the_list_tells_others_that_staff_define_scorecards(db, alice_client):
    assert "Staff define them" in alice_client.get(reverse("scorecards:index")).content.decode()


def test_a_scorecard_page_shows_levels_rules_history_and_entities(scorecard, alice_client):
    page = alice_client.get(scorecard.get_absolute_url()).content.decode()
    for part in ('data-testid="level-distribution"', 'data-testid="rule-table"', 'data-testid="history-chart"',
                 'data-testid="entity-table"', "Has a description", "67% · 2/3", "3 entities"):
        assert part in page, part


def test_how_to_fix_markdown_is_rendered_without_scripts(scorecard, alice_client):
    page = alice_client.get(scorecard.get_absolute_url()).content.decode()
    assert "<strong>description</strong>" in page
    assert "<script>alert(1)" not in page and "javascript:alert" not in page


def test_entities_filter_by_owner_and_level_with_htmx(scorecard, alice_client):
    url = scorecard.get_absolute_url()
    by_owner = alice_client.get(url, {"owner": "group:default/team-b"}, HTTP_HX_REQUEST="true")
    body = by_owner.content.decode()
    assert "<html" not in body and "1 entity" in body and "checkout" in body and "ledger" not in body
    gold = scorecard.levels.get(name="Gold")
    by_level = alice_client.get(url, {"level": gold.pk}).content.decode()
    assert "payments" in by_level.split('data-testid="entity-table"')[1] and \
        "ledger" not in by_level.split('data-testid="entity-table"')[1]
    assert "0 entities" in alice_client.get(url, {"level": "none"}).content.decode()


def test_hostile_filter_values_do_not_break_the_page(scorecard, alice_client):
    response = alice_client.get(scorecard.get_absolute_url(), {"owner": "<script>", "level": "9999", "page": "x"})
    assert response.status_code == 200 and "<script>" not in response.content.decode().split("<main")[1]


def test_the_entities_are_paginated(scorecard, alice_client, monkeypatch):
    monkeypatch.setattr("scorecards.views.PAGE_SIZE", 2)
    page = alice_client.get(scorecard.get_absolute_url()).content.decode()
    assert "Page 1 of 2" in page
    assert "Page 2 of 2" in alice_client.get(scorecard.get_absolute_url(), {"page": 2}).content.decode()


def test_the_entity_page_has_a_scorecard_tab_with_each_rule(scorecard, alice_client):
    ledger = entity(LEDGER)
    overview = alice_client.get(ledger.get_absolute_url()).content.decode()
    assert 'href="/catalog/default/component/ledger/scorecard/">Scorecard</a>' in overview
    tab = alice_client.get(reverse("catalog:entity-tab", args=["default", "component", "ledger", "scorecard"]))
    page = tab.content.decode()
    assert tab.status_code == 200 and 'data-testid="scorecard-tab"' in page
    assert 'data-testid="level-reached">Bronze' in page
    assert "metadata.description is missing" in page and "<strong>description</strong>" in page
    assert "1 rule to pass for <strong>Silver</strong>" in page


def test_a_group_tab_rolls_up_the_team_s_entities(scorecard, alice_client):
    tab = alice_client.get(reverse("catalog:entity-tab", args=["default", "group", "team-a", "scorecard"]))
    page = tab.content.decode()
    assert tab.status_code == 200 and 'data-testid="team-rollup"' in page
    assert "the team&#x27;s 2 entities" in page or "the team's 2 entities" in page
    assert "payments" in page and "ledger" in page and "checkout" not in page


def test_entities_no_scorecard_applies_to_have_no_tab(scorecard, alice_client):
    system = alice_client.get(reverse("catalog:entity", args=["default", "system", "shop"])).content.decode()
    assert ">Scorecard</a>" not in system


def test_staff_can_evaluate_now_and_it_is_audited(scorecard, staff_client):
    RuleResult.objects.all().delete()
    response = staff_client.post(reverse("scorecards:evaluate", args=[scorecard.pk]), follow=True)
    assert "Evaluated 3 entities" in response.content.decode()
    assert RuleResult.objects.count() == 9
    assert AuditEvent.objects.filter(action="scorecards.scorecard.evaluate").exists()


def test_others_cannot_evaluate_now(scorecard, alice_client):
    RuleResult.objects.all().delete()
    response = alice_client.post(reverse("scorecards:evaluate", args=[scorecard.pk]))
    assert response.status_code == 302 and "/admin/login" in response["Location"]
    assert not RuleResult.objects.exists()
    assert alice_client.get(reverse("scorecards:evaluate", args=[scorecard.pk])).status_code in (302, 405)


def test_an_unknown_scorecard_is_a_404(db, alice_client):
    assert alice_client.get(reverse("scorecards:detail", args=[999])).status_code == 404


def test_signed_out_visitors_are_sent_to_sign_in(scorecard, client):
    assert client.get(reverse("scorecards:index")).status_code == 302


def test_the_home_page_and_search_know_scorecards(scorecard, alice_client):
    assert "Scorecards" in alice_client.get("/").content.decode()
    found = alice_client.get("/search/", {"q": "readiness"}).content.decode()
    assert Scorecard.objects.get().get_absolute_url() in found


def test_pass_rates_are_counted_once_per_change_of_the_results(scorecard, alice_client):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    url = scorecard.get_absolute_url()
    assert "67% · 2/3" in alice_client.get(url).content.decode()
    with CaptureQueriesContext(connection) as queries:
        alice_client.get(url)
    per_rule = [query["sql"] for query in queries
                if query["sql"].startswith('SELECT "scorecards_ruleresult"."rule_id"')]
    assert not per_rule  # the pass rates came from the cache

    ledger = entity(LEDGER)
    ledger.data["metadata"]["description"] = "Books every payment"
    ledger.save()
    evaluation.evaluate()
    page = alice_client.get(url).content.decode()
    assert "67% · 2/3" not in page  # "Has a description" now passes for all three
    assert page.count("100% · 3/3") == 2
