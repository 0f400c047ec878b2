"""Backstage's own example catalog, ingested through the database as a team would register it."""

import http.server
import threading

import pytest

from catalog.ingest import refresh_location
from catalog.models import Entity, Location, Relation
from catalog.reading import UrllibFetcher

pytestmark = pytest.mark.django_db

# The two wayback APIs pull their definitions from github.com; a local server stands in for it.
MIRROR = {"port": None}
STAND_IN_OPENAPI = b"openapi: 3.0.0\ninfo: {title: Stand-in, version: '1'}\npaths: {}\n"


class MirrorFetcher:
    """Sends github.com reads to the local stand-in server over real HTTP."""

    def fetch(self, url, *, max_bytes, timeout, check_url):
        check_url(url)
        local = url.replace("https://github.com", f"http://127.0.0.1:{MIRROR['port']}")
        return UrllibFetcher().fetch(local, max_bytes=max_bytes, timeout=timeout, check_url=lambda _: None)


@pytest.fixture
def github_stand_in():
    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            self.send_response(200)
            self.send_header("Content-Length", str(len(STAND_IN_OPENAPI)))
            self.end_headers()
            self.wfile.write(STAND_IN_OPENAPI)

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    MIRROR["port"] = server.server_address[1]
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield
    server.shutdown()


@pytest.fixture
def ingested(backstage_fixtures, settings, github_stand_in):
    examples = backstage_fixtures / "packages" / "catalog-model" / "examples"
    settings.CAUSEWAY_FILE_ROOTS = [str(examples)]
    settings.CAUSEWAY_READ_ALLOW = "github.com"
    settings.CATALOG_URL_FETCHER = f"{__name__}.MirrorFetcher"
    reports = {}
    for name in ("all.yaml", "acme-corp.yaml", "all-environments.yaml"):
        location = Location.objects.create(type="file", target=str(examples / name))
        reports[name] = refresh_location(location)
    return reports


def test_every_entity_of_the_example_catalog_is_accepted(ingested):
    errors = [e for report in ingested.values() for e in report.errors]
    # all-apis.yaml lists three files the fixture set does not carry: those, and nothing else, fail.
    assert len(errors) == 3, errors
    assert all("not found" in e["message"] or "does not exist" in e["message"] for e in errors), errors
    assert not Entity.objects.filter(has_errors=True).exists()
    counts = {kind: Entity.objects.filter(kind=kind).count() for kind in
              ("component", "api", "system", "domain", "resource", "group", "user", "environment", "airesource")}
    assert counts["component"] == 13 and counts["api"] == 7 and counts["system"] == 3
    assert counts["domain"] == 3 and counts["group"] == 9 and counts["user"] == 17
    assert counts["environment"] == 2 and counts["airesource"] == 2 and counts["resource"] == 1
    assert Entity.objects.filter(ref="user:development/guest").exists()


def test_placeholders_are_substituted(ingested):
    webhook = Entity.objects.get(ref="api:default/petstore-webhook")
    assert isinstance(webhook.spec["definition"], str) and "openapi" in webhook.spec["definition"]
    wayback = Entity.objects.get(ref="api:default/wayback-search")
    assert wayback.spec["definition"] == STAND_IN_OPENAPI.decode()


@pytest.mark.parametrize("source, relation, target", [
    ("component:default/www-artist", "ownedBy", "group:default/team-a"),
    ("group:default/team-a", "ownerOf", "component:default/www-artist"),
    ("component:default/www-artist", "partOf", "system:default/artist-engagement-portal"),
    ("system:default/artist-engagement-portal", "hasPart", "component:default/www-artist"),
    ("system:default/audio-playback", "partOf", "domain:default/playback"),
    ("domain:default/playback", "hasPart", "system:default/podcast"),
    ("component:default/petstore", "providesApi", "api:default/petstore"),
    ("api:default/petstore", "apiProvidedBy", "component:default/petstore"),
    ("component:default/wayback-search", "consumesApi", "api:default/wayback-archive"),
    ("api:default/wayback-archive", "apiConsumedBy", "component:default/wayback-search"),
    ("user:default/breanna.davison", "memberOf", "group:default/team-a"),
    ("group:default/team-a", "hasMember", "user:default/breanna.davison"),
    ("user:development/guest", "memberOf", "group:default/team-a"),
    ("group:default/team-b", "childOf", "group:default/backstage"),
    ("group:default/backstage", "parentOf", "group:default/team-b"),
    ("group:default/boxoffice", "parentOf", "group:default/team-c"),
    ("resource:default/artists-db", "partOf", "system:default/artist-engagement-portal"),
    ("component:default/wayback-archive-ingestion", "partOf", "component:default/wayback-archive"),
    ("component:default/wayback-archive", "hasPart", "component:default/wayback-archive-storage"),
    ("component:default/searcher", "ownedBy", "user:default/guest"),
])
def test_the_relations_backstage_derives_are_present(ingested, source, relation, target):
    assert Relation.objects.filter(source_ref=source, type=relation, target_ref=target).exists(), (
        source, relation, target, list(Relation.objects.filter(source_ref=source).values_list("type", "target_ref"))
    )


def test_the_catalog_pages_render_every_example_entity(ingested, alice_client):
    for entity in Entity.objects.all():
        response = alice_client.get(entity.get_absolute_url())
        assert response.status_code == 200, entity.ref
