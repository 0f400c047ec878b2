"""The DORA event API: token-authenticated, validated whole, idempotent by external id, atomic in bulk."""

import json

import pytest
from rest_framework.authtoken.models import Token

from portal.models import AuditEvent
from scorecards.models import Change, Deployment, DeploymentCommit, Incident

pytestmark = pytest.mark.django_db

DEPLOYMENT = {
    "external_id": "deploy-1",
    "entity_ref": "component:default/payments",
    "environment": "production",
    "finished_at": "2024-05-01T12:00:00+02:00",
    "status": "success",
    "commit_shas": ["abc123", "def456"],
}
CHANGE = {"sha": "abc123", "entity_ref": "payments", "committed_at": "2024-05-01T08:00:00Z", "external_id": "c-1"}
INCIDENT = {
    "external_id": "inc-1",
    "entity_ref": "component:default/payments",
    "opened_at": "2024-05-01T13:00:00Z",
    "resolved_at": None,
    "caused_by_deployment": "deploy-1",
}


def post(client, path, payload, token=None):
    headers = {"HTTP_AUTHORIZATION": f"Token {token.key}"} if token else {}
    return client.post(f"/api/dora/{path}", json.dumps(payload), content_type="application/json", **headers)


def test_it_requires_a_token(client):
    response = post(client, "deployments", DEPLOYMENT)
    assert response.status_code == 401
    assert response["WWW-Authenticate"].startswith("Token")
    assert not Deployment.objects.exists()


def test_it_refuses_a_bad_token(client):
    response = client.post("/api/dora/deployments", json.dumps(DEPLOYMENT), content_type="application/json",
                           HTTP_AUTHORIZATION="Token not-a-token")
    assert response.status_code == 401


def test_it_refuses_a_token_without_the_permission(client, charlie):
    token = Token.objects.create(user=charlie)
    response = post(client, "deployments", DEPLOYMENT, token)
    assert response.status_code == 403
    assert not Deployment.objects.exists()


def test_a_valid_token_records_a_deployment_with_its_commits(client, ci):
    response = post(client, "deployments", DEPLOYMENT, ci)
    assert response.status_code == 200, response.content
    assert response.json() == {"received": 1, "created": 1, "updated": 0}
    deployment = Deployment.objects.get()
    assert deployment.entity_ref == "component:default/payments"
    assert deployment.finished_at.isoformat() == "2024-05-01T10:00:00+00:00"
    assert sorted(DeploymentCommit.objects.values_list("sha", flat=True)) == ["abc123", "def456"]
    event = AuditEvent.objects.get(action="scorecards.deployment.post")
    assert event.actor_name == "ci-bot" and event.after == {"received": 1, "created": 1, "updated": 0}


def test_staff_may_send_events_too(client, sam):
    token = Token.objects.create(user=sam)
    assert post(client, "changes", CHANGE, token).status_code == 200


def test_posting_again_updates_instead_of_duplicating(client, ci):
    post(client, "deployments", DEPLOYMENT, ci)
    again = post(client, "deployments", {**DEPLOYMENT, "status": "failure", "commit_shas": ["abc123"]}, ci)
    assert again.json() == {"received": 1, "created": 0, "updated": 1}
    assert Deployment.objects.get().status == "failure"
    assert list(DeploymentCommit.objects.values_list("sha", flat=True)) == ["abc123"]
    for _ in range(2):
        post(client, "changes", CHANGE, ci)
        post(client, "incidents", INCIDENT, ci)
    assert Change.objects.count() == 1 and Incident.objects.count() == 1
    resolved = post(client, "incidents", {**INCIDENT, "resolved_at": "2024-05-01T15:00:00Z"}, ci)
    assert resolved.status_code == 200 and Incident.objects.get().resolved_at is not None


def test_changes_are_keyed_by_sha_without_an_external_id(client, ci):
    change = {key: value for key, value in CHANGE.items() if key != "external_id"}
    post(client, "changes", change, ci)
    post(client, "changes", {**change, "committed_at": "2024-05-01T09:00:00Z"}, ci)
    assert list(Change.objects.values_list("external_id", "entity_ref")) == [("abc123", "component:default/payments")]


def test_bulk_posts_are_stored_together(client, ci):
    payload = [{**DEPLOYMENT, "external_id": f"deploy-{n}"} for n in range(5)]
    response = post(client, "deployments", payload, ci)
    assert response.json() == {"received": 5, "created": 5, "updated": 0}
    assert Deployment.objects.count() == 5 and DeploymentCommit.objects.count() == 10


def test_the_last_copy_of_an_external_id_in_one_bulk_wins(client, ci):
    payload = [DEPLOYMENT, {**DEPLOYMENT, "status": "failure"}]
    response = post(client, "deployments", payload, ci)
    assert response.status_code == 200
    assert Deployment.objects.get().status == "failure"


def test_one_bad_item_rejects_the_whole_bulk_naming_the_field(client, ci):
    payload = [{**DEPLOYMENT, "external_id": f"deploy-{n}"} for n in range(3)]
    payload[2] = {**payload[2], "finished_at": "yesterday"}
    response = post(client, "deployments", payload, ci)
    assert response.status_code == 400
    body = response.json()
    assert body["errors"][0]["index"] == 2 and body["errors"][0]["field"] == "finished_at"
    assert body["detail"].startswith("item 2: finished_at:")
    assert not Deployment.objects.exists() and not DeploymentCommit.objects.exists()


@pytest.mark.parametrize(
    ("path", "payload", "field"),
    [
        ("deployments", {**DEPLOYMENT, "status": "maybe"}, "status"),
        ("deployments", {**DEPLOYMENT, "finished_at": "2024-05-01T12:00:00"}, "finished_at"),
        ("deployments", {**DEPLOYMENT, "commit_shas": ["ok", 7]}, "commit_shas[1]"),
        ("deployments", {k: v for k, v in DEPLOYMENT.items() if k != "external_id"}, "external_id"),
        ("deployments", {**DEPLOYMENT, "surprise": 1}, "surprise"),
        ("deployments", {**DEPLOYMENT, "entity_ref": "component:"}, "entity_ref"),
        ("changes", {**CHANGE, "external_id": "has space"}, "external_id"),
        ("changes", {**CHANGE, "sha": ""}, "sha"),
        ("incidents", {**INCIDENT, "resolved_at": "2024-04-01T00:00:00Z"}, "resolved_at"),
        ("incidents", {**INCIDENT, "opened_at": None}, "opened_at"),
        ("incidents", "just a string", "payload"),
        ("incidents", [], "payload"),
    ],
)
def test_bad_payloads_get_400_naming_the_field_and_store_nothing(client, ci, path, payload, field):
    response = post(client, path, payload, ci)
    assert response.status_code == 400, response.content
    assert response.json()["errors"][0]["field"] == field
    assert not (Deployment.objects.exists() or Change.objects.exists() or Incident.objects.exists())


def test_malformed_json_is_a_400(client, ci):
    response = client.post("/api/dora/deployments", "{not json", content_type="application/json",
                           HTTP_AUTHORIZATION=f"Token {ci.key}")
    assert response.status_code == 400


def test_too_many_events_in_one_request_are_refused(client, ci, settings):
    settings.DORA_MAX_EVENTS_PER_REQUEST = 2
    response = post(client, "changes", [CHANGE] * 3, ci)
    assert response.status_code == 400 and "at most 2" in response.json()["detail"]


def test_a_body_over_the_upload_limit_is_refused_in_json_and_nothing_is_stored(client, ci, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 4096
    events = [dict(DEPLOYMENT, external_id=f"deploy-{index}") for index in range(100)]
    response = post(client, "deployments", events, ci)
    assert response.status_code == 413
    assert response.json()["errors"] == [{"index": 0, "field": "payload",
                                          "message": "is larger than 4096 bytes; send the events in several requests"}]
    assert not Deployment.objects.exists()
