"""What admins edit (offerings, quota policies, claims) and the demo data."""

import io
import json

import pytest
from django.urls import reverse

from catalog.ingest import refresh_location
from catalog.models import Location
from portal.models import AuditEvent
from scaffolder.provisioning import demo
from scaffolder.provisioning.models import Claim, Offering, QuotaPolicy, available_offerings, seed_builtin_offerings
from tests.provisioning.conftest import CATALOG, commit_count

pytestmark = pytest.mark.django_db


def test_the_builtin_offerings_are_seeded_and_read_back_unchanged():
    seed_builtin_offerings()
    rows = {row.key: row for row in Offering.objects.all()}
    assert set(rows) == {"postgresql", "mysql", "redis", "preview-environment", "team-namespace"}
    builtin = available_offerings()
    for key, row in rows.items():
        assert row.builtin and row.as_offering() == builtin[key]
    assert seed_builtin_offerings() == 0


def test_a_disabled_offering_cannot_be_requested(alice_client):
    seed_builtin_offerings()
    Offering.objects.filter(key="mysql").update(enabled=False)
    assert "mysql" not in available_offerings()
    assert alice_client.get(reverse("provisioning:request", args=["mysql"])).status_code == 404
    assert "MySQL" not in alice_client.get(reverse("provisioning:new")).content.decode()


def test_admins_add_an_offering_and_bad_definitions_are_refused_in_the_form(staff_client):
    seed_builtin_offerings()
    definition = dict(Offering.objects.get(key="redis").definition)
    definition["engine"] = "valkey"
    definition["claim_kind"] = "ValkeyInstance"
    add = reverse("admin:provisioning_offering_add")
    response = staff_client.post(add, {"key": "valkey", "title": "Valkey cache", "enabled": "on", "position": 5,
                                       "definition": json.dumps(definition)})
    assert response.status_code == 302, response.content.decode()[:2000]
    assert available_offerings()["valkey"].claim_kind == "ValkeyInstance"
    assert list(available_offerings())[0] == "valkey"  # position 5 comes first
    assert AuditEvent.objects.filter(action="provisioning.offering.add").exists()
    broken = {**definition, "model": "mainframe"}
    response = staff_client.post(add, {"key": "broken", "title": "Broken", "enabled": "on", "position": 1,
                                       "definition": json.dumps(broken)})
    assert response.status_code == 200 and "model &#x27;mainframe&#x27; is not one of" in response.content.decode()
    assert not Offering.objects.filter(key="broken").exists()


def test_quota_policies_are_validated_and_audited_in_admin(staff_client):
    add = reverse("admin:provisioning_quotapolicy_add")
    response = staff_client.post(add, {"group": "team-a", "max_count_by_offering": "{}",
                                       "max_count_by_resource_type": '{"database": "two"}', "name_pattern": "(",
                                       "max_ttl": "forever"})
    assert response.status_code == 200 and not QuotaPolicy.objects.exists()
    response = staff_client.post(add, {"group": "team-a", "max_count_by_offering": '{"postgresql": 1}',
                                       "max_count_by_resource_type": '{"database": 2}', "max_monthly_cost": "250",
                                       "allowed_tiers": "internal,standard", "max_ttl": "3d"})
    assert response.status_code == 302
    policy = QuotaPolicy.objects.get().as_policy()
    assert policy.max_count_by_resource_type == {"database": 2} and policy.allowed_tiers == {"internal", "standard"}
    assert AuditEvent.objects.filter(action="provisioning.quotapolicy.add").exists()


def test_claims_are_read_only_in_admin(staff_client):
    assert staff_client.get(reverse("admin:provisioning_claim_changelist")).status_code == 200
    assert staff_client.get(reverse("admin:provisioning_claim_add")).status_code == 403


def test_the_demo_loads_claims_for_the_catalog_groups_and_is_idempotent(tmp_path, settings, sam):
    settings.PROVISIONING_GITOPS_REPO = str(tmp_path / "gitops.git")
    settings.CAUSEWAY_FILE_ROOTS = [str(tmp_path)]
    settings.CATALOG_GIT_CACHE_DIR = tmp_path / "cache"
    path = tmp_path / "org" / "catalog-info.yaml"
    path.parent.mkdir()
    path.write_text(CATALOG)
    refresh_location(Location.objects.create(type="file", target=str(path)))
    out = io.StringIO()
    demo.load(out)
    claims = Claim.objects.holding()
    assert claims.count() == 4, out.getvalue()
    assert set(claims.values_list("offering", flat=True)) == {"postgresql", "redis", "preview-environment",
                                                               "team-namespace"}
    preview = claims.get(offering="preview-environment")
    assert preview.status == Claim.Status.EXPIRING
    assert QuotaPolicy.objects.count() == 2
    commits = commit_count(tmp_path / "gitops.git")
    demo.load(io.StringIO())
    assert Claim.objects.count() == 4 and commit_count(tmp_path / "gitops.git") == commits


def test_the_home_page_and_search_know_about_claims(alice_client, teams, gitops, alice):
    from scaffolder.provisioning.actions import Requester, request_claim
    from tests.provisioning.conftest import VALUES

    request_claim(available_offerings()["redis"], "team-a", "sessions", VALUES["redis"], Requester.from_user(alice))
    home = alice_client.get(reverse("home")).content.decode()
    assert reverse("provisioning:index") in home
    results = alice_client.get(reverse("search"), {"q": "sessions"}).content.decode()
    assert reverse("provisioning:claim", args=[Claim.objects.get().pk]) in results
