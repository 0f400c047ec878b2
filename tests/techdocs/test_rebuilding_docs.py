"""Rebuilding on demand: owners and staff may, strangers may not; the API does the same with a token."""

import pytest
from rest_framework.authtoken.models import Token

from portal.models import AuditEvent
from techdocs.models import DocPage, DocSite

pytestmark = pytest.mark.django_db

REBUILD_URL = "/docs/_rebuild/default/component/payments/"
API_URL = "/api/techdocs/default/component/payments/build"


def test_an_owner_sees_and_uses_the_rebuild_button(alice_client, built):
    page = alice_client.get("/docs/default/component/payments/").content.decode()
    assert 'data-testid="docs-rebuild"' in page
    old_ids = set(DocPage.objects.values_list("pk", flat=True))
    response = alice_client.post(REBUILD_URL, {"next": "/docs/default/component/payments/reference/"}, follow=True)
    assert response.redirect_chain[-1][0] == "/docs/default/component/payments/reference/"
    assert "Built 4 pages" in response.content.decode()
    assert not old_ids & set(DocPage.objects.values_list("pk", flat=True))
    event = AuditEvent.objects.get(action="techdocs.site.rebuild")
    assert event.actor_name == "alice"


def test_a_stranger_is_refused_and_nothing_is_rebuilt(client, charlie, built):
    client.force_login(charlie)
    page = client.get("/docs/default/component/payments/").content.decode()
    assert 'data-testid="docs-rebuild"' not in page
    old_ids = set(DocPage.objects.values_list("pk", flat=True))
    response = client.post(REBUILD_URL)
    assert response.status_code == 403
    assert set(DocPage.objects.values_list("pk", flat=True)) == old_ids
    assert not AuditEvent.objects.filter(action="techdocs.site.rebuild").exists()


def test_staff_may_rebuild_anything(staff_client, built):
    response = staff_client.post(REBUILD_URL, follow=True)
    assert response.status_code == 200
    assert AuditEvent.objects.filter(action="techdocs.site.rebuild", actor_name="sam").exists()


def test_a_rebuild_after_a_broken_commit_shows_the_error(alice_client, built, docs_repo):
    (docs_repo / "mkdocs.yml").write_text("nav: [\n")
    response = alice_client.post(REBUILD_URL, follow=True)
    body = response.content.decode()
    assert "The docs build failed" in body
    assert "The last build failed" in body
    assert DocSite.objects.get().page_count == 4


def test_rebuild_does_not_redirect_off_site(alice_client, built):
    response = alice_client.post(REBUILD_URL, {"next": "https://evil.example.com/"})
    assert response["Location"] == "/docs/default/component/payments/"


def test_the_api_builds_with_a_token_for_owners(client, alice, built):
    token = Token.objects.create(user=alice)
    response = client.post(API_URL, {}, content_type="application/json", HTTP_AUTHORIZATION=f"Token {token.key}")
    assert response.status_code == 200, response.content
    assert response.json()["outcome"]["status"] == "unchanged"
    response = client.post(API_URL, {"force": True}, content_type="application/json",
                           HTTP_AUTHORIZATION=f"Token {token.key}")
    assert response.json()["outcome"]["status"] == "built"
    assert response.json()["site"]["status"] == "ok"
    assert len(response.json()["site"]["pages"]) == 4
    assert AuditEvent.objects.filter(action="techdocs.site.build", actor_name="alice").count() == 2


def test_the_api_refuses_strangers_and_anonymous_callers(client, charlie, built):
    assert client.post(API_URL).status_code in (401, 403)
    token = Token.objects.create(user=charlie)
    response = client.post(API_URL, HTTP_AUTHORIZATION=f"Token {token.key}")
    assert response.status_code == 403
    assert not AuditEvent.objects.filter(action="techdocs.site.build").exists()


def test_the_api_reports_status_and_missing_entities(client, alice, built):
    token = Token.objects.create(user=alice)
    auth = {"HTTP_AUTHORIZATION": f"Token {token.key}"}
    status = client.get("/api/techdocs/default/component/payments", **auth).json()
    assert status["status"] == "ok" and status["siteName"] == "Payments handbook"
    assert client.get("/api/techdocs/default/component/nothing", **auth).status_code == 404
    assert client.post("/api/techdocs/default/component/nothing/build", **auth).status_code == 404
    assert client.post("/api/techdocs/default/component/ledger/build", **auth).status_code in (400, 403)


def test_staff_see_sites_in_admin_and_rebuild_them_there(staff_client, built):
    listing = staff_client.get("/admin/techdocs/docsite/")
    assert listing.status_code == 200 and "component:default/payments" in listing.content.decode()
    assert staff_client.get(f"/admin/techdocs/docsite/{built.pk}/change/").status_code == 200
    response = staff_client.post("/admin/techdocs/docsite/", {"action": "rebuild", "_selected_action": [built.pk]},
                                 follow=True)
    assert "Built 4 pages" in response.content.decode()
    assert AuditEvent.objects.filter(action="techdocs.site.rebuild", actor_name="sam").exists()
