"""Fixtures for the scaffolder's pages, API and runs: a small catalog with templates.

The catalog is written into tmp_path (a team, its people, a system) and the demo templates
under scaffolder/demo_templates are registered from their own folder. Publishing goes to bare
repositories under tmp_path/git (host ``localhost``), which the catalog may read.
"""

import textwrap
from pathlib import Path

import pytest

from catalog.ingest import refresh_location
from catalog.models import Location

REPO_ROOT = Path(__file__).resolve().parents[2]
DEMO_TEMPLATES = REPO_ROOT / "scaffolder" / "demo_templates"

ORG = """
apiVersion: backstage.io/v1alpha1
kind: Group
metadata: {name: team-a, title: Team A}
spec: {type: team, children: []}
---
apiVersion: backstage.io/v1alpha1
kind: Group
metadata: {name: team-b, title: Team B}
spec: {type: team, children: []}
---
apiVersion: backstage.io/v1alpha1
kind: User
metadata: {name: alice}
spec: {memberOf: [team-a], profile: {displayName: Alice, email: alice@example.com}}
---
apiVersion: backstage.io/v1alpha1
kind: User
metadata: {name: bob}
spec: {memberOf: [team-a]}
---
apiVersion: backstage.io/v1alpha1
kind: User
metadata: {name: charlie}
spec: {memberOf: [team-b]}
---
apiVersion: backstage.io/v1alpha1
kind: System
metadata: {name: payments, title: Payments}
spec: {owner: team-a}
---
apiVersion: backstage.io/v1alpha1
kind: Component
metadata: {name: ledger, tags: [python, money]}
spec: {type: service, lifecycle: production, owner: team-a, system: payments}
"""


def register_file(path: Path) -> Location:
    location = Location.objects.create(type="file", target=str(path))
    report = refresh_location(location)
    assert report.status != "failed", report.message
    return location


def write_template(root: Path, name: str, body: str, skeleton: dict[str, str] | None = None) -> Path:
    """A template.yaml (``body`` is its spec, indented YAML) with an optional skeleton folder."""
    folder = root / "templates" / name
    folder.mkdir(parents=True, exist_ok=True)
    text = (
        "apiVersion: scaffolder.backstage.io/v1beta3\nkind: Template\n"
        f"metadata:\n  name: {name}\n  title: {name.replace('-', ' ').title()}\n  tags: [testing]\n"
        "spec:\n" + textwrap.indent(textwrap.dedent(body).strip("\n"), "  ") + "\n"
    )
    (folder / "template.yaml").write_text(text)
    for relative, content in (skeleton or {}).items():
        target = folder / "skeleton" / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(content)
    return folder / "template.yaml"


@pytest.fixture
def scaffolder_env(tmp_path, settings):
    """Settings for a run that publishes to tmp_path/git and registers the result."""
    settings.CAUSEWAY_FILE_ROOTS = [str(tmp_path), str(DEMO_TEMPLATES)]
    settings.SCAFFOLDER_GIT_HOSTS = {"localhost": {"remote_base": (tmp_path / "git").as_uri(), "create_repos": True}}
    settings.CATALOG_GIT_CACHE_DIR = tmp_path / "git-cache"
    settings.SCAFFOLDER_WORK_DIR = ""
    return tmp_path


@pytest.fixture
def org(scaffolder_env):
    path = scaffolder_env / "org" / "catalog-info.yaml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(ORG)
    return register_file(path)


@pytest.fixture
def demo_templates(org):
    return register_file(DEMO_TEMPLATES / "catalog-info.yaml")


@pytest.fixture
def add_template(scaffolder_env, org):
    def add(name: str, body: str, skeleton: dict[str, str] | None = None) -> Location:
        return register_file(write_template(scaffolder_env, name, body, skeleton))

    return add
