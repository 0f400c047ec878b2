"""Building an entity's docs: stored per entity, rebuilt only when the source changed, failures keep the last pages."""

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from catalog.ingest import refresh_location
from catalog.models import Entity, Location
from techdocs.models import DocAsset, DocPage, DocSite
from techdocs.publish import build_entity_docs
from tests.techdocs.conftest import CATALOG, PNG, write_files

pytestmark = pytest.mark.django_db


def test_a_build_stores_pages_nav_files_revision_and_log(built):
    site = DocSite.objects.get(pk=built.pk)
    assert site.status == "ok"
    assert site.site_name == "Payments handbook"
    assert site.built_at is not None and site.source_hash and site.revision
    assert "stored 4 pages" in site.build_log
    assert [p.path for p in site.pages.order_by("order")] == ["", "guide/install", "guide/configure", "reference"]
    assert [item["title"] for item in site.nav] == ["Home", "Guide", "Reference"]
    assert [child["path"] for child in site.nav[1]["children"]] == ["guide/install", "guide/configure"]
    install = site.pages.get(path="guide/install")
    assert install.title == "Install"
    assert [h["title"] for h in install.headings] == ["Install", "Requirements", "Steps"]
    assert install.edit_url == "https://git.example.com/acme/payments/edit/main/docs/guide/install.md"
    assert "settlement token" in install.text
    assets = {a.path: a for a in site.assets.all()}
    assert set(assets) == {"img/diagram.png", "img/logo.svg", "files/report.html"}
    assert bytes(assets["img/diagram.png"].content) == PNG
    assert assets["img/diagram.png"].content_type == "image/png"
    assert assets["img/logo.svg"].content_type == "image/svg+xml"


def test_links_between_pages_point_at_the_reader(built):
    index = built.pages.get(path="")
    assert 'href="/docs/default/component/payments/guide/install/"' in index.html
    assert 'src="/docs/default/component/payments/img/diagram.png"' in index.html
    configure = built.pages.get(path="guide/configure")
    assert 'href="/docs/default/component/payments/files/report.html"' in configure.html


def test_an_unchanged_source_is_not_rebuilt(built, payments):
    page_ids = set(DocPage.objects.filter(site=built).values_list("pk", flat=True))
    outcome = build_entity_docs(payments)
    assert outcome.status == "unchanged"
    assert set(DocPage.objects.filter(site=built).values_list("pk", flat=True)) == page_ids
    assert DocSite.objects.get(pk=built.pk).status == "ok"


def test_a_changed_source_is_rebuilt(built, payments, docs_repo):
    first_hash = built.source_hash
    (docs_repo / "docs" / "guide" / "install.md").write_text("# Install\n\nNow with a new step.\n")
    outcome = build_entity_docs(payments)
    assert outcome.status == "built"
    site = DocSite.objects.get(pk=built.pk)
    assert site.source_hash != first_hash
    assert "new step" in site.pages.get(path="guide/install").text


def test_force_rebuilds_an_unchanged_source(built, payments):
    page_ids = set(DocPage.objects.filter(site=built).values_list("pk", flat=True))
    assert build_entity_docs(payments, force=True).status == "built"
    assert not page_ids & set(DocPage.objects.filter(site=built).values_list("pk", flat=True))


def test_a_failed_build_keeps_the_previous_pages_and_records_the_error(built, payments, docs_repo, alice_client):
    (docs_repo / "mkdocs.yml").write_text("site_name: Broken\ndocs_dir: ../../outside\n")
    outcome = build_entity_docs(payments)
    assert outcome.status == "failed"
    site = DocSite.objects.get(pk=built.pk)
    assert site.status == "failed"
    assert "outside" in site.last_error or ".." in site.last_error
    assert site.page_count == 4 and site.pages.count() == 4
    assert site.site_name == "Payments handbook"
    assert "error:" in site.build_log

    response = alice_client.get("/docs/default/component/payments/guide/install/")
    assert response.status_code == 200
    body = response.content.decode()
    assert "The last build failed" in body
    assert site.last_error.split("'")[0] in body
    assert "settlement token" in body  # the old page is still shown


def test_a_failing_source_is_not_retried_until_it_changes(built, payments, docs_repo):
    (docs_repo / "docs" / "index.md").unlink()
    (docs_repo / "docs" / "guide" / "install.md").unlink()
    (docs_repo / "docs" / "guide" / "configure.md").unlink()
    (docs_repo / "docs" / "reference.md").unlink()
    assert build_entity_docs(payments).status == "failed"
    assert build_entity_docs(payments).status == "unchanged"
    assert DocSite.objects.get(pk=built.pk).status == "failed"
    (docs_repo / "docs" / "index.md").write_text("# Back\n")
    assert build_entity_docs(payments).status == "built"
    assert DocSite.objects.get(pk=built.pk).status == "ok"


def test_a_docs_folder_symlinked_out_of_the_repository_is_a_clear_build_error(payments, docs_repo, tmp_path):
    outside = tmp_path / "elsewhere"
    write_files(outside, {"index.md": "# Secret\n"})
    import shutil

    shutil.rmtree(docs_repo / "docs")
    (docs_repo / "docs").symlink_to(outside, target_is_directory=True)
    outcome = build_entity_docs(payments)
    assert outcome.status == "failed"
    assert "symlink to a place outside the source" in outcome.message
    site = DocSite.objects.get(entity=payments)
    assert site.status == "failed" and site.pages.count() == 0
    assert not DocPage.objects.filter(text__contains="Secret").exists()


def test_a_dir_ref_leaving_the_folder_is_refused(docs_repo, payments):
    data = payments.data
    data["metadata"]["annotations"]["backstage.io/techdocs-ref"] = "dir:../../etc"
    Entity.objects.filter(pk=payments.pk).update(data=data)
    payments.refresh_from_db()
    outcome = build_entity_docs(payments)
    assert outcome.status == "failed"
    assert "points outside the repository" in outcome.message


def test_an_unsupported_ref_is_reported_as_such(payments):
    data = payments.data
    data["metadata"]["annotations"]["backstage.io/techdocs-ref"] = "url:https://docs.example.com/payments/"
    Entity.objects.filter(pk=payments.pk).update(data=data)
    payments.refresh_from_db()
    outcome = build_entity_docs(payments)
    assert outcome.status == "failed"
    assert "unsupported techdocs-ref" in outcome.message


def test_removing_the_annotation_removes_the_docs(built, payments, docs_repo):
    (docs_repo / "catalog-info.yaml").write_text(CATALOG.replace("backstage.io/techdocs-ref: dir:.", "x.io/y: z"))
    refresh_location(payments.location)
    payments.refresh_from_db()
    assert build_entity_docs(payments).status == "removed"
    assert not DocSite.objects.exists() and not DocAsset.objects.exists()


def test_a_catalog_refresh_queues_builds_for_changed_documented_entities(
    docs_repo, django_capture_on_commit_callbacks
):
    location = Location.objects.create(type="file", target=str(docs_repo / "catalog-info.yaml"))
    with django_capture_on_commit_callbacks(execute=True):
        refresh_location(location)
    site = DocSite.objects.get(entity__ref="component:default/payments")
    assert site.status == "ok" and site.page_count == 4
    assert not DocSite.objects.filter(entity__ref="component:default/ledger").exists()


def test_the_periodic_task_rebuilds_only_what_changed(built, docs_repo):
    from techdocs.tasks import rebuild_changed

    page_ids = set(DocPage.objects.values_list("pk", flat=True))
    assert rebuild_changed.delay().get() == 1
    assert set(DocPage.objects.values_list("pk", flat=True)) == page_ids
    (docs_repo / "docs" / "reference.md").write_text("# Reference\n\nRewritten.\n")
    rebuild_changed.delay()
    assert "Rewritten" in DocPage.objects.get(path="reference").text


def test_the_build_task_reports_a_missing_entity(db):
    from techdocs.tasks import build_entity

    assert build_entity.delay("component:default/nothing").get()["status"] == "missing"


def test_the_management_command_builds_one_entity_or_all(payments, capsys):
    call_command("techdocs_build", "component:default/payments")
    assert "component:default/payments: built" in capsys.readouterr().out
    call_command("techdocs_build", "--all")
    assert "component:default/payments: unchanged" in capsys.readouterr().out
    call_command("techdocs_build", "payments", "--force")
    assert "component:default/payments: built" in capsys.readouterr().out
    with pytest.raises(CommandError):
        call_command("techdocs_build", "component:default/nothing")
    with pytest.raises(CommandError):
        call_command("techdocs_build")
