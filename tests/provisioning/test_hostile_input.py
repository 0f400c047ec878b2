"""Hostile input: names that would leave the repository or break Kubernetes, YAML injection through
string values (serialised, never pasted), and a repository whose folders point elsewhere."""

import os
import subprocess

import pytest
import yaml
from django.urls import reverse

from scaffolder.provisioning.actions import Requester, request_claim
from scaffolder.provisioning.gitops import GitOpsError, GitOpsRepository, WorkTree
from scaffolder.provisioning.models import Claim, available_offerings
from scaffolder.provisioning.offerings import ValidationFailed
from tests.provisioning.conftest import PREVIEW_VALUES, VALUES, commit_count, show

pytestmark = pytest.mark.django_db

HOSTILE_NAMES = [
    "../../etc/passwd", "..", "a/b", "a\\b", "Orders", "orders_db", "-orders", "orders-", "x" * 64, "orders.db",
    "café", "",
]


@pytest.mark.parametrize("name", HOSTILE_NAMES)
def test_names_that_are_not_dns_labels_are_refused_by_the_form(alice_client, teams, gitops, name):
    response = alice_client.post(reverse("provisioning:request", args=["redis"]), {
        "team": "team-a", "name": name, "values-tier": "standard", "values-size": "small", "action": "confirm",
    })
    assert response.status_code == 200
    assert response.context["claim_form"].errors.get("name"), name
    assert not Claim.objects.exists() and commit_count(gitops) == 0


@pytest.mark.parametrize("name", ["../../etc/passwd", "a/b", "UPPER", "x" * 64, "orders\n", " orders"])
@pytest.mark.parametrize("field", ["name", "team"])
def test_names_and_teams_are_refused_by_the_action_path_too(teams, gitops, sam, field, name):
    args = {"team": "team-a", "name": "ok"} | {field: name}
    with pytest.raises(ValidationFailed) as refused:
        request_claim(available_offerings()["redis"], args["team"], args["name"], VALUES["redis"],
                      Requester.from_user(sam), )
    assert any(error.field == field for error in refused.value.errors)
    assert commit_count(gitops) == 0 and not (gitops.parent / "etc").exists()


def test_a_team_that_is_not_a_choice_is_refused(alice_client, teams, gitops):
    response = alice_client.post(reverse("provisioning:request", args=["redis"]), {
        "team": "../team-a", "name": "x", "values-tier": "standard", "values-size": "small", "action": "confirm",
    })
    assert response.context["claim_form"].errors["team"]
    assert commit_count(gitops) == 0


INJECTION = "fine\nkind: Secret\n---\napiVersion: v1\nkind: Secret\nmetadata: {name: stolen}\n# &a *a !!python/object"


def test_yaml_injection_through_a_free_text_value_stays_one_string(alice_client, teams, gitops):
    response = alice_client.post(reverse("provisioning:request", args=["postgresql"]), {
        "team": "team-a", "name": "orders", "values-tier": "standard", "values-size": "small",
        "values-version": "16", "values-purpose": INJECTION, "action": "confirm",
    })
    assert response.status_code == 302
    documents = list(yaml.safe_load_all(show(gitops, "claims/team-a/database/orders.yaml")))
    assert len(documents) == 1 and documents[0]["kind"] == "PostgreSQLInstance"
    assert documents[0]["metadata"]["annotations"]["causeway.dev/purpose"] == INJECTION
    entity = list(yaml.safe_load_all(show(gitops, "catalog/team-a/orders.yaml")))
    assert len(entity) == 1 and entity[0]["metadata"]["description"] == INJECTION
    assert Claim.objects.get().values["purpose"] == INJECTION


@pytest.mark.parametrize("field, value", [
    ("branch", "main\n  evil: true"),
    ("branch", "feature/{x}: y"),
    ("repository", "https://git.example.com/acme/shop\nkind: Secret"),
    ("repository", "file:///etc/passwd"),
    ("commit", "0123456789abcdef0123456789abcdef01234567\n"),
    ("ttl", "72h\n"),
])
def test_structured_string_values_with_yaml_or_newlines_are_refused(teams, gitops, alice, field, value):
    with pytest.raises(ValidationFailed) as refused:
        request_claim(available_offerings()["preview-environment"], "team-a", "pr-1",
                      {**PREVIEW_VALUES, field: value}, Requester.from_user(alice))
    assert [error.field for error in refused.value.errors] == [field]
    assert commit_count(gitops) == 0


def test_unknown_parameters_are_refused_not_passed_through(teams, gitops, alice):
    with pytest.raises(ValidationFailed, match="spec: is not a known field"):
        request_claim(available_offerings()["redis"], "team-a", "cache", {**VALUES["redis"], "spec": {"x": 1}},
                      Requester.from_user(alice))


def test_a_folder_of_the_repository_that_points_outside_is_not_written_through(teams, gitops, alice, tmp_path):
    outside = tmp_path / "outside"
    outside.mkdir()
    work = tmp_path / "seed"
    subprocess.run(["git", "init", "-q", "-b", "main", str(work)], check=True)
    os.symlink(str(outside), work / "claims")
    subprocess.run(["git", "-C", str(work), "add", "-A"], check=True)
    subprocess.run(["git", "-C", str(work), "-c", "user.name=x", "-c", "user.email=x@x", "commit", "-qm", "seed"],
                   check=True)
    subprocess.run(["git", "init", "-q", "--bare", "-b", "main", str(gitops)], check=True)
    subprocess.run(["git", "-C", str(work), "push", "-q", str(gitops), "main"], check=True)
    with pytest.raises(GitOpsError, match="resolves outside the repository"):
        request_claim(available_offerings()["redis"], "team-a", "cache", VALUES["redis"], Requester.from_user(alice))
    assert list(outside.iterdir()) == []
    claim = Claim.objects.get()
    assert claim.status == Claim.Status.FAILED and "Nothing was committed" in claim.message
    assert not claim.is_held and commit_count(gitops) == 1


def test_the_work_tree_refuses_paths_that_leave_it(tmp_path):
    tree = WorkTree(tmp_path)
    for path in ["../x.yaml", "/etc/passwd", "claims/../../x", ".git/config", "", "."]:
        with pytest.raises(GitOpsError):
            tree.write(path, "x")
    assert not (tmp_path.parent / "x.yaml").exists()


def test_a_remote_that_looks_like_an_option_is_refused():
    with pytest.raises(GitOpsError):
        GitOpsRepository("--upload-pack=touch /tmp/pwned")
