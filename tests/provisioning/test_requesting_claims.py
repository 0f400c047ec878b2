"""Requesting a resource through the platform:claim action: manifests committed, Resource registered."""

import pytest
import yaml

from catalog.models import Entity, Location
from portal.models import AuditEvent
from scaffolder.actions import ActionContext, ActionError, ActionRegistry, UserInfo, default_registry
from scaffolder.provisioning.actions import (
    Requester,
    register_provisioning_actions,
    request_claim,
)
from scaffolder.provisioning.models import Claim, available_offerings
from scaffolder.workspace import Workspace
from tests.provisioning.conftest import VALUES, commit_count, files, git, show

pytestmark = pytest.mark.django_db


def run_action(action_id, data, user_ref="user:default/alice", dry_run=False, tmp_path=None):
    registry = register_provisioning_actions(ActionRegistry())
    lines = []
    ctx = ActionContext(
        workspace=Workspace.create(tmp_path) if tmp_path else None,
        user=UserInfo(ref=user_ref), dry_run=dry_run, log_sink=lines.append,
    )
    output = registry.get(action_id).handler(ctx, data)
    return output, lines


@pytest.mark.parametrize("key", ["postgresql", "mysql", "redis", "preview-environment", "team-namespace"])
def test_each_offering_is_committed_to_the_gitops_repository_through_the_action(key, teams, gitops, tmp_path):
    output, _ = run_action("platform:claim", {
        "offering": key, "team": "team-a", "name": f"my-{key}"[:40], "parameters": VALUES[key],
    }, tmp_path=tmp_path / "ws")
    offering = available_offerings()[key]
    path = f"claims/team-a/{offering.resource_type}/my-{key}.yaml"
    assert output["claimPath"] == path
    assert output["commitHash"] == git(gitops, "rev-parse", "main").strip()
    documents = list(yaml.safe_load_all(show(gitops, path)))
    assert documents, "the claim file holds the manifests"
    for document in documents:
        assert document["metadata"]["labels"]["causeway.dev/team"] == "team-a"
        assert document["metadata"]["annotations"]["causeway.dev/claim-path"] == path
    if key == "team-namespace":
        assert [d["kind"] for d in documents][:2] == ["Namespace", "ResourceQuota"]
        assert documents[1]["spec"]["hard"]["requests.cpu"] == "4"
    else:
        assert documents[0]["kind"] == offering.claim_kind
        assert documents[0]["metadata"]["namespace"] == "team-a"
    entity = yaml.safe_load(show(gitops, f"catalog/team-a/my-{key}.yaml"))
    assert entity["kind"] == "Resource" and entity["spec"]["owner"] == "group:default/team-a"
    claim = Claim.objects.get(name=f"my-{key}")
    assert claim.status == Claim.Status.REQUESTED and claim.commit_sha == output["commitHash"]
    assert claim.manifests == show(gitops, path)


def test_the_claim_records_cost_values_history_and_the_audit_trail(teams, gitops, alice):
    offering = available_offerings()["postgresql"]
    claim = request_claim(offering, "team-a", "orders-db", VALUES["postgresql"], Requester.from_user(alice))
    assert claim.requested_by == alice and claim.requested_by_ref == "user:default/alice"
    assert claim.values["version"] == "17" and claim.values["purpose"] == "Orders"  # defaults applied
    assert str(claim.estimated_monthly_cost) == "65.03" and claim.currency == "USD"
    assert [line["label"] for line in claim.cost_lines] == ["instances", "storage", "backups"]
    assert [c["action"] for c in claim.commits] == ["request"]
    assert claim.commits[0]["sha"] == claim.commit_sha
    event = AuditEvent.objects.get(action="provisioning.claim.request")
    assert event.actor == alice and event.after["claim_path"] == "claims/team-a/database/orders-db.yaml"
    author = git(gitops, "log", "-1", "--format=%an <%ae>|%cn", "main").strip()
    assert author == "Alice <alice@example.com>|Causeway Provisioning"


def test_the_resource_is_registered_in_the_catalog_through_a_git_location(teams, gitops, alice):
    offering = available_offerings()["redis"]
    request_claim(offering, "team-a", "sessions", VALUES["redis"], Requester.from_user(alice))
    location = Location.objects.get(type="git")
    assert location.target == str(gitops) and location.git_path == "catalog-info.yaml"
    entity = Entity.objects.get(ref="resource:team-a/sessions")
    assert entity.owner_ref == "group:default/team-a" and entity.spec_type == "cache"
    assert not entity.orphan
    index = yaml.safe_load(show(gitops, "catalog-info.yaml"))
    assert index["kind"] == "Location" and index["spec"]["targets"] == ["./catalog/team-a/sessions.yaml"]
    # A second claim adds itself to the same Location.
    request_claim(available_offerings()["mysql"], "team-a", "ledger", VALUES["mysql"], Requester.from_user(alice))
    assert Location.objects.filter(type="git").count() == 1
    assert set(Entity.objects.filter(kind="resource").values_list("name", flat=True)) == {"sessions", "ledger"}
    assert sorted(files(gitops)) == [
        "catalog-info.yaml", "catalog/team-a/ledger.yaml", "catalog/team-a/sessions.yaml",
        "claims/team-a/cache/sessions.yaml", "claims/team-a/database/ledger.yaml",
    ]


def test_the_gitops_repository_is_created_on_first_use(teams, gitops, alice):
    assert not gitops.exists()
    request_claim(available_offerings()["redis"], "team-a", "cache-1", VALUES["redis"], Requester.from_user(alice))
    assert (gitops / "HEAD").is_file() and commit_count(gitops) == 1


def test_a_dry_run_renders_and_checks_but_commits_nothing(teams, gitops, tmp_path):
    output, lines = run_action("platform:claim", {
        "offering": "redis", "team": "team-a", "name": "cache", "parameters": VALUES["redis"],
    }, dry_run=True, tmp_path=tmp_path / "ws")
    assert output["claimPath"] == "claims/team-a/cache/cache.yaml" and output["commitHash"] == ""
    assert any("Dry run" in line for line in lines)
    assert commit_count(gitops) == 0 and not Claim.objects.exists()


def test_the_action_refuses_teams_the_user_is_not_a_member_of(teams, gitops, tmp_path):
    with pytest.raises(ActionError, match="not a member of group team-b"):
        run_action("platform:claim", {"offering": "redis", "team": "team-b", "name": "x",
                                      "parameters": VALUES["redis"]}, tmp_path=tmp_path / "ws")
    with pytest.raises(ActionError, match="not a member"):
        run_action("platform:claim", {"offering": "redis", "team": "team-a", "name": "x",
                                      "parameters": VALUES["redis"]}, user_ref="user:default/charlie",
                   tmp_path=tmp_path / "ws")
    assert commit_count(gitops) == 0


def test_the_action_reports_invalid_values_by_field(teams, gitops, tmp_path):
    with pytest.raises(ActionError, match="tier: 'gold' is not one of the choices"):
        run_action("platform:claim", {"offering": "redis", "team": "team-a", "name": "x",
                                      "parameters": {"tier": "gold"}}, tmp_path=tmp_path / "ws")
    with pytest.raises(ActionError, match="no offering 'oracle'"):
        run_action("platform:claim", {"offering": "oracle", "team": "team-a", "name": "x"}, tmp_path=tmp_path / "ws")
    assert commit_count(gitops) == 0


def test_the_actions_join_the_scaffolder_registry():
    registry = register_provisioning_actions(default_registry())
    assert "platform:claim" in registry and "platform:release" in registry
    register_provisioning_actions(registry)  # twice is harmless
