"""A small catalog whose payments component carries a docs site, for the TechDocs page and build tests.

alice is a member of team-a, which owns payments; charlie is nobody in the catalog; sam is staff.
"""

import subprocess
from pathlib import Path

import pytest

from catalog.ingest import refresh_location
from catalog.models import Entity, Location

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 32
SVG = b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert("svg")</script><circle r="4"/></svg>'

CATALOG = """
apiVersion: backstage.io/v1alpha1
kind: Group
metadata: {name: team-a}
spec: {type: team, children: []}
---
apiVersion: backstage.io/v1alpha1
kind: User
metadata: {name: alice}
spec: {memberOf: [team-a]}
---
apiVersion: backstage.io/v1alpha1
kind: Component
metadata:
  name: payments
  title: Payments
  description: Takes the money
  annotations:
    backstage.io/techdocs-ref: dir:.
    backstage.io/edit-url: https://git.example.com/acme/payments/edit/main/catalog-info.yaml
spec: {type: service, lifecycle: production, owner: team-a}
---
apiVersion: backstage.io/v1alpha1
kind: Component
metadata: {name: ledger, description: Keeps the books}
spec: {type: service, lifecycle: production, owner: team-b}
"""

SITE = {
    "mkdocs.yml": (
        "site_name: Payments handbook\n"
        "site_description: How payments work\n"
        "repo_url: https://git.example.com/acme/payments\n"
        "edit_uri: edit/main/docs/\n"
        "nav:\n"
        "  - Home: index.md\n"
        "  - Guide:\n"
        "      - Install: guide/install.md\n"
        "      - Configure: guide/configure.md\n"
        "  - Reference: reference.md\n"
    ),
    "docs/index.md": (
        "# Payments\n\n"
        "Welcome to the payments service.\n\n"
        "![Architecture](img/diagram.png)\n\n"
        "Read [how to install](guide/install.md) first. The [logo](img/logo.svg) is ours.\n\n"
        '<script>alert("owned")</script>\n\n'
        '<img src="img/diagram.png" onerror="alert(1)">\n\n'
        "[click me](javascript:alert(2))\n"
    ),
    "docs/guide/install.md": (
        "# Install\n\n"
        "## Requirements\n\n"
        "You need a ledger account and the settlement token.\n\n"
        "## Steps\n\n"
        "Run `make install`, then see [configuring](configure.md).\n"
    ),
    "docs/guide/configure.md": (
        "# Configure\n\n"
        "Set `PAYMENTS_TOKEN`. Download the [report](../files/report.html).\n"
    ),
    "docs/reference.md": (
        "# Reference\n\n"
        "```python\n"
        "def settle(amount: int) -> str:\n"
        "    return 'ok'\n"
        "```\n\n"
        "| Field | Meaning |\n| --- | --- |\n| amount | cents |\n\n"
        '!!! warning "Careful"\n'
        "    Refunds are final.\n\n"
        "```mermaid\n"
        "graph TD; A-->B;\n"
        "```\n"
    ),
    "docs/img/diagram.png": PNG,
    "docs/img/logo.svg": SVG,
    "docs/files/report.html": b"<html><script>alert('report')</script></html>",
}


def write_files(base: Path, files: dict) -> Path:
    for relative, content in files.items():
        target = base / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            target.write_bytes(content)
        else:
            target.write_text(content, encoding="utf-8")
    return base


def git(cwd, *args) -> str:
    completed = subprocess.run(
        ["git", *args], cwd=cwd, check=True, capture_output=True,
        env={"GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@example.com", "GIT_COMMITTER_NAME": "t",
             "GIT_COMMITTER_EMAIL": "t@example.com", "HOME": str(cwd), "PATH": "/usr/bin:/bin"},
    )
    return completed.stdout.decode().strip()


@pytest.fixture
def docs_repo(tmp_path, settings) -> Path:
    """A folder with catalog-info.yaml, mkdocs.yml and docs/, inside the allowed file roots."""
    settings.CAUSEWAY_FILE_ROOTS = [str(tmp_path)]
    settings.CATALOG_GIT_CACHE_DIR = tmp_path / "git-cache"
    repo = tmp_path / "payments"
    write_files(repo, {"catalog-info.yaml": CATALOG, **SITE})
    return repo


@pytest.fixture
def payments(db, docs_repo) -> Entity:
    location = Location.objects.create(type="file", target=str(docs_repo / "catalog-info.yaml"))
    report = refresh_location(location)
    assert report.status == "updated", report.errors
    return Entity.objects.select_related("location").get(ref="component:default/payments")


@pytest.fixture
def built(payments):
    from techdocs.publish import build_entity_docs

    outcome = build_entity_docs(payments)
    assert outcome.status == "built", outcome.message
    return payments.docsite
