"""The catalog's pages: list with facets, entity pages, locations and the import flow."""

import pytest
from django.urls import reverse

from catalog.ingest import refresh_location
from catalog.models import Entity, Location
from portal.models import AuditEvent
from tests.catalog.test_ingest import GROUP, component, write

pytestmark = pytest.mark.django_db

API = """
apiVersion: backstage.io/v1alpha1
kind: API
metadata: {name: payments-api, description: Take payments}
spec:
  type: openapi
  lifecycle: production
  owner: team-a
  definition: |
    openapi: 3.0.0
    info: {title: Payments, version: 1.2.0}
    paths:
      /payments/{id}:
        get:
          summary: Fetch a payment
          parameters: [{name: id, in: path, required: true, schema: {type: string}}]
          responses: {"200": {description: The payment}}
"""


@pytest.fixture
def catalog(tmp_path, settings, alice):
    settings.CAUSEWAY_FILE_ROOTS = [str(tmp_path)]
    path = write(
        tmp_path, "catalog-info.yaml", GROUP,
        component("payments", providesApis="[payments-api]", dependsOn="[component:ledger]"),
        component("ledger"),
        component("checkout", owner="team-b").replace("type: service", "type: website"),
        API,
    )
    location = Location.objects.create(type="file", target=str(path), created_by=alice)
    refresh_location(location)
    return location


def test_the_list_shows_entities_with_facet_counts(alice_client, catalog):
    response = alice_client.get(reverse("catalog:index"))
    assert response.status_code == 200
    body = response.content.decode()
    assert "payments" in body and "ledger" in body
    kind_facet = next(f for f in response.context["facets"] if f["param"] == "kind")
    counts = {v.value: v.count for v in kind_facet["values"]}
    assert counts == {"component": 3, "api": 1, "group": 1}


def test_facets_filter_and_combine(alice_client, catalog):
    response = alice_client.get(reverse("catalog:index"), {"kind": "component", "type": "website"})
    names = [e.name for e in response.context["page"].object_list]
    assert names == ["checkout"]
    # the type facet still counts every type of the other filters' result, so it can be switched
    type_facet = next(f for f in response.context["facets"] if f["param"] == "type")
    assert {v.value: v.count for v in type_facet["values"]} == {"service": 2, "website": 1, "openapi": 1} or \
        {v.value: v.count for v in type_facet["values"]} == {"service": 2, "website": 1}


def test_text_filter_and_htmx_partial(alice_client, catalog):
    response = alice_client.get(reverse("catalog:index"), {"q": "ledger"}, HTTP_HX_REQUEST="true")
    body = response.content.decode()
    assert "<html" not in body
    assert reverse("catalog:entity", args=["default", "component", "ledger"]) in body
    assert reverse("catalog:entity", args=["default", "component", "payments"]) not in body


def test_the_entity_page_shows_owner_relations_and_graph(alice_client, catalog):
    response = alice_client.get(reverse("catalog:entity", args=["default", "component", "payments"]))
    assert response.status_code == 200
    body = response.content.decode()
    assert "The payments service" in body
    assert reverse("catalog:entity", args=["default", "group", "team-a"]) in body
    assert "Provides APIs" in body and "Depends on" in body
    assert "<svg" in body


def test_a_missing_reference_is_shown_as_missing(alice_client, catalog):
    response = alice_client.get(reverse("catalog:entity", args=["default", "component", "checkout"]))
    assert "group:default/team-b (missing)" in response.content.decode()


def test_an_unknown_entity_is_a_404(alice_client, catalog):
    assert alice_client.get(reverse("catalog:entity", args=["default", "component", "nope"])).status_code == 404


def test_an_api_page_shows_its_operations(alice_client, catalog):
    response = alice_client.get(reverse("catalog:entity-tab", args=["default", "api", "payments-api", "definition"]))
    body = response.content.decode()
    assert response.status_code == 200
    assert "/payments/{id}" in body and "Fetch a payment" in body and "Payments" in body


def test_group_pages_list_what_the_group_owns(alice_client, catalog):
    response = alice_client.get(reverse("catalog:entity", args=["default", "group", "team-a"]))
    sections = {s.type: [i.name for i in s.items] for s in response.context["sections"]}
    assert sorted(sections["ownerOf"]) == ["ledger", "payments", "payments-api"]


def test_registering_a_location_previews_then_imports(alice_client, tmp_path, settings, alice):
    settings.CAUSEWAY_FILE_ROOTS = [str(tmp_path)]
    path = write(tmp_path, "new/catalog-info.yaml", GROUP, component("billing"))
    url = reverse("catalog:location-register")
    response = alice_client.post(url, {"target": str(path), "confirm": "analyse"})
    assert response.status_code == 200
    assert "component:default/billing" in response.content.decode()
    assert not Location.objects.exists() and not Entity.objects.exists()  # a preview stores nothing

    response = alice_client.post(url, {"target": str(path), "confirm": "import"})
    location = Location.objects.get()
    assert response.status_code == 302 and response.url == location.get_absolute_url()
    assert Entity.objects.filter(ref="component:default/billing", location=location).exists()
    event = AuditEvent.objects.get(action="catalog.location.register")
    assert event.actor == alice and event.after["target"] == str(path)


@pytest.mark.parametrize("target, message", [
    ("/etc/passwd", "CAUSEWAY_FILE_ROOTS"),
    ("https://evil.example.com/catalog-info.yaml", "CAUSEWAY_READ_ALLOW"),
])
def test_a_location_that_cannot_be_read_shows_why_and_stores_nothing(alice_client, target, message):
    response = alice_client.post(reverse("catalog:location-register"), {"target": target, "confirm": "import"})
    assert response.status_code == 200
    assert message in response.content.decode()
    assert not Location.objects.exists()


def test_refreshing_a_location_reports_the_result(alice_client, catalog):
    response = alice_client.post(reverse("catalog:location-refresh", args=[catalog.pk]), follow=True)
    assert response.status_code == 200
    assert "unchanged" in response.content.decode()


def test_only_the_registrant_or_staff_remove_a_location(client, catalog, charlie, alice):
    client.force_login(charlie)
    assert client.post(reverse("catalog:location-delete", args=[catalog.pk])).status_code == 403
    client.force_login(alice)
    response = client.post(reverse("catalog:location-delete", args=[catalog.pk]))
    assert response.status_code == 302
    assert not Location.objects.exists()
    assert Entity.objects.filter(orphan=True).count() == 5  # kept as orphans, not dropped


def test_staff_remove_orphans_and_only_orphans(staff_client, catalog):
    url = reverse("catalog:entity-delete", args=["default", "component", "payments"])
    staff_client.post(url)
    assert Entity.objects.filter(ref="component:default/payments").exists()
    Entity.objects.filter(ref="component:default/payments").update(orphan=True)
    staff_client.post(url)
    assert not Entity.objects.filter(ref="component:default/payments").exists()
    assert AuditEvent.objects.filter(action="catalog.entity.delete").exists()


def test_script_in_entity_fields_is_escaped(alice_client, tmp_path, settings):
    settings.CAUSEWAY_FILE_ROOTS = [str(tmp_path)]
    hostile = (
        "apiVersion: backstage.io/v1alpha1\nkind: Component\nmetadata:\n  name: evil\n"
        "  title: '<script>alert(1)</script>'\n  description: '<img src=x onerror=alert(1)>'\n"
        "  links: [{url: 'javascript:alert(1)', title: click}]\n"
        "spec: {type: service, lifecycle: production, owner: team-a}\n"
    )
    refresh_location(Location.objects.create(type="file", target=str(write(tmp_path, "c.yaml", hostile))))
    body = alice_client.get(reverse("catalog:entity", args=["default", "component", "evil"])).content.decode()
    assert "<script>alert(1)</script>" not in body
    assert "<img src=x" not in body
    assert 'href="javascript:' not in body
    listing = alice_client.get(reverse("catalog:index")).content.decode()
    assert "<script>alert(1)</script>" not in listing


def test_global_search_finds_entities(alice_client, catalog):
    response = alice_client.get(reverse("search"), {"q": "ledger"})
    assert reverse("catalog:entity", args=["default", "component", "ledger"]) in response.content.decode()


def test_home_counts_catalog_entities(alice_client, catalog):
    body = alice_client.get(reverse("home")).content.decode()
    assert "Components" in body
    assert f"{reverse('catalog:index')}?kind=component" in body


def test_long_lists_page_with_the_filters_kept(alice_client, tmp_path, settings):
    settings.CAUSEWAY_FILE_ROOTS = [str(tmp_path)]
    path = write(tmp_path, "catalog-info.yaml", GROUP, *(component(f"svc-{i:02d}") for i in range(60)))
    refresh_location(Location.objects.create(type="file", target=str(path)))
    body = alice_client.get(reverse("catalog:index"), {"kind": "component"}).content.decode()
    assert "Page 1 of 2" in body
    assert 'href="?kind=component&amp;page=2"' in body or 'href="?kind=component&page=2"' in body
    second = alice_client.get(reverse("catalog:index"), {"kind": "component", "page": 2}).content.decode()
    assert "Page 2 of 2" in second and "svc-59" in second and "svc-00" not in second
