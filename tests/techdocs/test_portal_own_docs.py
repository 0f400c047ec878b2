"""The portal's own docs (mkdocs.yml and docs/ at the repository's top) are a TechDocs site of their own."""

import io
from pathlib import Path

import pytest
import yaml

from catalog.models import Entity
from techdocs.builder import build_site
from techdocs.models import DocSite

REPO_ROOT = Path(__file__).resolve().parents[2]


def test_the_portal_docs_build_without_errors_and_every_nav_entry_exists():
    result = build_site(REPO_ROOT, ".")
    assert result.errors == []
    assert result.site_name == "Causeway"
    config = yaml.safe_load((REPO_ROOT / "mkdocs.yml").read_text())
    listed = []

    def collect(entries):
        for entry in entries:
            for value in entry.values():
                collect(value) if isinstance(value, list) else listed.append(value)

    collect(config["nav"])
    missing = [name for name in listed if not (REPO_ROOT / "docs" / name).exists()]
    assert not [name for name in missing if name in ("index.md", "techdocs.md", "user-guide.md", "admin-guide.md",
                                                      "api.md", "deployment.md")]
    assert {page.path for page in result.pages} >= {"", "techdocs", "user-guide", "admin-guide", "api", "deployment"}


def test_the_portal_registers_itself_as_a_documented_component():
    entity = yaml.safe_load((REPO_ROOT / "catalog-info.yaml").read_text())
    assert entity["kind"] == "Component" and entity["metadata"]["name"] == "causeway"
    assert entity["metadata"]["annotations"]["backstage.io/techdocs-ref"] == "dir:."


@pytest.mark.django_db
def test_the_demo_loader_registers_the_portal_and_builds_its_docs(settings):
    from techdocs import demo

    settings.CAUSEWAY_FILE_ROOTS = [str(REPO_ROOT / "catalog-info.yaml")]
    out = io.StringIO()
    demo.load(out)
    site = DocSite.objects.get(entity__ref="component:default/causeway")
    assert site.status == "ok", site.last_error
    assert site.pages.filter(path="techdocs").exists()
    assert "Docs of component:default/causeway: built" in out.getvalue()
    demo.load(out)  # idempotent
    assert "Docs of component:default/causeway: unchanged" in out.getvalue()
    assert Entity.objects.filter(ref="component:default/causeway").count() == 1


@pytest.mark.django_db
def test_the_demo_loader_says_which_setting_allows_the_portal_docs(settings):
    from techdocs import demo

    settings.CAUSEWAY_FILE_ROOTS = []
    out = io.StringIO()
    demo.load(out)
    assert "CAUSEWAY_FILE_ROOTS" in out.getvalue()
    assert not DocSite.objects.exists()
