"""Posting DORA events re-evaluates the entities whose figures changed, when a rule reads those figures."""

import json
from datetime import timedelta

import pytest
from django.utils import timezone

from scorecards.models import Rule, RuleResult
from tests.scorecards.conftest import CHECKOUT, LEDGER, PAYMENTS, add_rule, make_scorecard

pytestmark = pytest.mark.django_db

FAST = {"type": "dora_threshold", "figure": "lead_time_hours", "operator": "<", "value": 24}
RELIABLE = {"type": "dora_threshold", "figure": "change_failure_rate", "operator": "<=", "value": 0.5}


def post(client, token, path, payload):
    response = client.post(f"/api/dora/{path}", json.dumps(payload), content_type="application/json",
                           HTTP_AUTHORIZATION=f"Token {token.key}")
    assert response.status_code == 200, response.content
    return response


def moment(delta: timedelta) -> str:
    return (timezone.now() - delta).isoformat()


def deployment(external_id, ref, shas, ago=timedelta(days=1)):
    return {"external_id": external_id, "entity_ref": ref, "environment": "production", "finished_at": moment(ago),
            "status": "success", "commit_shas": shas}


def result(rule, ref):
    return RuleResult.objects.filter(rule=rule, entity__ref=ref).first()


def test_a_deployment_post_re_evaluates_its_entity(catalog, client, ci, django_capture_on_commit_callbacks):
    rule = add_rule(make_scorecard(kinds=["component"]), "Gold", "Fast", FAST)
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        post(client, ci, "changes", {"sha": "s1", "entity_ref": PAYMENTS, "committed_at": moment(timedelta(days=2))})
        post(client, ci, "deployments", deployment("d1", PAYMENTS, ["s1"]))
    # The change alone touched no deployment, so only the deployment post scheduled an evaluation: of payments.
    assert len(callbacks) == 1
    outcome = result(rule, PAYMENTS)
    assert outcome is not None and outcome.passed is False and outcome.observed == pytest.approx(24, abs=0.01)
    assert result(rule, LEDGER) is None and result(rule, CHECKOUT) is None


def test_a_change_post_re_evaluates_the_entities_that_deployed_its_sha(
    catalog, client, ci, django_capture_on_commit_callbacks
):
    rule = add_rule(make_scorecard(kinds=["component"]), "Gold", "Fast", FAST)
    with django_capture_on_commit_callbacks(execute=True):
        post(client, ci, "deployments", deployment("d1", PAYMENTS, ["s1"]))
    assert result(rule, PAYMENTS).message == "no data for lead_time_hours"
    # The change is filed against checkout, but payments shipped it: payments is the one re-evaluated.
    with django_capture_on_commit_callbacks(execute=True):
        post(client, ci, "changes", {"sha": "s1", "entity_ref": CHECKOUT, "committed_at": moment(timedelta(hours=30))})
    assert result(rule, PAYMENTS).passed is True
    assert result(rule, PAYMENTS).observed == pytest.approx(6, abs=0.01)
    assert result(rule, CHECKOUT) is None


def test_an_incident_reposted_with_another_cause_re_evaluates_both_deployments(
    catalog, client, ci, django_capture_on_commit_callbacks
):
    rule = add_rule(make_scorecard(kinds=["component"]), "Gold", "Reliable", RELIABLE)
    with django_capture_on_commit_callbacks(execute=True):
        post(client, ci, "deployments", [deployment("d1", PAYMENTS, []), deployment("d2", LEDGER, [])])
    incident = {"external_id": "i1", "entity_ref": CHECKOUT, "opened_at": moment(timedelta(hours=20)),
                "caused_by_deployment": "d1"}
    with django_capture_on_commit_callbacks(execute=True):
        post(client, ci, "incidents", incident)
    assert result(rule, PAYMENTS).passed is False and result(rule, LEDGER).passed is True
    with django_capture_on_commit_callbacks(execute=True):
        post(client, ci, "incidents", {**incident, "caused_by_deployment": "d2"})
    assert result(rule, PAYMENTS).passed is True and result(rule, LEDGER).passed is False
    # The incident's own entity is evaluated too (its time to restore may change).
    assert result(rule, CHECKOUT) is not None


def test_without_a_rule_reading_dora_figures_nothing_is_scheduled(
    catalog, client, ci, django_capture_on_commit_callbacks
):
    scorecard = make_scorecard(kinds=["component"])
    add_rule(scorecard, "Bronze", "Described", {"type": "field_present", "path": "metadata.description"})
    add_rule(scorecard, "Gold", "Fast, switched off", FAST, state=Rule.State.DISABLED)
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        post(client, ci, "deployments", deployment("d1", PAYMENTS, ["s1"]))
    assert callbacks == []
    assert not RuleResult.objects.exists()


def test_a_rejected_post_schedules_nothing(catalog, client, ci, django_capture_on_commit_callbacks):
    add_rule(make_scorecard(kinds=["component"]), "Gold", "Fast", FAST)
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        response = client.post("/api/dora/deployments", json.dumps({"external_id": "d1"}),
                               content_type="application/json", HTTP_AUTHORIZATION=f"Token {ci.key}")
    assert response.status_code == 400
    assert callbacks == [] and not RuleResult.objects.exists()
