"""The GitOps repository: write claim files and catalog entities, commit, push.

Every change is made in a fresh temporary clone of the configured branch (fetched shallowly),
committed, and pushed without force; when the push is refused because someone else pushed
first, the change is made again on top of the new tip (up to ``PUSH_ATTEMPTS`` times). Changes
from this server are serialised by a file lock per repository. git runs without a shell, with a
timeout, with hooks switched off and without reading the user's or the system's git config.

Layout of the repository::

    claims/<team>/<resource-type>/<name>.yaml   the manifests Argo CD / Flux / Crossplane apply
    catalog/<team>/<name>.yaml                  the catalog Resource entity tracking the claim
    catalog-info.yaml                           a catalog Location listing every catalog/ file

The portal registers ``catalog-info.yaml`` of this repository as a git Location in the catalog.
"""

from __future__ import annotations

import base64
import fcntl
import hashlib
import os
import shutil
import subprocess
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any
from urllib.parse import urlsplit

import yaml

from . import conf
from .manifests import dump_manifests

CATALOG_DIR = "catalog"
INDEX_FILE = "catalog-info.yaml"
INDEX_NAME = "provisioned-resources"
PUSH_ATTEMPTS = 4


class GitOpsError(Exception):
    """The GitOps repository could not be read or written; the message says why."""


def entity_path(team: str, name: str) -> str:
    """Where a claim's catalog entity lives in the repository (team and name are DNS labels)."""
    return f"{CATALOG_DIR}/{team}/{name}.yaml"


@dataclass(frozen=True)
class Author:
    name: str
    email: str


@dataclass(frozen=True)
class CommitResult:
    sha: str
    message: str


class WorkTree:
    """A checked-out tree a change function may write to; paths never leave it."""

    def __init__(self, root: Path) -> None:
        self.root = root.resolve()

    def _target(self, relative: str) -> Path:
        pure = PurePosixPath(relative)
        if pure.is_absolute() or not pure.parts or any(part in ("", ".", "..", ".git") for part in pure.parts):
            raise GitOpsError(f"{relative!r} is not a path inside the repository")
        plain = self.root / pure
        # A symlinked file is replaced, never written through; a symlinked folder must stay inside.
        resolved = plain.parent.resolve() / plain.name
        if not resolved.is_relative_to(self.root) or resolved == self.root:
            raise GitOpsError(f"{relative!r} resolves outside the repository")
        return resolved

    def write(self, relative: str, text: str) -> None:
        target = self._target(relative)
        target.parent.mkdir(parents=True, exist_ok=True)
        if target.is_symlink():
            target.unlink()
        target.write_text(text, encoding="utf-8")

    def delete(self, relative: str) -> bool:
        target = self._target(relative)
        if target.is_symlink() or target.is_file():
            target.unlink()
            return True
        return False

    def read(self, relative: str) -> str | None:
        target = self._target(relative)
        if target.is_symlink() or not target.is_file():
            return None
        return target.read_text(encoding="utf-8")

    def catalog_files(self) -> list[str]:
        """Every ``catalog/<team>/<name>.yaml`` file, sorted."""
        folder = self.root / CATALOG_DIR
        if not folder.is_dir() or folder.is_symlink():
            return []
        found = []
        for path in folder.glob("*/*.yaml"):
            if path.is_file() and not path.is_symlink() and not path.parent.is_symlink():
                found.append(path.relative_to(self.root).as_posix())
        return sorted(found)

    def write_index(self) -> None:
        """``catalog-info.yaml``: a Location listing every entity file (empty when there are none)."""
        targets = [f"./{path}" for path in self.catalog_files()]
        if not targets:
            self.write(INDEX_FILE, "# No provisioned resources at the moment.\n")
            return
        location = {
            "apiVersion": "backstage.io/v1alpha1",
            "kind": "Location",
            "metadata": {
                "name": INDEX_NAME,
                "description": "Resources ordered through the portal's self-service provisioning.",
            },
            "spec": {"targets": targets},
        }
        self.write(INDEX_FILE, yaml.safe_dump(location, sort_keys=False))


def entity_yaml(entity: dict[str, Any]) -> str:
    """One entity as a YAML document (serialised, round-trip checked)."""
    return dump_manifests([entity])


# ----------------------------------------------------------------------------------------- git


def _redact(text: str) -> str:
    parts = urlsplit(text) if "://" in text else None
    if parts and parts.username:
        return text.replace(parts.netloc, parts.hostname or "", 1)
    return text


class GitOpsRepository:
    """One remote and branch. ``change(fn, message, author)`` is the only way to write."""

    def __init__(
        self,
        remote: str | None = None,
        branch: str | None = None,
        *,
        timeout: float | None = None,
        committer: tuple[str, str] | None = None,
        token: str | None = None,
        username: str | None = None,
    ) -> None:
        self.remote = remote or conf.gitops_repo()
        self.branch = branch or conf.gitops_branch()
        self.timeout = timeout or conf.git_timeout()
        self.committer = committer or conf.committer()
        configured_username, configured_token = conf.gitops_credentials()
        self.token = token if token is not None else configured_token
        self.username = username or configured_username
        if self.remote.startswith("-") or not self.remote.strip():
            raise GitOpsError(f"{self.remote!r} is not a git repository URL or path")

    # -- plumbing

    @property
    def shown(self) -> str:
        return _redact(self.remote)

    def _env(self, home: str) -> dict[str, str]:
        env = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "HOME": home,
            "LANG": "C",
            "GIT_TERMINAL_PROMPT": "0",
            "GIT_CONFIG_NOSYSTEM": "1",
            "GIT_CONFIG_GLOBAL": os.devnull,
            "GIT_ALLOW_PROTOCOL": "file:git:http:https:ssh",
            "GIT_COMMITTER_NAME": self.committer[0],
            "GIT_COMMITTER_EMAIL": self.committer[1],
        }
        if self.token and urlsplit(self.remote).scheme in ("http", "https"):
            credentials = base64.b64encode(f"{self.username}:{self.token}".encode()).decode("ascii")
            env.update({
                "GIT_CONFIG_COUNT": "1",
                "GIT_CONFIG_KEY_0": "http.extraHeader",
                "GIT_CONFIG_VALUE_0": f"Authorization: Basic {credentials}",
            })
        return env

    def _git(self, args: list[str], *, cwd: Path | None, env: dict[str, str], what: str,
             extra_env: dict[str, str] | None = None) -> str:
        command = ["git", "-c", "core.hooksPath=/dev/null", "-c", "commit.gpgsign=false", *args]
        try:
            result = subprocess.run(
                command, cwd=str(cwd) if cwd else None, env={**env, **(extra_env or {})},
                stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=self.timeout, check=False,
            )
        except subprocess.TimeoutExpired:
            raise GitOpsError(f"git {what} on {self.shown} took longer than {self.timeout:.0f} s")
        except OSError as exc:
            raise GitOpsError(f"git could not be run: {exc}")
        if result.returncode != 0:
            detail = (result.stderr or result.stdout).strip()
            if self.token:
                detail = detail.replace(self.token, "***")
            raise GitOpsError(f"git {what} on {self.shown} failed: {_redact(detail)[-600:]}")
        return result.stdout

    @contextmanager
    def _locked(self) -> Iterator[None]:
        digest = hashlib.sha256(self.remote.encode()).hexdigest()[:16]
        path = Path(tempfile.gettempdir()) / f"causeway-gitops-{digest}.lock"
        with open(path, "a") as handle:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(handle.fileno(), fcntl.LOCK_UN)

    def ensure_exists(self) -> None:
        """Create the bare repository when the remote is a local path that does not exist yet."""
        path = conf.local_repo_path(self.remote)
        if path is None or (path / "HEAD").is_file():
            return
        if path.exists() and any(path.iterdir()):
            raise GitOpsError(f"{path} exists and is not a bare git repository")
        path.mkdir(parents=True, exist_ok=True)
        home = tempfile.mkdtemp(prefix="causeway-gitops-")
        try:
            self._git(["init", "--quiet", "--bare", f"--initial-branch={self.branch}", str(path)],
                      cwd=None, env=self._env(home), what="init")
        finally:
            shutil.rmtree(home, ignore_errors=True)

    def _tip(self, env: dict[str, str]) -> str | None:
        out = self._git(["ls-remote", "--heads", "--", self.remote, f"refs/heads/{self.branch}"],
                        cwd=None, env=env, what="ls-remote")
        line = out.strip().splitlines()
        return line[0].split()[0] if line else None

    # -- the one write operation

    def change(
        self, apply: Callable[[WorkTree], None], message: str, author: Author | None = None
    ) -> CommitResult | None:
        """Check out the branch, let ``apply`` change the tree, regenerate the index, commit and push.
        Returns the commit, or None when ``apply`` changed nothing."""
        self.ensure_exists()
        author = author or Author(*self.committer)
        with self._locked():
            last_error: GitOpsError | None = None
            for _ in range(PUSH_ATTEMPTS):
                home = tempfile.mkdtemp(prefix="causeway-gitops-")
                try:
                    result = self._attempt(Path(home), apply, message, author)
                    return result
                except _PushRejected as exc:
                    last_error = GitOpsError(str(exc))
                finally:
                    shutil.rmtree(home, ignore_errors=True)
            raise last_error or GitOpsError("the push was refused")

    def _attempt(self, home: Path, apply: Callable[[WorkTree], None], message: str,
                 author: Author) -> CommitResult | None:
        env = self._env(str(home))
        work = home / "work"
        self._git(["init", "--quiet", f"--initial-branch={self.branch}", str(work)], cwd=None, env=env, what="init")
        tip = self._tip(env)
        if tip:
            self._git(["fetch", "--quiet", "--no-tags", "--depth", "1", "--", self.remote,
                       f"refs/heads/{self.branch}"], cwd=work, env=env, what="fetch")
            self._git(["checkout", "--quiet", "-B", self.branch, "FETCH_HEAD"], cwd=work, env=env, what="checkout")
        tree = WorkTree(work)
        apply(tree)
        tree.write_index()
        self._git(["add", "--all", "."], cwd=work, env=env, what="add")
        if not self._git(["status", "--porcelain"], cwd=work, env=env, what="status").strip():
            return None
        self._git(["commit", "--quiet", "--no-verify", "-m", message], cwd=work, env=env, what="commit",
                  extra_env={"GIT_AUTHOR_NAME": author.name, "GIT_AUTHOR_EMAIL": author.email})
        sha = self._git(["rev-parse", "HEAD"], cwd=work, env=env, what="rev-parse").strip()
        try:
            self._git(["push", "--quiet", "--no-verify", "--", self.remote, f"HEAD:refs/heads/{self.branch}"],
                      cwd=work, env=env, what="push")
        except GitOpsError as exc:
            text = str(exc)
            if any(word in text for word in ("rejected", "fetch first", "non-fast-forward", "stale info")):
                raise _PushRejected(text)
            raise
        return CommitResult(sha=sha, message=message)

    # -- reading (pages and tests)

    def read(self, path: str) -> str | None:
        """A file at the branch tip, or None (read with a shallow fetch into a temporary repository)."""
        home = tempfile.mkdtemp(prefix="causeway-gitops-")
        try:
            env = self._env(home)
            local = conf.local_repo_path(self.remote)
            if local is not None and not (local / "HEAD").is_file():
                return None
            if not self._tip(env):
                return None
            work = Path(home) / "read.git"
            self._git(["init", "--quiet", "--bare", str(work)], cwd=None, env=env, what="init")
            self._git(["fetch", "--quiet", "--no-tags", "--depth", "1", "--", self.remote,
                       f"refs/heads/{self.branch}"], cwd=work, env=env, what="fetch")
            try:
                return self._git(["show", f"FETCH_HEAD:{path}"], cwd=work, env=env, what="show")
            except GitOpsError:
                return None
        finally:
            shutil.rmtree(home, ignore_errors=True)


class _PushRejected(Exception):
    pass
