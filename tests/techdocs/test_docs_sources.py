"""Where docs come from: dir: next to a catalog file on disk or in git, url: to a repository folder."""

from pathlib import Path

import pytest

from catalog.ingest import refresh_location
from catalog.models import Entity, Location
from techdocs.models import DocSite
from techdocs.publish import build_entity_docs
from techdocs.sources import GitSource, LocalSource, SourceError, UnsupportedRef, resolve_source
from tests.techdocs.conftest import CATALOG, SITE, git, write_files


def test_dir_resolves_next_to_a_catalog_file_on_disk(tmp_path):
    catalog = tmp_path / "repo" / "services" / "payments" / "catalog-info.yaml"
    catalog.parent.mkdir(parents=True)
    source = resolve_source("dir:./handbook", f"file:{catalog}", file_roots=[tmp_path])
    assert source == LocalSource(root=catalog.parent.resolve(), docs_dir="handbook")


def test_dir_may_climb_inside_the_enclosing_work_tree_only(tmp_path):
    repo = tmp_path / "repo"
    catalog = repo / "services" / "payments" / "catalog-info.yaml"
    catalog.parent.mkdir(parents=True)
    (repo / ".git").mkdir()
    source = resolve_source("dir:../../docs", f"file:{catalog}", file_roots=[tmp_path])
    assert source == LocalSource(root=repo.resolve(), docs_dir="docs")
    with pytest.raises(SourceError, match="outside the repository"):
        resolve_source("dir:../../../elsewhere", f"file:{catalog}", file_roots=[tmp_path])


def test_dir_refuses_catalog_files_outside_the_allowed_roots_and_absolute_paths(tmp_path):
    catalog = tmp_path / "repo" / "catalog-info.yaml"
    with pytest.raises(SourceError, match="CAUSEWAY_FILE_ROOTS"):
        resolve_source("dir:.", f"file:{catalog}", file_roots=[tmp_path / "other"])
    with pytest.raises(SourceError, match="relative"):
        resolve_source("dir:/etc", f"file:{catalog}", file_roots=[tmp_path])


def test_dir_resolves_inside_a_git_location():
    source = resolve_source("dir:docs", "git:https://git.example.com/acme/payments.git#main:services/pay/catalog-info.yaml",
                            file_roots=[])
    assert source == GitSource(remote="https://git.example.com/acme/payments.git", ref="main",
                               docs_dir="services/pay/docs")
    with pytest.raises(SourceError):
        resolve_source("dir:../../..", "git:https://git.example.com/a.git#main:x/catalog-info.yaml", file_roots=[])


def test_dir_resolves_for_a_catalog_file_read_from_a_repository_host_url():
    source = resolve_source("dir:.", "url:https://github.com/acme/payments/blob/main/catalog-info.yaml", file_roots=[])
    assert source == GitSource(remote="https://github.com/acme/payments.git", ref="main", docs_dir=".")
    with pytest.raises(UnsupportedRef, match="unsupported techdocs-ref"):
        resolve_source("dir:.", "url:https://example.com/catalog-info.yaml", file_roots=[])


def test_url_refs_name_repository_folders():
    assert resolve_source("url:https://github.com/acme/payments/tree/main/docs", "", file_roots=[]) == GitSource(
        remote="https://github.com/acme/payments.git", ref="main", docs_dir="docs", from_annotation=True)
    assert resolve_source("url:https://gitlab.example.com/g/payments/-/tree/v2", "", file_roots=[]) == GitSource(
        remote="https://gitlab.example.com/g/payments.git", ref="v2", docs_dir=".", from_annotation=True)
    with pytest.raises(UnsupportedRef, match="unsupported techdocs-ref"):
        resolve_source("url:https://docs.example.com/payments/", "", file_roots=[])
    with pytest.raises(UnsupportedRef, match="unsupported techdocs-ref"):
        resolve_source("s3:bucket/payments", "", file_roots=[])


def test_a_url_ref_to_a_repository_on_this_machine_must_be_under_the_file_roots(tmp_path):
    with pytest.raises(SourceError, match="CAUSEWAY_FILE_ROOTS"):
        resolve_source("url:file:///srv/private.git#main", "", file_roots=[tmp_path])
    assert resolve_source(f"url:file://{tmp_path}/docs.git#main:site", "", file_roots=[tmp_path]).ref == "main"


def _bare_repository(tmp_path: Path, files: dict) -> tuple[Path, str]:
    bare, work = tmp_path / "payments.git", tmp_path / "work"
    git(tmp_path, "init", "--bare", "-b", "main", str(bare))
    git(tmp_path, "init", "-b", "main", str(work))
    write_files(work, files)
    git(work, "add", ".")
    git(work, "commit", "-m", "docs")
    git(work, "push", str(bare), "main")
    return bare, git(work, "rev-parse", "HEAD")


@pytest.mark.django_db
def test_docs_of_an_entity_from_a_git_location_are_built_from_that_revision(tmp_path, settings):
    settings.CAUSEWAY_FILE_ROOTS = [str(tmp_path)]
    settings.CATALOG_GIT_CACHE_DIR = tmp_path / "cache"
    files = {f"services/payments/{name}": content for name, content in {"catalog-info.yaml": CATALOG, **SITE}.items()}
    bare, commit = _bare_repository(tmp_path, files)
    location = Location.objects.create(type="git", target=str(bare), git_ref="main", git_path="services/payments")
    report = refresh_location(location)
    assert report.status == "updated", report.errors
    payments = Entity.objects.get(ref="component:default/payments")
    outcome = build_entity_docs(payments)
    assert outcome.status == "built", outcome.message
    site = DocSite.objects.get(entity=payments)
    assert site.revision == commit
    assert site.page_count == 4 and site.assets.count() == 3
    assert build_entity_docs(payments).status == "unchanged"


@pytest.mark.django_db
def test_a_url_ref_builds_a_folder_of_another_repository(tmp_path, settings, docs_repo, payments):
    settings.CATALOG_GIT_CACHE_DIR = tmp_path / "cache"
    bare, commit = _bare_repository(tmp_path, {f"handbook/{name}": content for name, content in SITE.items()})
    data = payments.data
    data["metadata"]["annotations"]["backstage.io/techdocs-ref"] = f"url:file://{bare}#main:handbook"
    Entity.objects.filter(pk=payments.pk).update(data=data)
    payments.refresh_from_db()
    outcome = build_entity_docs(payments)
    assert outcome.status == "built", outcome.message
    assert DocSite.objects.get(entity=payments).revision == commit


@pytest.mark.django_db
def test_a_git_docs_folder_symlinked_out_of_the_repository_is_a_clear_build_error(tmp_path, settings):
    settings.CAUSEWAY_FILE_ROOTS = [str(tmp_path)]
    settings.CATALOG_GIT_CACHE_DIR = tmp_path / "cache"
    bare, work = tmp_path / "payments.git", tmp_path / "work"
    git(tmp_path, "init", "--bare", "-b", "main", str(bare))
    git(tmp_path, "init", "-b", "main", str(work))
    write_files(work, {"catalog-info.yaml": CATALOG, "mkdocs.yml": "site_name: x\n"})
    (work / "docs").symlink_to("/etc")
    git(work, "add", ".")
    git(work, "commit", "-m", "docs")
    git(work, "push", str(bare), "main")
    refresh_location(Location.objects.create(type="git", target=str(bare), git_ref="main"))
    outcome = build_entity_docs(Entity.objects.get(ref="component:default/payments"))
    assert outcome.status == "failed"
    assert "symlink to a place outside the source" in outcome.message


@pytest.mark.django_db
def test_a_missing_git_ref_is_a_build_error_not_a_crash(tmp_path, settings, docs_repo, payments):
    settings.CATALOG_GIT_CACHE_DIR = tmp_path / "cache"
    bare, _commit = _bare_repository(tmp_path, {f"handbook/{name}": content for name, content in SITE.items()})
    data = payments.data
    data["metadata"]["annotations"]["backstage.io/techdocs-ref"] = f"url:file://{bare}#nope:handbook"
    Entity.objects.filter(pk=payments.pk).update(data=data)
    payments.refresh_from_db()
    outcome = build_entity_docs(payments)
    assert outcome.status == "failed"
    assert "nope" in outcome.message
