"""Every docs site in the Backstage fixtures (folders with a mkdocs.yml) builds without errors.

The software-template skeletons carry ``${{ values.x }}`` placeholders; they are plain text to us.
"""

import os
from pathlib import Path

import pytest
import yaml

from techdocs.builder import build_site

REPO_ROOT = Path(__file__).resolve().parents[2]
FIXTURES = Path(os.environ.get("CAUSEWAY_FIXTURES", REPO_ROOT / ".." / "shared" / "fixtures" / "backstage"))


def docs_sites() -> list[Path]:
    if not FIXTURES.is_dir():
        return []
    return sorted({config.parent for name in ("mkdocs.yml", "mkdocs.yaml") for config in FIXTURES.rglob(name)})


def site_id(site: Path | None) -> str:
    return str(site.relative_to(FIXTURES)) if site else "none"


@pytest.mark.parametrize("site", docs_sites() or [None], ids=site_id)
def test_the_backstage_docs_site_builds_without_errors(site):
    if site is None:
        pytest.skip(f"Backstage fixtures not found at {FIXTURES} (or none has a mkdocs.yml)")
    result = build_site(FIXTURES, str(site.relative_to(FIXTURES)))
    assert result.errors == []
    assert result.pages, "a docs site should have at least one page"
    assert all(page.html and page.text for page in result.pages)
    config = yaml.safe_load((site / "mkdocs.yml").read_text(encoding="utf-8")) or {}
    if config.get("site_name"):
        assert result.site_name == config["site_name"]
    nav_paths = {item.path for item in result.nav if item.path is not None}
    assert nav_paths <= {page.path for page in result.pages}
