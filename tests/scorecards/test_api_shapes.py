"""GET /api/scorecards/, /api/scorecards/results and /api/dora/metrics answer in exactly the documented shapes."""

from datetime import timedelta

import pytest
from django.utils import timezone

from scorecards import evaluation
from scorecards.models import Change, Deployment, DeploymentCommit, Incident
from tests.scorecards.conftest import PAYMENTS, add_rule, make_scorecard

pytestmark = pytest.mark.django_db


@pytest.fixture
def scored(catalog):
    scorecard = make_scorecard(kinds=["component"], description="Ready for production")
    add_rule(scorecard, "Bronze", "Has a description", {"type": "field_present", "path": "metadata.description"},
             how_to_fix="Write one.", blocking=True)
    evaluation.evaluate()
    return scorecard


def test_scorecards_come_with_levels_and_rules(scored, alice_client):
    response = alice_client.get("/api/scorecards/")
    assert response.status_code == 200
    [card] = response.json()
    assert set(card) == {"id", "name", "description", "url", "filter", "levels", "rules", "last_evaluated_at"}
    assert card["filter"] == {"kinds": ["component"], "spec_types": [], "lifecycles": [], "tags": [], "owners": []}
    assert [level["name"] for level in card["levels"]] == ["Bronze", "Silver", "Gold"]
    assert card["rules"][0] == {
        "id": card["rules"][0]["id"], "name": "Has a description", "description": "", "level": "Bronze",
        "state": "enabled", "enabled_from": None, "status": "active", "blocking": True, "owner": "",
        "check": {"type": "field_present", "path": "metadata.description"}, "how_to_fix": "Write one.",
    }


def test_results_of_an_entity(scored, alice_client):
    response = alice_client.get("/api/scorecards/results", {"entity": "component:default/ledger"})
    body = response.json()
    assert body["entity"] == "component:default/ledger"
    [card] = body["scorecards"]
    assert card["name"] == "Production readiness" and card["level"] is None
    [rule] = card["rules"]
    assert {k: rule[k] for k in ("name", "level", "status", "passed", "observed", "message")} == {
        "name": "Has a description", "level": "Bronze", "status": "active", "passed": False, "observed": None,
        "message": "metadata.description is missing",
    }
    short = alice_client.get("/api/scorecards/results", {"entity": "payments"}).json()
    assert short["scorecards"][0]["level"] == "Gold"


def test_results_need_a_known_entity(scored, alice_client):
    assert alice_client.get("/api/scorecards/results").status_code == 400
    assert alice_client.get("/api/scorecards/results", {"entity": "component:"}).status_code == 400
    assert alice_client.get("/api/scorecards/results", {"entity": "component:default/nope"}).status_code == 404


def test_the_api_needs_a_signed_in_user_or_token(scored, client):
    assert client.get("/api/scorecards/").status_code in (401, 403)
    assert client.get("/api/dora/metrics").status_code in (401, 403)


def test_metrics_have_exactly_the_documented_shape(catalog, alice_client):
    now = timezone.now()
    deployment = Deployment.objects.create(external_id="d1", entity_ref=PAYMENTS, environment="production",
                                           finished_at=now - timedelta(days=2), status="success")
    DeploymentCommit.objects.create(deployment=deployment, sha="s1")
    Change.objects.create(external_id="s1", sha="s1", entity_ref=PAYMENTS, committed_at=now - timedelta(days=3))
    Incident.objects.create(external_id="i1", entity_ref=PAYMENTS, opened_at=now - timedelta(days=1),
                            resolved_at=now - timedelta(hours=22), caused_by_deployment="d1")
    body = alice_client.get("/api/dora/metrics", {"entity": "payments"}).json()
    assert body == {
        "deployment_frequency": {"count": 1, "per_week": pytest.approx(7 / 30), "bucket": "monthly",
                                 "level": "medium"},
        "lead_time_for_changes": {"median_hours": pytest.approx(24.0), "level": "high"},
        "change_failure_rate": {"ratio": 1.0, "level": "low"},
        "time_to_restore": {"median_hours": pytest.approx(2.0), "level": "high"},
    }
    assert isinstance(body["deployment_frequency"]["count"], int)
    assert isinstance(body["deployment_frequency"]["per_week"], float)
    for scope in ({"group": "team-a"}, {"system": "shop"}, {}, {"days": "90"}, {"days": "7"}):
        other = alice_client.get("/api/dora/metrics", scope).json()
        assert set(other) == set(body) and other["deployment_frequency"]["count"] == 1, scope
    assert alice_client.get("/api/dora/metrics", {"group": "team-b"}).json()["deployment_frequency"]["count"] == 0


@pytest.mark.parametrize("params", [{"days": "3"}, {"days": "abc"}, {"days": "1000"}, {"entity": "a", "group": "b"},
                                    {"entity": "component:"}])
def test_bad_metric_parameters_are_a_400(catalog, alice_client, params):
    assert alice_client.get("/api/dora/metrics", params).status_code == 400
