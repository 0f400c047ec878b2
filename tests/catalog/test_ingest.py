"""Ingestion into the database: one transaction per location, nothing lost on bad input."""

import http.server
import subprocess
import threading
from pathlib import Path

import pytest

from catalog.ingest import LocationNotAllowed, check_target_allowed, refresh_location
from catalog.models import Entity, Location, Relation

pytestmark = pytest.mark.django_db

GROUP = """
apiVersion: backstage.io/v1alpha1
kind: Group
metadata: {name: team-a}
spec: {type: team, children: []}
"""


def component(name, owner="team-a", **spec):
    extra = "".join(f"\n  {k}: {v}" for k, v in spec.items())
    return f"""
apiVersion: backstage.io/v1alpha1
kind: Component
metadata: {{name: {name}, description: The {name} service, tags: [python]}}
spec:
  type: service
  lifecycle: production
  owner: {owner}{extra}
"""


def write(root: Path, relative: str, *docs: str) -> Path:
    path = root / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n---\n".join(docs))
    return path


@pytest.fixture
def catalog_dir(tmp_path, settings):
    settings.CAUSEWAY_FILE_ROOTS = [str(tmp_path)]
    return tmp_path


def file_location(path: Path) -> Location:
    return Location.objects.create(type="file", target=str(path))


def test_it_imports_entities_with_relations_both_ways(catalog_dir):
    path = write(catalog_dir, "catalog-info.yaml", GROUP, component("payments", providesApis="[payments-api]"))
    location = file_location(path)
    report = refresh_location(location)
    assert report.status == "updated" and report.added == 2
    payments = Entity.objects.get(ref="component:default/payments")
    assert payments.owner_ref == "group:default/team-a"
    assert payments.data["metadata"]["annotations"]["backstage.io/managed-by-location"] == f"file:{path}"
    assert payments.data["metadata"]["uid"] == str(payments.uid)
    assert payments.data["metadata"]["etag"] == payments.etag
    assert set(Relation.objects.filter(source_ref=payments.ref).values_list("type", "target_ref")) == {
        ("ownedBy", "group:default/team-a"),
        ("providesApi", "api:default/payments-api"),
    }
    assert Relation.objects.filter(source_ref="group:default/team-a", type="ownerOf",
                                   target_ref=payments.ref).exists()
    location.refresh_from_db()
    assert location.status == "ok" and location.content_hash


def test_an_unchanged_source_is_skipped(catalog_dir):
    location = file_location(write(catalog_dir, "catalog-info.yaml", GROUP, component("payments")))
    refresh_location(location)
    before = Entity.objects.get(ref="component:default/payments").updated_at
    assert refresh_location(location).status == "unchanged"
    forced = refresh_location(location, force=True)
    assert forced.status == "updated" and forced.unchanged == 2 and forced.updated == 0
    assert Entity.objects.get(ref="component:default/payments").updated_at == before


def test_a_changed_entity_keeps_its_uid_and_gets_a_new_etag(catalog_dir):
    path = write(catalog_dir, "catalog-info.yaml", GROUP, component("payments"))
    location = file_location(path)
    refresh_location(location)
    first = Entity.objects.get(ref="component:default/payments")
    write(catalog_dir, "catalog-info.yaml", GROUP, component("payments", owner="team-b"))
    report = refresh_location(location)
    assert report.updated == 1 and report.unchanged == 1
    second = Entity.objects.get(ref="component:default/payments")
    assert second.uid == first.uid and second.etag != first.etag
    assert second.owner_ref == "group:default/team-b"
    assert not Relation.objects.filter(source_ref=second.ref, target_ref="group:default/team-a").exists()


def test_an_entity_that_disappears_becomes_an_orphan(catalog_dir):
    path = write(catalog_dir, "catalog-info.yaml", GROUP, component("payments"), component("ledger"))
    location = file_location(path)
    refresh_location(location)
    write(catalog_dir, "catalog-info.yaml", GROUP, component("payments"))
    report = refresh_location(location)
    assert report.orphaned == 1
    ledger = Entity.objects.get(ref="component:default/ledger")
    assert ledger.orphan and ledger.data["metadata"]["annotations"]["backstage.io/orphan"] == "true"
    # it comes back when it reappears
    write(catalog_dir, "catalog-info.yaml", GROUP, component("payments"), component("ledger"))
    refresh_location(location)
    assert not Entity.objects.get(ref="component:default/ledger").orphan


def test_a_broken_document_keeps_the_entity_it_described(catalog_dir):
    path = write(catalog_dir, "catalog-info.yaml", GROUP, component("payments"))
    location = file_location(path)
    refresh_location(location)
    broken = component("payments").replace("lifecycle: production", "lifecycle: [not, a, string]")
    write(catalog_dir, "catalog-info.yaml", GROUP, broken)
    report = refresh_location(location)
    payments = Entity.objects.get(ref="component:default/payments")
    assert not payments.orphan
    assert payments.lifecycle == "production"  # the last good version is kept
    assert payments.has_errors and "lifecycle" in payments.errors[0]["message"]
    assert report.errors and report.errors[0]["ref"] == "component:default/payments"
    location.refresh_from_db()
    assert location.status == "warning"


def test_invalid_yaml_keeps_everything_from_that_file(catalog_dir):
    path = write(catalog_dir, "catalog-info.yaml", GROUP, component("payments"))
    location = file_location(path)
    refresh_location(location)
    path.write_text("apiVersion: backstage.io/v1alpha1\nkind: Component\nmetadata: {name: [unclosed\n")
    report = refresh_location(location)
    assert Entity.objects.filter(orphan=False).count() == 2
    assert any("line" in e["message"].lower() or e["line"] for e in report.errors)
    assert Entity.objects.get(ref="component:default/payments").has_errors


def test_an_unreachable_location_changes_nothing_but_its_error(catalog_dir):
    path = write(catalog_dir, "catalog-info.yaml", GROUP, component("payments"))
    location = file_location(path)
    refresh_location(location)
    path.unlink()
    report = refresh_location(location)
    assert report.status == "failed" and "not found" in report.message
    location.refresh_from_db()
    assert location.status == "error" and "not found" in location.last_error
    assert Entity.objects.filter(orphan=False).count() == 2


def test_the_same_entity_from_two_locations_is_a_conflict_the_first_keeps(catalog_dir):
    first = file_location(write(catalog_dir, "a/catalog-info.yaml", component("payments")))
    second = file_location(write(catalog_dir, "b/catalog-info.yaml", component("payments", owner="team-b")))
    refresh_location(first)
    report = refresh_location(second)
    assert report.conflicts == 1
    assert "already provided by" in report.errors[0]["message"]
    entity = Entity.objects.get(ref="component:default/payments")
    assert entity.location == first and entity.owner_ref == "group:default/team-a"


def test_missing_targets_and_cycles_are_reported_while_the_rest_imports(catalog_dir):
    write(catalog_dir, "team/catalog-info.yaml", GROUP)
    write(
        catalog_dir, "catalog-info.yaml",
        "apiVersion: backstage.io/v1alpha1\nkind: Location\nmetadata: {name: root}\n"
        "spec: {targets: [./team/catalog-info.yaml, ./missing.yaml, ./catalog-info.yaml]}",
    )
    location = file_location(catalog_dir / "catalog-info.yaml")
    report = refresh_location(location)
    assert Entity.objects.filter(ref="group:default/team-a").exists()
    messages = " | ".join(e["message"] for e in report.errors)
    assert "missing.yaml" in messages
    assert "cycle" in messages.lower()


def test_references_to_missing_entities_are_kept(catalog_dir):
    location = file_location(write(catalog_dir, "catalog-info.yaml", component("payments", owner="ghosts")))
    refresh_location(location)
    assert Relation.objects.filter(source_ref="component:default/payments", target_ref="group:default/ghosts").exists()
    assert not Entity.objects.filter(ref="group:default/ghosts").exists()


@pytest.mark.parametrize(
    "document, expected",
    [
        ("- just\n- a list\n", "list"),
        ("just a scalar\n", "expected a mapping"),
        ("apiVersion: backstage.io/v1alpha1\nkind: Spaceship\nmetadata: {name: x}\nspec: {}\n", "Spaceship"),
        ("apiVersion: example.com/v9\nkind: Component\nmetadata: {name: x}\nspec: {}\n", "apiVersion"),
        ("apiVersion: backstage.io/v1alpha1\nkind: Component\nmetadata: {name: My Service}\n"
         "spec: {type: service, lifecycle: production, owner: a}\n", "metadata.name"),
    ],
)
def test_bad_documents_are_reported_and_the_good_ones_still_import(catalog_dir, document, expected):
    location = file_location(write(catalog_dir, "catalog-info.yaml", GROUP, document))
    report = refresh_location(location)
    assert Entity.objects.filter(ref="group:default/team-a").exists()
    assert Entity.objects.count() == 1
    assert any(expected.lower() in e["message"].lower() for e in report.errors), report.errors


def test_a_yaml_alias_bomb_fails_fast_with_a_clear_error(catalog_dir):
    bomb = "a: &a [x,x,x,x,x,x,x,x,x]\n" + "".join(
        f"{chr(98 + i)}: &{chr(98 + i)} [{','.join(['*' + chr(97 + i)] * 9)}]\n" for i in range(8)
    )
    location = file_location(write(catalog_dir, "catalog-info.yaml", bomb))
    report = refresh_location(location)
    assert Entity.objects.count() == 0
    assert any("alias" in e["message"].lower() or "too many" in e["message"].lower() for e in report.errors)


def test_a_file_over_the_size_limit_is_refused(catalog_dir, settings):
    settings.CATALOG_MAX_FILE_BYTES = 20 * 1024 * 1024
    path = catalog_dir / "catalog-info.yaml"
    with path.open("w") as handle:
        handle.write(GROUP)
        handle.write("\n---\n# " + "x" * (21 * 1024 * 1024) + "\n")
    location = file_location(path)
    report = refresh_location(location)
    assert Entity.objects.count() == 0
    assert any("larger than" in e["message"] or "limit" in e["message"] for e in report.errors + [
        {"message": report.message}]), report


def test_a_text_placeholder_outside_the_location_is_refused(catalog_dir):
    outside = catalog_dir.parent / "secret.txt"
    outside.write_text("top secret")
    api = (
        "apiVersion: backstage.io/v1alpha1\nkind: API\nmetadata: {name: payments-api}\n"
        "spec: {type: openapi, lifecycle: production, owner: team-a, definition: {$text: ../secret.txt}}\n"
    )
    location = file_location(write(catalog_dir, "catalog-info.yaml", GROUP, api))
    report = refresh_location(location)
    assert not Entity.objects.filter(ref="api:default/payments-api").exists()
    assert "top secret" not in str(report.errors)
    assert any("outside" in e["message"] for e in report.errors)


def test_a_symlink_out_of_the_location_is_refused(catalog_dir, tmp_path_factory):
    elsewhere = tmp_path_factory.mktemp("elsewhere")
    write(elsewhere, "catalog-info.yaml", component("intruder"))
    (catalog_dir / "team").mkdir()
    write(catalog_dir, "team/catalog-info.yaml", GROUP)
    (catalog_dir / "linked").symlink_to(elsewhere)
    location = file_location(catalog_dir)
    report = refresh_location(location)
    assert Entity.objects.filter(ref="group:default/team-a").exists()
    assert not Entity.objects.filter(ref="component:default/intruder").exists()
    assert any("outside" in e["message"] for e in report.errors)


def test_file_locations_must_stay_in_the_configured_roots(catalog_dir):
    with pytest.raises(LocationNotAllowed, match="CAUSEWAY_FILE_ROOTS"):
        check_target_allowed("file", "/etc")
    with pytest.raises(LocationNotAllowed, match="absolute"):
        check_target_allowed("file", "relative/catalog-info.yaml")
    check_target_allowed("file", str(catalog_dir / "catalog-info.yaml"))


def test_local_git_repositories_must_stay_in_the_configured_roots(catalog_dir):
    with pytest.raises(LocationNotAllowed, match="CAUSEWAY_FILE_ROOTS"):
        check_target_allowed("git", "/srv/private.git")
    with pytest.raises(LocationNotAllowed, match="CAUSEWAY_FILE_ROOTS"):
        check_target_allowed("git", "file:///srv/private.git")
    check_target_allowed("git", f"file://{catalog_dir}/repo.git")
    check_target_allowed("git", "https://git.example.com/team/repo.git")  # remote: the allow-list decides


def git(cwd, *args):
    subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True,
                   env={"GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@example.com", "GIT_COMMITTER_NAME": "t",
                        "GIT_COMMITTER_EMAIL": "t@example.com", "HOME": str(cwd), "PATH": "/usr/bin:/bin"})


def test_it_imports_from_a_git_repository_and_follows_new_commits(tmp_path, settings):
    settings.CATALOG_GIT_CACHE_DIR = tmp_path / "cache"
    bare = tmp_path / "repo.git"
    work = tmp_path / "work"
    git(tmp_path, "init", "--bare", "-b", "main", str(bare))
    git(tmp_path, "init", "-b", "main", str(work))
    write(work, "catalog-info.yaml", GROUP, component("payments"))
    git(work, "add", ".")
    git(work, "commit", "-m", "first")
    git(work, "push", str(bare), "main")
    location = Location.objects.create(type="git", target=str(bare), git_ref="main")
    report = refresh_location(location)
    assert report.added == 2, report.errors
    location.refresh_from_db()
    first_revision = location.revision
    assert len(first_revision) == 40
    write(work, "catalog-info.yaml", GROUP, component("payments"), component("ledger"))
    git(work, "commit", "-am", "second")
    git(work, "push", str(bare), "main")
    report = refresh_location(location)
    assert report.added == 1
    location.refresh_from_db()
    assert location.revision != first_revision


def test_a_git_repository_that_does_not_exist_fails_clearly(tmp_path, settings):
    settings.CATALOG_GIT_CACHE_DIR = tmp_path / "cache"
    location = Location.objects.create(type="git", target=str(tmp_path / "nowhere.git"))
    report = refresh_location(location)
    assert report.status == "failed"
    location.refresh_from_db()
    assert location.status == "error" and location.last_error


@pytest.fixture
def catalog_server(tmp_path):
    root = tmp_path / "served"
    root.mkdir()
    write(root, "catalog-info.yaml", GROUP, component("payments"))

    class Handler(http.server.SimpleHTTPRequestHandler):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, directory=str(root), **kwargs)

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


def test_it_imports_from_an_allowed_url(catalog_server, settings):
    settings.CAUSEWAY_READ_ALLOW = catalog_server.removeprefix("http://")
    location = Location.objects.create(type="url", target=f"{catalog_server}/catalog-info.yaml")
    report = refresh_location(location)
    assert report.added == 2, report


def test_a_url_outside_the_allow_list_is_refused(catalog_server, settings):
    settings.CAUSEWAY_READ_ALLOW = "git.example.com"
    location = Location.objects.create(type="url", target=f"{catalog_server}/catalog-info.yaml")
    report = refresh_location(location)
    assert report.status == "failed" and "CAUSEWAY_READ_ALLOW" in report.message
    assert Entity.objects.count() == 0


BOMB = "a: &a [x,x,x,x,x,x,x,x,x]\n" + "".join(
    f"{chr(98 + i)}: &{chr(98 + i)} [{','.join(['*' + chr(97 + i)] * 9)}]\n" for i in range(8)
)


@pytest.mark.parametrize("hostile, expected", [
    ("apiVersion: backstage.io/v1alpha1\nkind: Component\nmetadata: {name: [unclosed\n", "invalid yaml"),
    (BOMB, "alias"),
    ("# padding\n" * 700_000, "limit"),
    ("- a list\n- not an entity\n", "mapping"),
    ("apiVersion: backstage.io/v1alpha1\nkind: Spaceship\nmetadata: {name: payments}\nspec: {}\n", "spaceship"),
])
def test_hostile_content_replacing_a_good_file_loses_nothing(catalog_dir, settings, hostile, expected):
    settings.CATALOG_MAX_FILE_BYTES = 5 * 1024 * 1024
    write(catalog_dir, "team/catalog-info.yaml", GROUP)
    service = write(catalog_dir, "service/catalog-info.yaml", component("payments"))
    location = file_location(catalog_dir)
    refresh_location(location)
    before = Entity.objects.get(ref="component:default/payments")

    service.write_text(hostile)
    report = refresh_location(location)

    assert any(expected in e["message"].lower() for e in report.errors), report.errors
    after = Entity.objects.get(ref="component:default/payments")
    assert not after.orphan and after.uid == before.uid and after.data["spec"] == before.data["spec"]
    assert after.has_errors
    assert Entity.objects.filter(ref="group:default/team-a", orphan=False).exists()


def test_policy_errors_added_after_ingestion_do_not_count_as_a_change(catalog_dir):
    location = file_location(write(catalog_dir, "catalog-info.yaml", GROUP, component("payments")))
    refresh_location(location)
    policy = {"type": "causeway.dev/policy", "level": "error", "message": "Policy 'owner exists': no"}
    Entity.objects.filter(ref="component:default/payments").update(errors=[policy], has_errors=True)
    report = refresh_location(location, force=True)
    assert report.updated == 0 and report.unchanged == 2
