"""The DORA dashboard and the DORA tab of components, teams and systems."""

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from scorecards.models import Change, Deployment, DeploymentCommit, Incident
from tests.scorecards.conftest import CHECKOUT, PAYMENTS

pytestmark = pytest.mark.django_db


@pytest.fixture
def events(catalog):
    now = timezone.now()
    for ref, count in ((PAYMENTS, 20), (CHECKOUT, 3)):
        for index in range(count):
            finished = now - timedelta(days=index + 0.5)
            deployment = Deployment.objects.create(external_id=f"{ref}-{index}", entity_ref=ref,
                                                   environment="production", finished_at=finished, status="success")
            DeploymentCommit.objects.create(deployment=deployment, sha=f"{ref}-{index}")
            Change.objects.create(external_id=f"{ref}-{index}", sha=f"{ref}-{index}", entity_ref=ref,
                                  committed_at=finished - timedelta(hours=5))
    Incident.objects.create(external_id="i1", entity_ref=PAYMENTS, opened_at=now - timedelta(days=2),
                            resolved_at=now - timedelta(days=2) + timedelta(minutes=30),
                            caused_by_deployment=f"{PAYMENTS}-1")


def test_the_dashboard_shows_the_four_keys_for_the_organisation(events, alice_client):
    page = alice_client.get(reverse("dora:index")).content.decode()
    assert 'data-testid="dora-cards"' in page and "Whole organisation" in page
    for title in ("Deployment frequency", "Lead time for changes", "Change failure rate", "Time to restore"):
        assert title in page
    assert "23 production deployments" in page and "5.0 h" in page and "30 min" in page
    assert page.count('class="chart trend-chart"') == 4


def test_the_dashboard_filters_by_team_system_and_window_with_htmx(events, alice_client):
    team = alice_client.get(reverse("dora:index"), {"group": "group:default/team-b", "days": 7},
                            HTTP_HX_REQUEST="true").content.decode()
    assert "<html" not in team and "Team group:default/team-b" in team and "3 production deployments" in team
    system = alice_client.get(reverse("dora:index"), {"system": "system:default/shop"}).content.decode()
    assert "20 production deployments" in system
    week = alice_client.get(reverse("dora:index"), {"days": 7}).content.decode()
    assert "10 production deployments" in week and "Last 7 days" in week


def test_a_hostile_window_falls_back_to_30_days(events, alice_client):
    page = alice_client.get(reverse("dora:index"), {"days": "-1; drop table"}).content.decode()
    assert "Last 30 days, successful deployments" in page


def test_the_dashboard_says_when_no_events_arrived(catalog, alice_client):
    page = alice_client.get(reverse("dora:index")).content.decode()
    assert "No delivery events have been received yet" in page and "no data" in page


def test_a_component_with_deployments_has_a_dora_tab(events, alice_client):
    overview = alice_client.get(reverse("catalog:entity", args=["default", "component", "payments"])).content.decode()
    assert 'href="/catalog/default/component/payments/dora/">DORA</a>' in overview
    tab = alice_client.get(reverse("catalog:entity-tab", args=["default", "component", "payments", "dora"]),
                           {"days": 7})
    page = tab.content.decode()
    assert tab.status_code == 200 and 'data-testid="dora-tab"' in page and "7 production deployments" in page
    assert "elite" in page


def test_a_component_without_deployments_has_none(events, alice_client):
    page = alice_client.get(reverse("catalog:entity", args=["default", "component", "ledger"])).content.decode()
    assert "/catalog/default/component/ledger/dora/" not in page
    assert alice_client.get(reverse("catalog:entity-tab", args=["default", "component", "ledger", "dora"])) \
        .status_code == 404


def test_team_and_system_tabs_add_up_their_entities(events, alice_client):
    team = alice_client.get(reverse("catalog:entity-tab", args=["default", "group", "team-a", "dora"])).content.decode()
    assert "20 production deployments" in team and "Events of the entities this team owns" in team
    system = alice_client.get(reverse("catalog:entity-tab", args=["default", "system", "shop", "dora"]))
    assert "20 production deployments" in system.content.decode()


def test_the_organisation_dashboard_has_a_row_per_team(events, alice_client):
    page = alice_client.get(reverse("dora:index")).content.decode()
    table = page[page.index('data-testid="dora-teams"'):]
    table = table[:table.index("</table>")]
    rows = table.split("<tr>")[2:]
    assert [row.split('">', 2)[1].split("<")[0] for row in rows] == ["team-a", "team-b"]
    team_a, team_b = rows
    assert 'href="/catalog/default/group/team-a/dora/?days=30"' in team_a
    # 20 deployments in 30 days, 5 h from commit, 1 of 20 failed, restored in 30 min.
    for text in ("4.7 per week", "5.0 h", "5%", "30 min", "elite"):
        assert text in team_a
    assert "0.7 per week" in team_b and "0%" in team_b and "no data" in team_b


def test_a_team_or_system_view_has_no_by_team_table(events, alice_client):
    for params in ({"group": "group:default/team-a"}, {"system": "system:default/shop"}):
        page = alice_client.get(reverse("dora:index"), params).content.decode()
        assert 'data-testid="dora-teams"' not in page
