"""The Claim tab on a provisioned Resource's catalog page."""

import pytest
from django.urls import reverse

from scaffolder.provisioning.actions import Requester, record_status, request_claim
from scaffolder.provisioning.models import available_offerings
from tests.provisioning.conftest import VALUES

pytestmark = pytest.mark.django_db


@pytest.fixture
def claim(teams, gitops, alice):
    return request_claim(available_offerings()["postgresql"], "team-a", "orders-db", VALUES["postgresql"],
                         Requester.from_user(alice))


def tab(client, name="orders-db", namespace="team-a"):
    return client.get(reverse("catalog:entity-tab", args=[namespace, "resource", name, "claim"]))


def test_the_resource_page_has_a_claim_tab_with_manifests_commits_and_status(alice_client, claim):
    record_status(claim, "ready", "Healthy", "argocd")
    page = alice_client.get(reverse("catalog:entity", args=["team-a", "resource", "orders-db"])).content.decode()
    assert reverse("catalog:entity-tab", args=["team-a", "resource", "orders-db", "claim"]) in page
    body = tab(alice_client).content.decode()
    assert 'data-testid="claim-tab"' in body
    assert "kind: PostgreSQLInstance" in body and claim.commit_sha[:12] in body
    assert 'class="badge ok">ready' in body and 'data-testid="release-button"' in body
    assert claim.get_absolute_url() in body


def test_strangers_see_the_tab_without_the_release_button(client, charlie, claim):
    client.force_login(charlie)
    body = tab(client).content.decode()
    assert "kind: PostgreSQLInstance" in body and 'data-testid="release-button"' not in body


def test_resources_that_were_not_provisioned_have_no_claim_tab(alice_client, claim, tmp_path):
    from catalog.ingest import refresh_location
    from catalog.models import Location

    path = tmp_path / "more" / "catalog-info.yaml"
    path.parent.mkdir()
    path.write_text("apiVersion: backstage.io/v1alpha1\nkind: Resource\nmetadata: {name: bucket}\n"
                    "spec: {type: s3-bucket, owner: team-a}\n")
    refresh_location(Location.objects.create(type="file", target=str(path)))
    assert tab(alice_client, "bucket", "default").status_code == 404
