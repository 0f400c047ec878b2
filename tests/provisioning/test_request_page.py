"""The request flow: a form per offering, a cost estimate before confirming, errors beside fields."""

import pytest
from django.urls import reverse

from scaffolder.provisioning.models import Claim
from tests.provisioning.conftest import SHA, commit_count

pytestmark = pytest.mark.django_db


def url(key="preview-environment"):
    return reverse("provisioning:request", args=[key])


PREVIEW_POST = {
    "team": "team-a",
    "name": "cart-preview",
    "values-repository": "https://git.example.com/acme/shop",
    "values-branch": "feature/cart",
    "values-commit": SHA,
    "values-dependencies": "payments=1.4.2\nledger=2.0.0",
    "values-cpu": "",
    "values-memory": "",
    "values-ttl": "72h",
}


def test_the_form_is_built_from_the_offering_schema_with_the_users_teams(alice_client, teams):
    response = alice_client.get(url("postgresql"))
    assert response.status_code == 200
    body = response.content.decode()
    assert 'name="values-tier"' in body and 'value="production"' in body
    assert 'name="values-size"' in body and 'name="values-version"' in body
    assert list(response.context["claim_form"].fields["team"].choices) == [("team-a", "team-a")]


def test_staff_may_order_for_any_group(staff_client, teams):
    response = staff_client.get(url("redis"))
    assert list(response.context["claim_form"].fields["team"].choices) == [
        ("", "Choose a team"), ("team-a", "team-a"), ("team-b", "team-b")]


def test_people_without_a_team_are_told_why_they_cannot_order(client, charlie, teams):
    client.force_login(charlie)
    response = client.get(url("redis"))
    assert "not a member of any team" in response.content.decode()
    response = client.post(url("redis"), {"team": "team-a", "name": "x", "action": "confirm"})
    assert response.status_code == 200 and not Claim.objects.exists()


def test_an_unknown_offering_is_a_404(alice_client, teams):
    assert alice_client.get(url("oracle")).status_code == 404


def test_estimating_shows_the_cost_and_commits_nothing(alice_client, teams, gitops):
    response = alice_client.post(url(), {**PREVIEW_POST, "action": "estimate"})
    assert response.status_code == 200
    estimate = response.context["estimate"]
    # 0.5 CPU x 72 h x 0.04 + 1 GiB x 72 h x 0.005
    assert str(estimate.total) == "1.80"
    body = response.content.decode()
    assert "Confirm request" in body and "1.80" in body
    assert commit_count(gitops) == 0 and not Claim.objects.exists()


def test_the_estimate_is_a_partial_for_htmx(alice_client, teams, gitops):
    response = alice_client.post(url(), {**PREVIEW_POST, "action": "estimate"}, HTTP_HX_REQUEST="true")
    body = response.content.decode()
    assert "<html" not in body and 'id="estimate"' in body and "1.80" in body


def test_confirming_commits_the_claim_and_shows_it(alice_client, teams, gitops):
    response = alice_client.post(url(), {**PREVIEW_POST, "action": "confirm"})
    claim = Claim.objects.get()
    assert response.status_code == 302 and response.url == claim.get_absolute_url()
    assert claim.values["dependencies"] == [{"name": "payments", "version": "1.4.2"},
                                            {"name": "ledger", "version": "2.0.0"}]
    assert claim.values["cpu"] == "500m"  # the default for an empty field
    assert commit_count(gitops) == 1
    page = alice_client.get(response.url)
    body = page.content.decode()
    assert "cart-preview" in body and "claims/team-a/preview-environment/cart-preview.yaml" in body
    assert claim.commit_sha[:12] in body and "kind: PreviewEnvironment" in body
    assert "Release" in body  # alice is an owner
    listing = alice_client.get(reverse("provisioning:index")).content.decode()
    assert "cart-preview" in listing and ">requested<" in listing and ">2d23h<" in listing


def test_errors_are_shown_beside_their_fields_and_nothing_is_committed(alice_client, teams, gitops):
    response = alice_client.post(url(), {
        **PREVIEW_POST, "name": "Bad_Name", "values-commit": "main", "values-ttl": "forever",
        "values-dependencies": "payments=latest\nnonsense", "action": "confirm",
    })
    assert response.status_code == 200
    claim_form, parameters = response.context["claim_form"], response.context["parameters"]
    assert "'Bad_Name' is not a valid name" in claim_form.errors["name"][0]
    assert "full 40-character commit SHA" in parameters.errors["commit"][0]
    assert "duration such as 72h" in parameters.errors["ttl"][0]
    assert "Line 2: write name=version" in parameters.errors["dependencies"][0]
    body = response.content.decode()
    assert 'data-testid="error-commit"' in body and 'data-testid="error-name"' in body
    assert response.context["estimate"] is None
    assert commit_count(gitops) == 0 and not Claim.objects.exists()


def test_errors_inside_list_entries_name_the_entry(alice_client, teams, gitops):
    response = alice_client.post(url(), {**PREVIEW_POST, "values-dependencies": "payments=latest",
                                         "action": "confirm"})
    message = response.context["parameters"].errors["dependencies"][0]
    assert message.startswith("entry 1, version:") and "exact stable version" in message
    assert not Claim.objects.exists()


def test_a_team_the_user_is_not_in_is_refused(alice_client, teams, gitops):
    response = alice_client.post(url(), {**PREVIEW_POST, "team": "team-b", "action": "confirm"})
    assert "team-b is not one of the available choices" in response.context["claim_form"].errors["team"][0]
    assert commit_count(gitops) == 0


def test_a_number_field_that_is_not_a_number_is_reported_once(alice_client, teams, gitops):
    response = alice_client.post(url("team-namespace"), {"team": "team-a", "name": "shop",
                                                         "values-podsQuota": "many", "action": "confirm"})
    assert response.context["parameters"].errors["podsQuota"] == ["Enter a whole number."]
    assert not Claim.objects.exists()


def test_the_resources_page_lists_claims_by_team_with_costs(alice_client, teams, gitops):
    alice_client.post(url(), {**PREVIEW_POST, "action": "confirm"})
    alice_client.post(url("redis"), {"team": "team-a", "name": "sessions", "values-tier": "standard",
                                     "values-size": "small", "values-version": "7.4", "action": "confirm"})
    response = alice_client.get(reverse("provisioning:index"))
    team = response.context["teams"][0]
    assert team["team"] == "team-a" and team["count"] == 2
    assert str(team["cost"]) == "31.80" and str(response.context["total"]) == "31.80"
    body = response.content.decode()
    assert "sessions" in body and "cart-preview" in body and "31.80" in body
    partial = alice_client.get(reverse("provisioning:index"), {"status": "released"}, HTTP_HX_REQUEST="true")
    assert "<html" not in partial.content.decode() and "No resources match" in partial.content.decode()
