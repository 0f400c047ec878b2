"""Releasing: one commit removes the claim and its entity; the catalog keeps an orphan flagged released."""

import pytest
from django.urls import reverse

from catalog.models import Entity
from portal.models import AuditEvent
from scaffolder.actions import ActionContext, ActionError, ActionRegistry, UserInfo
from scaffolder.provisioning.actions import (
    AlreadyReleased,
    Requester,
    register_provisioning_actions,
    release_claim,
    request_claim,
)
from scaffolder.provisioning.gitops import GitOpsError
from scaffolder.provisioning.models import Claim, available_offerings
from tests.provisioning.conftest import VALUES, commit_count, files, git

pytestmark = pytest.mark.django_db


@pytest.fixture
def claim(teams, gitops, alice):
    return request_claim(available_offerings()["redis"], "team-a", "sessions", VALUES["redis"],
                         Requester.from_user(alice))


def release_url(claim):
    return reverse("provisioning:release", args=[claim.pk])


def test_an_owner_releases_with_one_commit_and_the_entity_becomes_a_released_orphan(client, bob, claim, gitops):
    client.force_login(bob)  # a member of team-a, not the requester
    response = client.post(release_url(claim))
    assert response.status_code == 302
    claim.refresh_from_db()
    assert claim.status == Claim.Status.RELEASED and claim.released_by == "user:default/bob"
    assert [c["action"] for c in claim.commits] == ["request", "release"]
    assert commit_count(gitops) == 2
    assert files(gitops) == ["catalog-info.yaml"]
    assert "No provisioned resources" in git(gitops, "show", "main:catalog-info.yaml")
    assert git(gitops, "log", "-1", "--format=%s", "main").strip() == "Release cache sessions of team-a"
    entity = Entity.objects.get(ref="resource:team-a/sessions")
    assert entity.orphan
    assert entity.data["metadata"]["annotations"]["causeway.dev/claim-status"] == "released"
    event = AuditEvent.objects.get(action="provisioning.claim.release")
    assert event.actor == bob and event.before["status"] == "requested"
    page = client.get(claim.get_absolute_url()).content.decode()
    assert "released" in page and 'data-testid="release-button"' not in page


def test_strangers_may_not_release(client, charlie, claim, gitops):
    client.force_login(charlie)
    page = client.get(claim.get_absolute_url()).content.decode()
    assert 'data-testid="release-button"' not in page
    assert client.post(release_url(claim)).status_code == 403
    claim.refresh_from_db()
    assert claim.status == Claim.Status.REQUESTED and commit_count(gitops) == 1


def test_staff_and_the_requester_may_release(staff_client, claim):
    assert staff_client.post(release_url(claim)).status_code == 302
    claim.refresh_from_db()
    assert claim.status == Claim.Status.RELEASED


def test_releasing_twice_says_so_and_commits_once(alice_client, claim, gitops):
    alice_client.post(release_url(claim))
    response = alice_client.post(release_url(claim), follow=True)
    assert "was already released" in response.content.decode()
    assert commit_count(gitops) == 2


def test_a_failed_push_releases_nothing(alice, claim, gitops, settings, tmp_path):
    settings.PROVISIONING_GITOPS_REPO = str(tmp_path / "not-a-repo" / "x.git")
    (tmp_path / "not-a-repo" / "x.git").mkdir(parents=True)
    (tmp_path / "not-a-repo" / "x.git" / "junk").write_text("x")
    with pytest.raises(GitOpsError):
        release_claim(claim, Requester.from_user(alice))
    claim.refresh_from_db()
    assert claim.status == Claim.Status.REQUESTED
    with pytest.raises(AlreadyReleased):
        settings.PROVISIONING_GITOPS_REPO = str(gitops)
        release_claim(claim, Requester.from_user(alice))
        release_claim(claim, Requester.from_user(alice))


def test_the_release_button_on_the_catalog_tab_returns_to_the_tab(alice_client, claim):
    tab = reverse("catalog:entity-tab", args=["team-a", "resource", "sessions", "claim"])
    response = alice_client.post(release_url(claim), {"next": tab})
    assert response.url == tab
    response = alice_client.post(release_url(claim), {"next": "https://evil.example.com/"})
    assert response.url == claim.get_absolute_url()


def test_the_platform_release_action_removes_the_claim(claim, gitops, tmp_path):
    registry = register_provisioning_actions(ActionRegistry())
    action = registry.get("platform:release")
    stranger = ActionContext(workspace=None, user=UserInfo(ref="user:default/charlie"), log_sink=lambda line: None)
    with pytest.raises(ActionError, match="may not release"):
        action.handler(stranger, {"entityRef": "resource:team-a/sessions"})
    owner = ActionContext(workspace=None, user=UserInfo(ref="user:default/bob"), log_sink=lambda line: None)
    output = action.handler(owner, {"entityRef": "team-a/sessions", "reason": "not needed"})
    claim.refresh_from_db()
    assert claim.status == Claim.Status.RELEASED and output["commitHash"] == claim.commit_sha
    assert "Reason: not needed" in git(gitops, "log", "-1", "--format=%B", "main")
    with pytest.raises(ActionError, match="no held claim"):
        action.handler(owner, {"claimPath": claim.claim_path})
