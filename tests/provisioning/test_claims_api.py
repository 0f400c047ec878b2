"""The claims API: the same checks and quotas as the form, for scripts and pipelines."""

import pytest
from rest_framework.authtoken.models import Token

from scaffolder.provisioning.models import Claim, QuotaPolicy
from tests.provisioning.conftest import PREVIEW_VALUES, commit_count

pytestmark = pytest.mark.django_db

URL = "/api/provisioning/claims"


@pytest.fixture
def token(teams, alice):
    return Token.objects.create(user=alice).key


def post(client, url, payload, token):
    return client.post(url, payload, content_type="application/json", HTTP_AUTHORIZATION=f"Token {token}")


def test_a_script_orders_a_preview_environment_and_lists_it(client, token, gitops):
    response = post(client, URL, {"offering": "preview-environment", "team": "team-a", "name": "pr-7",
                                  "values": PREVIEW_VALUES}, token)
    assert response.status_code == 201, response.json()
    data = response.json()
    assert data["claim_path"] == "claims/team-a/preview-environment/pr-7.yaml" and data["status"] == "requested"
    assert "kind: PreviewEnvironment" in data["manifests"] and commit_count(gitops) == 1
    listed = client.get(URL, {"team": "team-a"}, HTTP_AUTHORIZATION=f"Token {token}").json()["claims"]
    assert [claim["name"] for claim in listed] == ["pr-7"]
    detail = client.get(f"{URL}/{data['id']}", HTTP_AUTHORIZATION=f"Token {token}").json()
    assert detail["commits"][0]["sha"] == data["commit"]


def test_bad_values_are_400_by_field_and_nothing_is_committed(client, token, gitops):
    response = post(client, URL, {"offering": "preview-environment", "team": "team-a", "name": "../x",
                                  "values": {**PREVIEW_VALUES, "ttl": "soon"}}, token)
    assert response.status_code == 400
    errors = response.json()
    assert set(errors) == {"name", "values.ttl"}
    assert post(client, URL, {"offering": "oracle", "team": "team-a", "name": "x"}, token).json() == {
        "offering": ["No offering 'oracle' can be requested."]}
    assert commit_count(gitops) == 0 and not Claim.objects.exists()


def test_a_quota_refusal_is_409_with_the_violations(client, token, gitops):
    QuotaPolicy.objects.create(group="team-a", max_count_by_resource_type={"preview-environment": 0})
    response = post(client, URL, {"offering": "preview-environment", "team": "team-a", "name": "pr-7",
                                  "values": PREVIEW_VALUES}, token)
    assert response.status_code == 409
    assert response.json()["violations"][0]["message"] == (
        "Quota 'preview environments' for group team-a: 0 of 0 in use")
    assert commit_count(gitops) == 0


def test_another_team_is_403(client, token, gitops):
    response = post(client, URL, {"offering": "redis", "team": "team-b", "name": "x",
                                  "values": {"tier": "standard", "size": "small"}}, token)
    assert response.status_code == 403 and commit_count(gitops) == 0


def test_release_through_the_api_needs_ownership(client, token, gitops, charlie):
    created = post(client, URL, {"offering": "preview-environment", "team": "team-a", "name": "pr-7",
                                 "values": PREVIEW_VALUES}, token).json()
    stranger = Token.objects.create(user=charlie).key
    assert post(client, f"{URL}/{created['id']}/release", {}, stranger).status_code == 403
    response = post(client, f"{URL}/{created['id']}/release", {}, token)
    assert response.status_code == 200 and response.json()["status"] == "released"
    assert post(client, f"{URL}/{created['id']}/release", {}, token).status_code == 409
    assert commit_count(gitops) == 2


def test_without_credentials_nothing_is_listed(client, teams):
    assert client.get(URL).status_code in (401, 403)
