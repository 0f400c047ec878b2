"""Fixtures for the provisioning pages and actions: a GitOps bare repository under tmp_path and a
small catalog where alice and bob are members of team-a, charlie of nothing, sam is staff."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from catalog.ingest import refresh_location
from catalog.models import Location

CATALOG = """
apiVersion: backstage.io/v1alpha1
kind: Group
metadata: {name: team-a}
spec: {type: team, children: []}
---
apiVersion: backstage.io/v1alpha1
kind: Group
metadata: {name: team-b}
spec: {type: team, children: []}
---
apiVersion: backstage.io/v1alpha1
kind: User
metadata: {name: alice}
spec: {profile: {email: alice@example.com}, memberOf: [team-a]}
---
apiVersion: backstage.io/v1alpha1
kind: User
metadata: {name: bob}
spec: {profile: {email: bob@example.com}, memberOf: [team-a]}
"""

SHA = "0123456789abcdef0123456789abcdef01234567"

PREVIEW_VALUES = {
    "repository": "https://git.example.com/acme/shop",
    "branch": "feature/cart",
    "commit": SHA,
    "ttl": "72h",
}

VALUES = {
    "postgresql": {"tier": "standard", "size": "small", "purpose": "Orders"},
    "mysql": {"tier": "internal", "size": "medium"},
    "redis": {"tier": "production", "size": "small"},
    "preview-environment": PREVIEW_VALUES,
    "team-namespace": {"cpuQuota": "4", "memoryQuota": "8Gi"},
}


def git(repo: Path, *args: str) -> str:
    result = subprocess.run(["git", "--git-dir", str(repo), *args], capture_output=True, text=True, check=True)
    return result.stdout


def show(repo: Path, path: str, rev: str = "main") -> str:
    return git(repo, "show", f"{rev}:{path}")


def commit_count(repo: Path) -> int:
    if not (repo / "HEAD").exists():
        return 0
    try:
        return int(git(repo, "rev-list", "--count", "main").strip())
    except subprocess.CalledProcessError:
        return 0  # no branch yet


def files(repo: Path) -> list[str]:
    if commit_count(repo) == 0:
        return []
    return git(repo, "ls-tree", "-r", "--name-only", "main").split()


@pytest.fixture
def gitops(tmp_path, settings) -> Path:
    """The GitOps repository (a bare repository, created on first use) and the settings to use it."""
    repo = tmp_path / "gitops.git"
    settings.PROVISIONING_GITOPS_REPO = str(repo)
    settings.CAUSEWAY_FILE_ROOTS = [str(tmp_path)]
    settings.CATALOG_GIT_CACHE_DIR = tmp_path / "git-cache"
    return repo


@pytest.fixture
def teams(tmp_path, gitops, alice, bob, charlie):
    """The catalog knows team-a (alice and bob) and team-b (nobody)."""
    path = tmp_path / "people" / "catalog-info.yaml"
    path.parent.mkdir(parents=True)
    path.write_text(CATALOG)
    location = Location.objects.create(type="file", target=str(path))
    refresh_location(location)
    return location
