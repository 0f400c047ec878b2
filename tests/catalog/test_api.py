"""The Backstage-compatible catalog API: routes, query semantics, JSON shapes, errors, permissions."""

import base64
import json
import subprocess
from pathlib import Path

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from rest_framework.authtoken.models import Token

from catalog.ingest import refresh_location
from catalog.models import Entity, Location
from portal.models import AuditEvent

pytestmark = pytest.mark.django_db

API = "/api/catalog"

TEAM_A = """
apiVersion: backstage.io/v1alpha1
kind: Group
metadata: {name: team-a}
spec: {type: team, children: []}
"""
TEAM_B = """
apiVersion: backstage.io/v1alpha1
kind: Group
metadata: {name: team-b}
spec: {type: team, children: [], members: [jdoe]}
"""
JDOE = """
apiVersion: backstage.io/v1alpha1
kind: User
metadata: {name: jdoe}
spec: {memberOf: [team-b]}
"""
PAYMENTS = """
apiVersion: backstage.io/v1alpha1
kind: Component
metadata:
  name: payments
  title: Payments
  description: Takes the money
  tags: [python, payments]
  labels: {tier: gold}
  annotations: {backstage.io/techdocs-ref: "dir:."}
spec: {type: service, lifecycle: production, owner: team-a, system: billing, providesApis: [payments-api]}
"""
WEB = """
apiVersion: backstage.io/v1alpha1
kind: Component
metadata: {name: web, description: The shop front, tags: [javascript]}
spec: {type: website, lifecycle: experimental, owner: Team-B}
"""
LEDGER = """
apiVersion: backstage.io/v1alpha1
kind: Component
metadata: {name: ledger, description: Double-entry bookkeeping, tags: [java]}
spec: {type: library, lifecycle: production, owner: team-a, system: billing}
"""
PAYMENTS_API = """
apiVersion: backstage.io/v1alpha1
kind: API
metadata: {name: payments-api}
spec: {type: openapi, lifecycle: production, owner: team-a, system: billing, definition: "openapi: 3.0.0"}
"""
BILLING = """
apiVersion: backstage.io/v1alpha1
kind: System
metadata: {name: billing}
spec: {owner: team-a}
"""
DOCUMENTS = [TEAM_A, TEAM_B, JDOE, PAYMENTS, WEB, LEDGER, PAYMENTS_API, BILLING]
ALL_REFS = sorted([
    "group:default/team-a", "group:default/team-b", "user:default/jdoe", "component:default/payments",
    "component:default/web", "component:default/ledger", "api:default/payments-api", "system:default/billing",
])


def write(path: Path, *documents: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n---\n".join(documents))
    return path


@pytest.fixture
def roots(tmp_path, settings):
    settings.CAUSEWAY_FILE_ROOTS = [str(tmp_path)]
    return tmp_path


@pytest.fixture
def catalog(roots, alice):
    """The sample catalog, registered by alice."""
    location = Location.objects.create(type="file", target=str(write(roots / "catalog-info.yaml", *DOCUMENTS)),
                                       created_by=alice)
    report = refresh_location(location)
    assert report.status == "updated" and report.added == len(DOCUMENTS), report.errors
    return location


def body(response):
    if response.streaming:
        return json.loads(b"".join(response.streaming_content))
    return response.json()


def get(client, path, **params):
    return client.get(f"{API}{path}", params)


def refs_of(entities) -> list[str]:
    return [f"{e['kind']}:{e['metadata'].get('namespace', 'default')}/{e['metadata']['name']}".lower()
            for e in entities]


def names(client, **params) -> set[str]:
    response = get(client, "/entities", **params)
    assert response.status_code == 200, body(response)
    return {e["metadata"]["name"] for e in body(response)}


def assert_error(response, status: int, name: str, *, contains: str = "") -> dict:
    assert response.status_code == status, body(response)
    data = response.json()
    assert data["error"]["name"] == name
    assert contains in data["error"]["message"]
    assert data["response"] == {"statusCode": status}
    assert data["request"]["method"] == response.request["REQUEST_METHOD"]
    assert data["request"]["url"].startswith(response.request["PATH_INFO"])
    return data


# --------------------------------------------------------------------------- GET /entities


def test_it_lists_every_entity_by_ref_with_its_relations(alice_client, catalog):
    response = get(alice_client, "/entities")
    assert response.status_code == 200
    entities = body(response)
    assert refs_of(entities) == ALL_REFS
    payments = next(e for e in entities if e["metadata"]["name"] == "payments")
    assert payments["apiVersion"] == "backstage.io/v1alpha1"
    assert payments["metadata"]["uid"] == str(Entity.objects.get(ref="component:default/payments").uid)
    assert {"type": "ownedBy", "targetRef": "group:default/team-a",
            "target": {"kind": "group", "namespace": "default", "name": "team-a"}} in payments["relations"]
    assert {r["type"] for r in payments["relations"]} == {"ownedBy", "partOf", "providesApi"}
    assert "status" not in payments


def test_a_relation_both_ends_declare_is_listed_once(alice_client, catalog):
    jdoe = get(alice_client, "/entities/by-name/user/default/jdoe").json()
    assert [r["targetRef"] for r in jdoe["relations"] if r["type"] == "memberOf"] == ["group:default/team-b"]


def test_statements_in_one_filter_must_all_hold(alice_client, catalog):
    assert names(alice_client, filter="kind=component,spec.type=service") == {"payments"}
    assert names(alice_client, filter="kind=component,spec.lifecycle=production") == {"payments", "ledger"}


def test_repeated_filters_are_alternatives(alice_client, catalog):
    assert names(alice_client, filter=["kind=api", "spec.type=website"]) == {"payments-api", "web"}


def test_the_same_key_twice_in_one_filter_matches_either_value(alice_client, catalog):
    assert names(alice_client, filter="kind=system,kind=api") == {"billing", "payments-api"}


def test_filter_values_and_known_keys_ignore_case(alice_client, catalog):
    assert names(alice_client, filter="KIND=Component,Spec.Type=SERVICE") == {"payments"}
    assert names(alice_client, filter="metadata.name=PAYMENTS") == {"payments"}
    assert names(alice_client, filter="spec.owner=team-b") == {"web"}  # written Team-B
    assert names(alice_client, filter="metadata.tags=JAVA") == {"ledger"}


def test_spec_owner_is_matched_against_the_value_as_written(alice_client, catalog):
    assert names(alice_client, filter="spec.owner=group:default/team-a") == set()
    assert names(alice_client, filter="kind=component,spec.owner=team-a") == {"payments", "ledger"}


def test_a_key_alone_means_the_field_exists(alice_client, catalog):
    assert names(alice_client, filter="metadata.annotations.backstage.io/techdocs-ref") == {"payments"}
    assert names(alice_client, filter="spec.system") == {"payments", "ledger", "payments-api"}
    assert names(alice_client, filter="kind=component,spec.providesApis") == {"payments"}
    assert names(alice_client, filter="kind=group,spec.members") == {"team-b"}
    assert names(alice_client, filter="kind=group,spec.children") == set()  # an empty list is not there
    assert names(alice_client, filter="kind=component,metadata.tags") == {"payments", "web", "ledger"}


def test_relations_filters_use_the_relation_rows(alice_client, catalog):
    owned = {"payments", "ledger", "payments-api", "billing"}
    assert names(alice_client, filter="relations.ownedBy=group:default/team-a") == owned
    assert names(alice_client, filter="relations.ownedby=GROUP:default/Team-A") == owned
    assert names(alice_client, filter="relations.hasMember") == {"team-b"}
    assert names(alice_client, filter="relations.apiProvidedBy=component:default/payments") == {"payments-api"}


def test_json_filters_match_nested_keys_and_array_elements(alice_client, catalog):
    assert names(alice_client, filter="spec.providesApis=Payments-API") == {"payments"}
    assert names(alice_client, filter="metadata.labels.tier=gold") == {"payments"}
    assert names(alice_client, filter="metadata.annotations.backstage.io/techdocs-ref=DIR:.") == {"payments"}
    assert names(alice_client, filter="metadata.title=payments") == {"payments"}
    assert names(alice_client, filter="spec.definition=nothing-like-this") == set()


def test_an_unknown_uid_filter_matches_nothing(alice_client, catalog):
    uid = str(Entity.objects.get(ref="component:default/web").uid)
    assert names(alice_client, filter=f"metadata.uid={uid}") == {"web"}
    assert names(alice_client, filter="metadata.uid=not-a-uid") == set()


def test_fields_keeps_only_the_named_parts(alice_client, catalog):
    entities = body(get(alice_client, "/entities", filter="kind=component", fields="kind,metadata.name"))
    assert entities == [
        {"kind": "Component", "metadata": {"name": "ledger"}},
        {"kind": "Component", "metadata": {"name": "payments"}},
        {"kind": "Component", "metadata": {"name": "web"}},
    ]
    annotated = body(get(alice_client, "/entities", filter="metadata.name=payments",
                         fields=["metadata.annotations.backstage.io/techdocs-ref", "relations"]))
    assert annotated[0]["metadata"] == {"annotations": {"backstage.io/techdocs-ref": "dir:."}}
    assert len(annotated[0]["relations"]) == 3


def test_order_offset_and_limit_page_through_the_list(alice_client, catalog):
    response = get(alice_client, "/entities", order="desc:metadata.name", limit=3, offset=1)
    assert response.status_code == 200
    assert [e["metadata"]["name"] for e in response.json()] == ["team-b", "team-a", "payments-api"]
    link = response["Link"]
    assert link.endswith('>; rel="next"') and "after=" in link
    following = alice_client.get(link[1:link.index(">")])
    assert [e["metadata"]["name"] for e in following.json()] == ["payments", "ledger", "jdoe"]
    last = alice_client.get(following["Link"][1:following["Link"].index(">")])
    assert [e["metadata"]["name"] for e in last.json()] == ["billing"]
    assert not last.has_header("Link")


def test_it_orders_by_several_fields_including_json_ones(alice_client, catalog):
    entities = body(get(alice_client, "/entities", filter="kind=component",
                        order=["asc:spec.owner", "desc:metadata.name"]))
    assert [e["metadata"]["name"] for e in entities] == ["payments", "ledger", "web"]


def test_one_page_takes_the_same_queries_whatever_its_size(alice_client, catalog):
    def queries(limit):
        with CaptureQueriesContext(connection) as captured:
            assert get(alice_client, "/entities", limit=limit).status_code == 200
        return len(captured)

    assert queries(1) == queries(8)


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"filter": "=component"}, "not a valid statement"),
        ({"filter": 'spec."type=x'}, "Invalid filter key"),
        ({"filter": "spec..type=x"}, "Invalid filter key"),
        ({"limit": "-1"}, "Invalid limit"),
        ({"limit": "ten"}, "Invalid limit"),
        ({"limit": "100001"}, "Invalid limit"),
        ({"offset": "1.5"}, "Invalid offset"),
        ({"order": "sideways:metadata.name"}, "Invalid order parameter"),
        ({"fields": "metadata.tags[0]"}, "array type fields are not supported"),
        ({"after": "%%%"}, "Malformed after cursor"),
        ({"filter": ["kind=api"] * 51}, "at most 50 filter parameters"),
        ({"after": base64.b64encode(b'{"limit": "x"}').decode()}, "Malformed after cursor"),
    ],
)
def test_malformed_list_parameters_are_input_errors(alice_client, catalog, params, message):
    assert_error(get(alice_client, "/entities", **params), 400, "InputError", contains=message)


# --------------------------------------------------------------------------- by-query


def test_cursors_page_through_every_item_and_back(alice_client, catalog):
    seen, pages = [], []
    params = {"limit": 3, "orderField": "metadata.name,asc"}
    while True:
        response = get(alice_client, "/entities/by-query", **params)
        assert response.status_code == 200, response.json()
        page = response.json()
        assert page["totalItems"] == len(ALL_REFS)
        pages.append(page)
        seen += [e["metadata"]["name"] for e in page["items"]]
        if "nextCursor" not in page["pageInfo"]:
            break
        params = {"cursor": page["pageInfo"]["nextCursor"], "limit": 3}
    assert seen == sorted(ref.split("/")[1] for ref in ALL_REFS)
    assert [len(p["items"]) for p in pages] == [3, 3, 2]
    assert "prevCursor" not in pages[0]["pageInfo"]
    back = get(alice_client, "/entities/by-query", cursor=pages[-1]["pageInfo"]["prevCursor"], limit=3).json()
    assert back["items"] == pages[1]["items"]
    first = get(alice_client, "/entities/by-query", cursor=back["pageInfo"]["prevCursor"], limit=3).json()
    assert first["items"] == pages[0]["items"]
    assert "prevCursor" not in first["pageInfo"] and "nextCursor" in first["pageInfo"]


def test_by_query_orders_descending_and_keeps_the_filter_in_the_cursor(alice_client, catalog):
    page = get(alice_client, "/entities/by-query", filter="kind=component", orderField="metadata.name,desc",
               limit=2, fields="metadata.name").json()
    assert page["items"] == [{"metadata": {"name": "web"}}, {"metadata": {"name": "payments"}}]
    assert page["totalItems"] == 3
    rest = get(alice_client, "/entities/by-query", cursor=page["pageInfo"]["nextCursor"], fields="metadata.name")
    assert rest.json()["items"] == [{"metadata": {"name": "ledger"}}]
    assert "nextCursor" not in rest.json()["pageInfo"]


def test_by_query_full_text_searches_the_given_fields_or_the_entity_words(alice_client, catalog):
    def found(**params):
        return {e["metadata"]["name"] for e in get(alice_client, "/entities/by-query", **params).json()["items"]}

    assert found(fullTextFilterTerm="PAY", fullTextFilterFields="metadata.name") == {"payments", "payments-api"}
    assert found(fullTextFilterTerm="bookkeeping") == {"ledger"}
    assert found(fullTextFilterTerm="gold", fullTextFilterFields="metadata.labels.tier") == {"payments"}
    assert found(fullTextFilterTerm="jav", fullTextFilterFields="metadata.tags") == {"ledger", "web"}
    assert found(fullTextFilterTerm="  ") == set(ref.split("/")[1] for ref in ALL_REFS)


def test_a_limit_of_zero_only_counts(alice_client, catalog):
    page = get(alice_client, "/entities/by-query", limit=0, filter="kind=group").json()
    assert page == {"items": [], "totalItems": 2, "pageInfo": {}}


@pytest.mark.parametrize(
    "cursor",
    [
        "not base64 at all!",
        base64.urlsafe_b64encode(b"[1, 2]").decode(),
        base64.urlsafe_b64encode(json.dumps({"filter": [], "order": [], "term": "", "textFields": None,
                                             "values": [1], "previous": False}).encode()).decode(),
        base64.urlsafe_b64encode(json.dumps({"filter": ["=x"], "order": [], "term": "", "textFields": None,
                                             "values": ["a"], "previous": False}).encode()).decode(),
        base64.urlsafe_b64encode(json.dumps({"filter": [], "order": [["metadata.uid", "asc"]], "term": "",
                                             "textFields": None, "values": ["no-uuid", "x"],
                                             "previous": False}).encode()).decode(),
    ],
)
def test_a_tampered_cursor_is_an_input_error(alice_client, catalog, cursor):
    assert_error(get(alice_client, "/entities/by-query", cursor=cursor), 400, "InputError")


def test_by_query_rejects_a_bad_order_field(alice_client, catalog):
    assert_error(get(alice_client, "/entities/by-query", orderField="metadata.name,up"), 400, "InputError",
                 contains="must be asc or desc")


# --------------------------------------------------------------------------- single entities


def test_by_name_ignores_case_and_404s_in_backstages_shape(alice_client, catalog):
    entity = get(alice_client, "/entities/by-name/Component/default/Payments").json()
    assert entity["metadata"]["name"] == "payments" and entity["kind"] == "Component"
    data = assert_error(get(alice_client, "/entities/by-name/component/default/nope"), 404, "NotFoundError")
    assert data["error"]["message"] == "No entity named 'nope' found, with kind 'component' in namespace 'default'"
    assert data["request"] == {"method": "GET", "url": "/api/catalog/entities/by-name/component/default/nope"}


def test_by_uid_finds_the_entity_or_404s(alice_client, catalog):
    uid = str(Entity.objects.get(ref="system:default/billing").uid)
    assert get(alice_client, f"/entities/by-uid/{uid}").json()["metadata"]["name"] == "billing"
    assert_error(get(alice_client, "/entities/by-uid/00000000-0000-0000-0000-000000000000"), 404, "NotFoundError",
                 contains="No entity with uid")
    assert_error(get(alice_client, "/entities/by-uid/garbage"), 404, "NotFoundError")


def test_an_entity_with_processing_errors_has_status_items(alice_client, catalog, roots):
    broken_ledger = LEDGER.replace("owner: team-a, ", "")
    write(roots / "catalog-info.yaml", *[broken_ledger if d == LEDGER else d for d in DOCUMENTS])
    refresh_location(catalog)
    ledger = get(alice_client, "/entities/by-name/component/default/ledger").json()
    assert ledger["status"]["items"][0]["level"] == "error"
    assert "owner" in ledger["status"]["items"][0]["message"]


def test_only_staff_may_delete_an_entity_and_it_returns_on_the_next_refresh(client, alice, sam, catalog):
    uid = str(Entity.objects.get(ref="component:default/web").uid)
    client.force_login(alice)
    assert_error(client.delete(f"{API}/entities/by-uid/{uid}"), 403, "NotAllowedError")
    client.force_login(sam)
    response = client.delete(f"{API}/entities/by-uid/{uid}")
    assert response.status_code == 204 and response.content == b""
    assert not Entity.objects.filter(ref="component:default/web").exists()
    event = AuditEvent.objects.get(action="catalog.entity.delete")
    assert event.actor == sam and event.before["ref"] == "component:default/web"
    assert_error(client.delete(f"{API}/entities/by-uid/{uid}"), 404, "NotFoundError")
    catalog.refresh_from_db()
    assert refresh_location(catalog).added == 1
    assert Entity.objects.filter(ref="component:default/web").exists()


def test_by_refs_answers_in_request_order_with_null_for_missing(alice_client, catalog):
    response = alice_client.post(
        f"{API}/entities/by-refs",
        {"entityRefs": ["system:default/billing", "component:default/missing", "Component:Payments", "bad ref:"],
         "fields": ["metadata.name"]},
        content_type="application/json",
    )
    assert response.status_code == 200
    assert response.json() == {"items": [{"metadata": {"name": "billing"}}, None, {"metadata": {"name": "payments"}},
                                          None]}


def test_by_refs_applies_the_filter(alice_client, catalog):
    response = alice_client.post(f"{API}/entities/by-refs?filter=kind=system",
                                 {"entityRefs": ["system:default/billing", "component:default/web"]},
                                 content_type="application/json")
    items = response.json()["items"]
    assert items[0]["metadata"]["name"] == "billing" and items[0]["relations"] and items[1] is None


@pytest.mark.parametrize("payload", [{}, {"entityRefs": "component:default/web"}, {"entityRefs": [{"a": 1}]}, []])
def test_by_refs_rejects_a_malformed_body(alice_client, catalog, payload):
    response = alice_client.post(f"{API}/entities/by-refs", payload, content_type="application/json")
    assert_error(response, 400, "InputError")


def test_broken_json_is_an_input_error(alice_client, catalog):
    response = alice_client.post(f"{API}/entities/by-refs", "{nope", content_type="application/json")
    assert_error(response, 400, "InputError", contains="JSON")


# --------------------------------------------------------------------------- facets


def test_facets_count_values_of_the_filtered_entities(alice_client, catalog):
    response = get(alice_client, "/entity-facets",
                   facet=["kind", "spec.type", "metadata.tags", "relations.ownedBy", "spec.owner", "spec.lifecycle"],
                   filter="kind=component")
    assert response.status_code == 200
    facets = response.json()["facets"]
    assert facets["kind"] == [{"value": "Component", "count": 3}]
    assert facets["spec.type"] == [{"value": "library", "count": 1}, {"value": "service", "count": 1},
                                   {"value": "website", "count": 1}]
    assert {"value": "java", "count": 1} in facets["metadata.tags"] and len(facets["metadata.tags"]) == 4
    assert facets["relations.ownedBy"] == [{"value": "group:default/team-a", "count": 2},
                                           {"value": "group:default/team-b", "count": 1}]
    assert facets["spec.owner"] == [{"value": "team-a", "count": 2}, {"value": "Team-B", "count": 1}]
    assert facets["spec.lifecycle"] == [{"value": "production", "count": 2}, {"value": "experimental", "count": 1}]


def test_facets_over_everything_and_over_array_fields(alice_client, catalog):
    facets = get(alice_client, "/entity-facets", facet=["kind", "spec.memberOf"]).json()["facets"]
    assert facets["kind"][0] == {"value": "Component", "count": 3}
    assert {"value": "API", "count": 1} in facets["kind"] and {"value": "Group", "count": 2} in facets["kind"]
    assert facets["spec.memberOf"] == [{"value": "team-b", "count": 1}]


def test_facets_need_a_facet(alice_client, catalog):
    assert_error(get(alice_client, "/entity-facets"), 400, "InputError", contains="Missing facet parameter")


# --------------------------------------------------------------------------- locations


def test_locations_are_listed_and_read_in_backstages_shape(alice_client, catalog):
    listed = get(alice_client, "/locations").json()
    assert listed == [{"data": {"id": str(catalog.pk), "type": "file", "target": catalog.target}}]
    assert get(alice_client, f"/locations/{catalog.pk}").json() == listed[0]["data"]
    assert_error(get(alice_client, "/locations/00000000-0000-0000-0000-000000000000"), 404, "NotFoundError",
                 contains="Found no location with ID")
    assert_error(get(alice_client, "/locations/not-a-uuid"), 404, "NotFoundError")
    assert get(alice_client, "/locations/by-entity/component/default/web").json()["id"] == str(catalog.pk)
    assert_error(get(alice_client, "/locations/by-entity/component/default/nope"), 404, "NotFoundError")


def post_location(client, payload, **query):
    suffix = "?" + "&".join(f"{k}={v}" for k, v in query.items()) if query else ""
    return client.post(f"{API}/locations{suffix}", payload, content_type="application/json")


def test_a_dry_run_shows_what_would_be_imported_and_stores_nothing(alice_client, roots):
    path = write(roots / "team" / "catalog-info.yaml", TEAM_A, PAYMENTS, "kind: Component\nmetadata: {name: x}")
    response = post_location(alice_client, {"type": "file", "target": str(path)}, dryRun="true")
    assert response.status_code == 201, response.json()
    data = response.json()
    assert data["exists"] is False
    assert data["location"] == {"id": f"file:{path}", "type": "file", "target": str(path)}
    assert refs_of(data["entities"]) == ["group:default/team-a", "component:default/payments"]
    payments = data["entities"][1]
    assert {"type": "ownedBy", "targetRef": "group:default/team-a",
            "target": {"kind": "group", "namespace": "default", "name": "team-a"}} in payments["relations"]
    assert {e["ref"] for e in data["errors"]} == {"component:default/x"}
    assert any("apiVersion" in e["message"] for e in data["errors"])
    assert not Location.objects.exists() and not Entity.objects.exists() and not AuditEvent.objects.exists()


def test_a_dry_run_says_when_the_location_exists(alice_client, catalog):
    response = post_location(alice_client, {"type": "file", "target": catalog.target}, dryRun="true")
    assert response.status_code == 201 and response.json()["exists"] is True


def test_registering_a_location_imports_it_and_is_audited(alice_client, alice, roots):
    path = write(roots / "catalog-info.yaml", *DOCUMENTS)
    response = post_location(alice_client, {"type": "file", "target": str(path)})
    assert response.status_code == 201, response.json()
    data = response.json()
    location = Location.objects.get()
    assert data["location"] == {"id": str(location.pk), "type": "file", "target": str(path)}
    assert sorted(refs_of(data["entities"])) == ALL_REFS
    assert location.created_by == alice and location.status == "ok"
    assert Entity.objects.filter(location=location).count() == len(DOCUMENTS)
    event = AuditEvent.objects.get(action="catalog.location.register")
    assert event.actor == alice and event.after["target"] == str(path)


def test_registering_the_same_location_twice_is_a_conflict(alice_client, catalog):
    response = post_location(alice_client, {"type": "file", "target": catalog.target})
    assert_error(response, 409, "ConflictError", contains="already exists")
    assert Location.objects.count() == 1


def test_an_unreachable_location_is_an_input_error_and_nothing_is_stored(alice_client, roots):
    response = post_location(alice_client, {"type": "file", "target": str(roots / "missing" / "catalog-info.yaml")})
    assert_error(response, 400, "InputError", contains="Could not read")
    assert not Location.objects.exists() and not Entity.objects.exists() and not AuditEvent.objects.exists()


def test_a_url_outside_the_allow_list_is_refused_naming_the_setting(alice_client, roots, settings):
    settings.CAUSEWAY_READ_ALLOW = ""
    response = post_location(alice_client, {"type": "url", "target": "https://example.com/catalog-info.yaml"})
    assert_error(response, 400, "InputError", contains="CAUSEWAY_READ_ALLOW")
    assert not Location.objects.exists()


def test_a_file_outside_the_roots_is_refused_naming_the_setting(alice_client, roots):
    response = post_location(alice_client, {"type": "file", "target": "/etc/passwd"})
    assert_error(response, 400, "InputError", contains="CAUSEWAY_FILE_ROOTS")
    assert not Location.objects.exists()


@pytest.mark.parametrize(
    ("payload", "message"),
    [
        ({"type": "ftp", "target": "ftp://host/x"}, "Unknown location type 'ftp'"),
        ({"type": "file"}, "target"),
        ({"type": "file", "target": "/x", "git_ref": "main"}, "only applies to git"),
        ({"type": "file", "target": "x" * 3000}, "target"),
    ],
)
def test_bad_location_bodies_are_input_errors(alice_client, roots, payload, message):
    assert_error(post_location(alice_client, payload), 400, "InputError", contains=message)
    assert not Location.objects.exists()


def test_a_url_location_with_a_git_repository_target_is_read_as_git(alice_client, roots):
    work = roots / "work"
    write(work / "catalog-info.yaml", TEAM_A)
    git = ["git", "-c", "user.name=t", "-c", "user.email=t@example.com", "-c", "init.defaultBranch=main"]
    subprocess.run([*git, "init", "-q", str(work)], check=True)
    subprocess.run([*git, "-C", str(work), "add", "."], check=True)
    subprocess.run([*git, "-C", str(work), "commit", "-q", "-m", "catalog"], check=True)
    subprocess.run(["git", "clone", "-q", "--bare", str(work), str(roots / "repo.git")], check=True)
    response = post_location(alice_client, {"type": "url", "target": f"file://{roots / 'repo.git'}",
                                            "git_path": "catalog-info.yaml"})
    assert response.status_code == 201, response.json()
    assert response.json()["location"]["type"] == "git"
    assert response.json()["location"]["git_path"] == "catalog-info.yaml"
    assert refs_of(response.json()["entities"]) == ["group:default/team-a"]


def test_removing_a_location_keeps_its_entities_as_orphans(client, alice, charlie, catalog):
    client.force_login(charlie)
    assert_error(client.delete(f"{API}/locations/{catalog.pk}"), 403, "NotAllowedError")
    client.force_login(alice)
    response = client.delete(f"{API}/locations/{catalog.pk}")
    assert response.status_code == 204
    assert not Location.objects.exists()
    entities = Entity.objects.all()
    assert entities.count() == len(DOCUMENTS) and all(e.orphan for e in entities)
    web = get(client, "/entities/by-name/component/default/web").json()
    assert web["metadata"]["annotations"]["backstage.io/orphan"] == "true"
    assert names(client, filter="metadata.annotations.backstage.io/orphan=true") == {
        ref.split("/")[1] for ref in ALL_REFS
    }
    event = AuditEvent.objects.get(action="catalog.location.delete")
    assert event.actor == alice and "8 entities orphaned" in event.message
    assert_error(client.delete(f"{API}/locations/{catalog.pk}"), 404, "NotFoundError")


def test_staff_may_remove_anyones_location(staff_client, catalog):
    assert staff_client.delete(f"{API}/locations/{catalog.pk}").status_code == 204


# --------------------------------------------------------------------------- refresh and validate


def test_refresh_rereads_the_entitys_location(alice_client, alice, catalog, roots):
    write(roots / "catalog-info.yaml", *[d.replace("Takes the money", "Moves the money") for d in DOCUMENTS])
    response = alice_client.post(f"{API}/refresh", {"entityRef": "component:default/payments"},
                                 content_type="application/json")
    assert response.status_code == 200 and response.json()["status"] == "updated"
    payments = get(alice_client, "/entities/by-name/component/default/payments").json()
    assert payments["metadata"]["description"] == "Moves the money"
    assert AuditEvent.objects.get(action="catalog.location.refresh").actor == alice


def test_refresh_needs_a_known_ref(alice_client, catalog):
    def refresh(payload):
        return alice_client.post(f"{API}/refresh", payload, content_type="application/json")

    assert_error(refresh({"entityRef": "component:default/nope"}), 404, "NotFoundError")
    assert_error(refresh({"entityRef": "nameonly"}), 400, "InputError", contains="has no kind")
    assert_error(refresh({}), 400, "InputError", contains="entityRef")


def validate(client, payload):
    return client.post(f"{API}/validate-entity", payload, content_type="application/json")


def test_a_valid_entity_validates(alice_client, catalog):
    entity = {"apiVersion": "backstage.io/v1alpha1", "kind": "Component", "metadata": {"name": "new-thing"},
              "spec": {"type": "service", "lifecycle": "production", "owner": "team-a"}}
    response = validate(alice_client, {"entity": entity, "location": "url:https://example.com/catalog-info.yaml"})
    assert response.status_code == 200 and response.json() == {}
    assert not Entity.objects.filter(name="new-thing").exists()


@pytest.mark.parametrize(
    ("payload", "message"),
    [
        ({"entity": {"apiVersion": "backstage.io/v1alpha1", "kind": "Component", "metadata": {"name": "x"},
                     "spec": {"type": "service", "lifecycle": "production"}}, "location": "url:https://h/x"}, "owner"),
        ({"entity": {"kind": "Component"}, "location": "url:https://h/x"}, "apiVersion"),
        ({"entity": "text", "location": "url:https://h/x"}, "mapping"),
        ({"entity": {}, "location": "nowhere"}, "Invalid location ref"),
        ({"location": "url:https://h/x"}, "Malformed request body"),
        ([1, 2], "Malformed request body"),
    ],
)
def test_an_invalid_entity_gets_backstages_errors_list(alice_client, payload, message):
    response = validate(alice_client, payload)
    assert response.status_code == 400
    errors = response.json()["errors"]
    assert errors and all(e["name"] == "InputError" for e in errors)
    assert any(message in e["message"] for e in errors), errors


# --------------------------------------------------------------------------- authentication and schema


def test_a_token_works_without_a_session(bob, catalog):
    token = Token.objects.create(user=bob)
    client = Client()
    response = client.get(f"{API}/entities", {"filter": "kind=system"}, HTTP_AUTHORIZATION=f"Token {token.key}")
    assert response.status_code == 200 and refs_of(body(response)) == ["system:default/billing"]
    assert_error(client.get(f"{API}/entities", HTTP_AUTHORIZATION="Token wrong"), 401, "AuthenticationError")


def test_anonymous_callers_are_refused_in_json(client, catalog):
    response = client.get(f"{API}/entities")
    assert_error(response, 401, "AuthenticationError", contains="credentials")
    assert response["WWW-Authenticate"] == "Token"
    assert_error(post_location(client, {"type": "file", "target": catalog.target}), 401, "AuthenticationError")
    assert_error(client.delete(f"{API}/locations/{catalog.pk}"), 401, "AuthenticationError")
    assert Location.objects.exists()


def test_anonymous_reading_when_switched_on_still_cannot_change_anything(client, catalog, settings):
    settings.CAUSEWAY_ANONYMOUS_READ = True
    assert get(client, "/entities", limit=1).status_code == 200
    by_refs = client.post(f"{API}/entities/by-refs", {"entityRefs": ["system:default/billing"]},
                          content_type="application/json")
    assert by_refs.status_code == 200
    assert_error(post_location(client, {"type": "file", "target": catalog.target}, dryRun="true"), 401,
                 "AuthenticationError")
    uid = Entity.objects.get(ref="system:default/billing").uid
    assert_error(client.delete(f"{API}/entities/by-uid/{uid}"), 401, "AuthenticationError")


def test_the_api_schema_documents_the_catalog_routes(alice_client):
    response = alice_client.get("/api/schema/", {"format": "json"})
    assert response.status_code == 200
    paths = json.loads(response.content)["paths"]
    for route in ("/api/catalog/entities", "/api/catalog/entities/by-query", "/api/catalog/entity-facets",
                  "/api/catalog/locations", "/api/catalog/validate-entity"):
        assert route in paths
    assert {p["name"] for p in paths["/api/catalog/entities"]["get"]["parameters"]} >= {"filter", "fields", "limit"}
