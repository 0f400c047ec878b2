"""The reconciler's status webhook: token-authenticated, named errors, and the page follows it."""

import pytest
from django.contrib.auth.models import Permission
from rest_framework.authtoken.models import Token

from portal.models import AuditEvent
from scaffolder.provisioning.actions import Requester, release_claim, request_claim
from scaffolder.provisioning.models import Claim, available_offerings
from tests.provisioning.conftest import VALUES

pytestmark = pytest.mark.django_db

URL = "/api/provisioning/status"
PATH = "claims/team-a/database/orders-db.yaml"


@pytest.fixture
def claim(teams, gitops, alice):
    return request_claim(available_offerings()["postgresql"], "team-a", "orders-db", VALUES["postgresql"],
                         Requester.from_user(alice))


@pytest.fixture
def reconciler(django_user_model):
    user = django_user_model.objects.create_user("argocd")
    user.user_permissions.add(Permission.objects.get(codename="report_claim_status"))
    return Token.objects.create(user=user).key


def post(client, payload, token=None):
    headers = {"HTTP_AUTHORIZATION": f"Token {token}"} if token else {}
    return client.post(URL, payload, content_type="application/json", **headers)


def test_without_a_token_it_is_401(client, claim):
    response = post(client, {"claim_path": PATH, "state": "ready"})
    assert response.status_code == 401


def test_with_a_bad_token_it_is_401(client, claim):
    assert post(client, {"claim_path": PATH, "state": "ready"}, token="0" * 40).status_code == 401


def test_a_signed_in_session_is_not_enough(alice_client, claim):
    assert post(alice_client, {"claim_path": PATH, "state": "ready"}).status_code == 401


def test_a_token_without_the_permission_is_403(client, claim, alice):
    token = Token.objects.create(user=alice).key
    assert post(client, {"claim_path": PATH, "state": "ready"}, token=token).status_code == 403
    claim.refresh_from_db()
    assert claim.reconciler_state == ""


def test_ready_makes_the_claim_active_and_the_page_shows_it(client, alice_client, claim, reconciler):
    response = post(client, {"claim_path": PATH, "state": "ready", "message": "Synced and healthy"}, reconciler)
    assert response.status_code == 200
    assert response.json() == {"claim_path": PATH, "entity_ref": "resource:team-a/orders-db",
                               "status": "active", "reconciler_state": "ready"}
    claim.refresh_from_db()
    assert claim.status == Claim.Status.ACTIVE and claim.reconciler_message == "Synced and healthy"
    page = alice_client.get(claim.get_absolute_url()).content.decode()
    assert 'class="badge ok">ready' in page and "Synced and healthy" in page
    assert AuditEvent.objects.filter(action="provisioning.claim.status", actor_name="argocd").exists()


def test_failed_then_pending_then_ready(client, claim, reconciler):
    post(client, {"claim_path": PATH, "state": "failed", "message": "quota exceeded in cloud"}, reconciler)
    claim.refresh_from_db()
    assert claim.status == Claim.Status.FAILED and claim.is_held  # still committed: still counts
    post(client, {"claim_path": PATH, "state": "pending"}, reconciler)
    claim.refresh_from_db()
    assert claim.status == Claim.Status.REQUESTED
    post(client, {"claim_path": PATH, "state": "ready"}, reconciler)
    claim.refresh_from_db()
    assert claim.status == Claim.Status.ACTIVE


def test_deleted_after_release_is_recorded_on_the_released_claim(client, claim, reconciler, alice):
    release_claim(claim, Requester.from_user(alice))
    response = post(client, {"claim_path": PATH, "state": "deleted"}, reconciler)
    assert response.status_code == 200 and response.json()["status"] == "released"
    claim.refresh_from_db()
    assert claim.reconciler_state == "deleted"


def test_an_unknown_claim_path_is_404(client, claim, reconciler):
    response = post(client, {"claim_path": "claims/team-a/database/nope.yaml", "state": "ready"}, reconciler)
    assert response.status_code == 404 and "nope.yaml" in response.json()["detail"]


@pytest.mark.parametrize("payload, field", [
    ({"state": "ready"}, "claim_path"),
    ({"claim_path": PATH}, "state"),
    ({"claim_path": PATH, "state": "exploded"}, "state"),
    ({"claim_path": "../../etc/passwd", "state": "ready"}, "claim_path"),
    ({"claim_path": "claims/team-a/database/../../x.yaml", "state": "ready"}, "claim_path"),
    ({"claim_path": PATH, "state": "ready", "message": "x" * 5000}, "message"),
    ({"claim_path": ["a"], "state": "ready"}, "claim_path"),
])
def test_a_bad_payload_is_400_naming_the_field(client, claim, reconciler, payload, field):
    response = post(client, payload, reconciler)
    assert response.status_code == 400
    assert list(response.json()) == [field]
    claim.refresh_from_db()
    assert claim.reconciler_state == ""


def test_a_body_that_is_not_json_is_400(client, claim, reconciler):
    response = client.post(URL, "{not json", content_type="application/json", HTTP_AUTHORIZATION=f"Token {reconciler}")
    assert response.status_code == 400
