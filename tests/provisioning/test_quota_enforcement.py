"""Guardrails: a request beyond a group's quota is refused, says which quota and the usage, and
commits nothing; two requests racing for the last unit cannot both win."""

import threading
import time
from decimal import Decimal

import pytest
from django.db import connection
from django.urls import reverse

from scaffolder.provisioning import actions
from scaffolder.provisioning.actions import QuotaExceeded, Requester, request_claim
from scaffolder.provisioning.models import Claim, QuotaPolicy, available_offerings
from tests.provisioning.conftest import PREVIEW_VALUES, VALUES, commit_count, git

pytestmark = pytest.mark.django_db


def order(user, name, key="preview-environment", team="team-a", values=None):
    return request_claim(available_offerings()[key], team, name, values or VALUES[key], Requester.from_user(user))


def test_a_count_quota_refuses_with_the_quota_and_the_usage_and_commits_nothing(alice_client, alice, teams, gitops):
    QuotaPolicy.objects.create(group="team-a", max_count_by_resource_type={"preview-environment": 1})
    order(alice, "first")
    before = git(gitops, "rev-parse", "main")
    response = alice_client.post(reverse("provisioning:request", args=["preview-environment"]), {
        "team": "team-a", "name": "second", **{f"values-{k}": v for k, v in PREVIEW_VALUES.items()},
        "action": "confirm",
    })
    assert response.status_code == 200
    body = response.content.decode()
    assert "Quota &#x27;preview environments&#x27; for group team-a: 1 of 1 in use" in body
    assert "Nothing was committed" in body and 'data-testid="quota-error"' in body
    assert git(gitops, "rev-parse", "main") == before and commit_count(gitops) == 1
    assert list(Claim.objects.values_list("name", flat=True)) == ["first"]


def test_the_cost_quota_names_the_amounts(alice, teams, gitops):
    QuotaPolicy.objects.create(group="team-a", max_monthly_cost=Decimal("100"))
    order(alice, "orders-db", "postgresql")  # 65.03
    with pytest.raises(QuotaExceeded) as refused:
        order(alice, "ledger-db", "postgresql")
    assert str(refused.value) == (
        "Quota 'monthly cost' for group team-a: 65.03 of 100.00 USD in use; this request would add 65.03 USD"
    )
    assert commit_count(gitops) == 1


def test_tiers_names_and_ttls_follow_the_policy(alice, teams, gitops):
    QuotaPolicy.objects.create(group="team-a", allowed_tiers="internal, standard", name_pattern="a-.+",
                               name_rule_help="start with a-", max_ttl="1d")
    with pytest.raises(QuotaExceeded) as refused:
        order(alice, "cache", "redis")  # production tier, bad name
    codes = [violation.code for violation in refused.value.violations]
    assert codes == ["tier", "naming"]
    assert "Tier 'production' is not allowed for group team-a (allowed: internal, standard)" in str(refused.value)
    with pytest.raises(QuotaExceeded, match="3d requested, at most 1d allowed"):
        order(alice, "a-preview")
    assert commit_count(gitops) == 0


def test_the_default_policy_applies_to_groups_without_their_own(alice, teams, gitops):
    QuotaPolicy.objects.create(group="*", max_count_by_offering={"redis": 0})
    with pytest.raises(QuotaExceeded, match="Quota 'Redis cache' for group team-a: 0 of 0 in use"):
        order(alice, "cache", "redis")
    QuotaPolicy.objects.create(group="team-a")  # its own policy has no limit
    assert order(alice, "cache", "redis").status == Claim.Status.REQUESTED


def test_a_name_in_use_is_refused_but_a_released_name_may_be_used_again(alice, teams, gitops):
    claim = order(alice, "orders", "postgresql")
    with pytest.raises(QuotaExceeded, match="Name 'orders' is already used"):
        order(alice, "orders", "redis")
    from scaffolder.provisioning.actions import release_claim

    release_claim(claim, Requester.from_user(alice))
    assert order(alice, "orders", "redis").status == Claim.Status.REQUESTED


def test_released_and_failed_claims_do_not_count(alice, teams, gitops):
    QuotaPolicy.objects.create(group="team-a", max_count_by_resource_type={"cache": 1})
    Claim.objects.create(offering="redis", offering_title="Redis", resource_type="cache", team="team-a",
                         name="old", claim_path="claims/team-a/cache/old.yaml", entity_ref="resource:team-a/old",
                         status=Claim.Status.RELEASED)
    Claim.objects.create(offering="redis", offering_title="Redis", resource_type="cache", team="team-a",
                         name="broken", claim_path="claims/team-a/cache/broken.yaml",
                         entity_ref="resource:team-a/broken", status=Claim.Status.FAILED)
    assert order(alice, "new", "redis").status == Claim.Status.REQUESTED


@pytest.mark.django_db(transaction=True)
def test_two_requests_racing_for_the_last_unit_cannot_both_win(alice, teams, gitops, monkeypatch):
    QuotaPolicy.objects.create(group="team-a", max_count_by_resource_type={"preview-environment": 1})
    counted = actions.usage_of

    def slow_usage(team):
        usage = counted(team)
        time.sleep(0.5)  # widen the window between reading the usage and creating the claim
        return usage

    monkeypatch.setattr(actions, "usage_of", slow_usage)
    requester = Requester.from_user(alice)
    offering = available_offerings()["preview-environment"]
    barrier = threading.Barrier(2)
    outcomes = {}

    def race(name):
        try:
            barrier.wait(timeout=10)
            request_claim(offering, "team-a", name, PREVIEW_VALUES, requester)
            outcomes[name] = "won"
        except QuotaExceeded as exc:
            outcomes[name] = str(exc)
        except Exception as exc:  # shown by the assertion below
            outcomes[name] = repr(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=race, args=(name,)) for name in ("left", "right")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert sorted(outcomes.values())[-1] == "won", outcomes
    refused = [text for text in outcomes.values() if text != "won"]
    assert refused == ["Quota 'preview environments' for group team-a: 1 of 1 in use"], outcomes
    assert Claim.objects.count() == 1 and commit_count(gitops) == 1
