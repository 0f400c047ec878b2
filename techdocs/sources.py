"""Where an entity's docs come from: the ``backstage.io/techdocs-ref`` annotation, resolved and fetched.

Public API (no Django):

- ``resolve_source(techdocs_ref, source_location, *, file_roots) -> LocalSource | GitSource``
  ``techdocs_ref`` is the annotation's value; ``source_location`` is where the entity's own catalog
  file was read (``file:/abs/catalog-info.yaml``, ``git:<repository>#<ref>:<path in repository>`` or
  ``url:https://...``). Supported annotations:

  - ``dir:<path>``: a folder relative to the entity's catalog file. For a ``file:`` entity the folder
    must stay inside the enclosing git work tree (found below the allowed file root) or, without one,
    inside the catalog file's folder; for a ``git:`` entity, inside the repository. A ``url:`` entity
    works when its URL names a file in a GitHub, GitLab or Bitbucket repository.
  - ``url:<location>``: a repository folder of its own: ``https://host/org/repo/tree/<ref>/<path>``
    (GitHub, Gitea), ``.../-/tree/<ref>/<path>`` (GitLab), ``.../src/<ref>/<path>`` (Bitbucket), or a
    git URL (``https://host/org/repo.git``, ``ssh://...``, ``git@host:org/repo.git``, a local bare
    repository under the allowed file roots) optionally followed by ``#<ref>`` or ``#<ref>:<path>``.

  Anything else raises ``UnsupportedRef`` ("unsupported techdocs-ref ..."); a source that cannot be
  used (outside the allowed folders, leaving the repository) raises ``SourceError``. Both are
  ``BuildError`` subclasses, so a caller reports them like any failed build.
- ``checkout(source, *, cache_dir, timeout, allow_hosts, limits) -> Checkout`` (a context manager):
  for a ``LocalSource`` the folder itself; for a ``GitSource`` the repository is fetched at its ref
  into ``cache_dir`` (git CLI, no shell, with a timeout, through ``catalog.reading``'s helpers) and the
  site's folder is extracted into a temporary folder that is removed afterwards. ``Checkout.root``
  and ``Checkout.docs_dir`` are the arguments for ``techdocs.builder.build_site``.

Git hosts must be allow-listed like catalog URLs (``CAUSEWAY_READ_ALLOW`` syntax, parsed by the
caller). Symlinks in a repository are recreated as they are; the builder refuses the ones that leave
the checkout.
"""

from __future__ import annotations

import io
import os
import posixpath
import re
import shutil
import subprocess
import tarfile
import tempfile
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

from catalog import reading
from techdocs.builder import BuildError, BuildLimits

__all__ = [
    "EDIT_URL_ANNOTATION",
    "TECHDOCS_REF_ANNOTATION",
    "Checkout",
    "GitSource",
    "LocalSource",
    "SourceError",
    "UnsupportedRef",
    "checkout",
    "parse_repository_url",
    "resolve_source",
]

TECHDOCS_REF_ANNOTATION = "backstage.io/techdocs-ref"
EDIT_URL_ANNOTATION = "backstage.io/edit-url"

_TREE_URLS = (
    # GitLab: https://host/group/sub/repo/-/tree/<ref>/<path>
    re.compile(r"^(?P<repo>https?://[^/]+/.+?)/-/(?P<what>tree|blob)/(?P<ref>[^/]+)(?:/(?P<path>.*))?$"),
    # GitHub, Gitea, Forgejo: https://host/org/repo/tree/<ref>/<path>
    re.compile(r"^(?P<repo>https?://[^/]+/[^/]+/[^/]+?)(?:\.git)?/(?P<what>tree|blob|src/branch)/(?P<ref>[^/]+)"
               r"(?:/(?P<path>.*))?$"),
    # Bitbucket: https://bitbucket.org/org/repo/src/<ref>/<path>
    re.compile(r"^(?P<repo>https?://[^/]+/[^/]+/[^/]+?)(?:\.git)?/(?P<what>src)/(?P<ref>[^/]+)(?:/(?P<path>.*))?$"),
)
_SCP_LIKE = re.compile(r"^[A-Za-z0-9._-]+@[A-Za-z0-9.-]+:(?!//)")


class SourceError(BuildError):
    """The docs source named by the annotation cannot be used (the message says why)."""


class UnsupportedRef(SourceError):
    """The techdocs-ref annotation names a kind of source we do not build from."""


@dataclass(frozen=True)
class LocalSource:
    root: Path
    # The site folder (holding mkdocs.yml) relative to root.
    docs_dir: str

    def describe(self) -> str:
        return f"folder {self.docs_dir!r} of {self.root.name or self.root}"


@dataclass(frozen=True)
class GitSource:
    remote: str
    ref: str
    # The site folder relative to the repository's top.
    docs_dir: str
    # Whether the remote came from an annotation (its local paths must be under the file roots).
    from_annotation: bool = False

    def describe(self) -> str:
        return f"folder {self.docs_dir!r} of {reading._redact(self.remote)} at {self.ref}"


@dataclass
class Checkout:
    root: Path
    docs_dir: str
    revision: str = ""
    log: list[str] = field(default_factory=list)


# --- resolving the annotation ------------------------------------------------------------------------


def resolve_source(
    techdocs_ref: str, source_location: str, *, file_roots: Iterable[str | Path]
) -> LocalSource | GitSource:
    value = (techdocs_ref or "").strip()
    kind, _colon, target = value.partition(":")
    kind = kind.strip().lower()
    if kind == "dir" and _colon:
        return _resolve_dir(target.strip(), source_location.strip(), list(file_roots))
    if kind == "url" and _colon:
        remote, ref, path = parse_repository_url(target.strip())
        if remote is None:
            raise UnsupportedRef(
                f"unsupported techdocs-ref {value!r}: url: must name a git repository (a .git URL, or a"
                " GitHub, GitLab or Bitbucket folder URL such as https://host/org/repo/tree/main/docs)")
        _check_local_remote(remote, list(file_roots))
        return GitSource(remote=remote, ref=ref, docs_dir=_inside_repository(path or ".", value), from_annotation=True)
    raise UnsupportedRef(
        f"unsupported techdocs-ref {value!r}: use dir:<folder next to the catalog file> or url:<repository folder>")


def _resolve_dir(path: str, source_location: str, file_roots: list[str | Path]) -> LocalSource | GitSource:
    shown = f"dir:{path}"
    if not path:
        path = "."
    if path.startswith(("/", "\\")) or re.match(r"^[A-Za-z]:[\\/]", path):
        raise SourceError(f"techdocs-ref {shown!r} must be a path relative to the catalog file, not an absolute one")
    location_kind, _colon, location = source_location.partition(":")
    if location_kind == "file":
        return _local_dir(path, shown, Path(location), file_roots)
    if location_kind == "git":
        remote, _hash, rest = location.partition("#")
        ref, _colon2, file_path = rest.partition(":")
        if not remote or not ref:
            raise SourceError(f"the entity's source location {source_location!r} is not a git location")
        folder = posixpath.dirname(file_path.strip("/"))
        docs_dir = _inside_repository(posixpath.join(folder or ".", path), shown)
        return GitSource(remote=remote, ref=ref, docs_dir=docs_dir)
    if location_kind == "url":
        remote, ref, file_path = parse_repository_url(location)
        if remote is None or file_path is None:
            raise UnsupportedRef(
                f"unsupported techdocs-ref {shown!r} for an entity read from {location}: dir: needs a catalog file"
                " in a folder or a git repository (or a GitHub, GitLab or Bitbucket file URL)")
        folder = posixpath.dirname(file_path.strip("/"))
        docs_dir = _inside_repository(posixpath.join(folder or ".", path), shown)
        return GitSource(remote=remote, ref=ref, docs_dir=docs_dir)
    raise UnsupportedRef(
        f"unsupported techdocs-ref {shown!r}: the entity has no source location to resolve it against"
        f" ({source_location or 'none'})")


def _local_dir(path: str, shown: str, catalog_file: Path, file_roots: list[str | Path]) -> LocalSource:
    if not catalog_file.is_absolute():
        raise SourceError(f"the entity's catalog file {str(catalog_file)!r} is not an absolute path")
    catalog_dir = Path(os.path.normpath(catalog_file.parent))
    real_dir = catalog_dir.resolve()
    boundaries = []
    for root in file_roots:
        real_root = Path(root).resolve()
        if real_root == catalog_file.resolve():
            boundaries.append(real_dir)
        elif real_root == real_dir or real_root in real_dir.parents:
            boundaries.append(real_root)
    if not boundaries:
        raise SourceError(
            "the entity's catalog file is outside the folders docs may be read from (CAUSEWAY_FILE_ROOTS)")
    boundary = max(boundaries, key=lambda p: len(p.parts))
    # The docs may live anywhere in the enclosing git work tree, as long as it is below the allowed root.
    root = real_dir
    for candidate in [real_dir, *real_dir.parents]:
        if candidate != boundary and boundary not in candidate.parents:
            break
        if (candidate / ".git").exists():
            root = candidate
            break
    target = posixpath.normpath(posixpath.join(real_dir.relative_to(root).as_posix(), path.replace("\\", "/")))
    if target == ".." or target.startswith("../"):
        raise SourceError(f"techdocs-ref {shown!r} points outside the repository of the entity's catalog file")
    return LocalSource(root=root, docs_dir=target)


def _inside_repository(path: str, shown: str) -> str:
    normalised = posixpath.normpath(path.replace("\\", "/").strip("/") or ".")
    if normalised == ".." or normalised.startswith("../") or path.startswith("/"):
        raise SourceError(f"techdocs-ref {shown!r} points outside the repository")
    return normalised


def _check_local_remote(remote: str, file_roots: list[str | Path]) -> None:
    """A repository on this machine named by an annotation must be below an allowed file root."""
    local = remote[len("file://"):] if remote.lower().startswith("file://") else remote
    if not local.startswith("/"):
        return
    real = Path(local).resolve()
    for root in file_roots:
        real_root = Path(root).resolve()
        if real == real_root or real_root in real.parents:
            return
    raise SourceError("the techdocs-ref names a repository on this machine outside CAUSEWAY_FILE_ROOTS; refused")


def parse_repository_url(url: str) -> tuple[str | None, str, str | None]:
    """(git remote, ref, path in the repository or None) for a repository URL; remote None otherwise."""
    url = url.strip()
    if not url:
        return None, "HEAD", None
    if url.startswith("git+"):
        url = url[4:]
    parts = urlsplit(url)
    if parts.scheme in ("http", "https") and not parts.path.endswith(".git") and "#" not in url:
        clean = url.split("?", 1)[0].rstrip("/")
        for pattern in _TREE_URLS:
            match = pattern.match(clean)
            if match:
                path = match.group("path")
                return match.group("repo") + ".git", match.group("ref"), path or None
        return None, "HEAD", None
    if parts.scheme in ("http", "https", "ssh", "git", "file") or _SCP_LIKE.match(url) or url.startswith("/"):
        remote, _hash, fragment = url.partition("#")
        ref, _colon, path = fragment.partition(":")
        return remote, ref or "HEAD", path or None
    return None, "HEAD", None


# --- fetching -------------------------------------------------------------------------------------


@contextmanager
def checkout(
    source: LocalSource | GitSource,
    *,
    cache_dir: str | Path | None = None,
    timeout: float = 60.0,
    allow_hosts: tuple[str, ...] = (),
    limits: BuildLimits | None = None,
) -> Iterator[Checkout]:
    if isinstance(source, LocalSource):
        result = Checkout(root=source.root, docs_dir=source.docs_dir, revision=_work_tree_revision(source.root))
        result.log.append(f"source: {source.describe()}")
        yield result
        return
    limits = limits or BuildLimits()
    with tempfile.TemporaryDirectory(prefix="causeway-techdocs-") as work:
        yield _git_checkout(source, Path(work), cache_dir, timeout, allow_hosts, limits)


def _git_checkout(
    source: GitSource, work: Path, cache_dir: str | Path | None, timeout: float,
    allow_hosts: tuple[str, ...], limits: BuildLimits,
) -> Checkout:
    shown = reading._redact(source.remote)
    try:
        remote = reading._git_remote(source.remote, allow_hosts)
        cache = Path(cache_dir) if cache_dir is not None else work / "cache"
        repository, commit = reading._fetch_commit(remote, source.ref, cache, timeout)
    except reading.LocationReadError as exc:
        raise SourceError(str(exc))
    pathspec = [] if source.docs_dir == "." else ["--", source.docs_dir]
    try:
        listing = reading._run_git(["ls-tree", "-r", "-l", "-z", commit, *pathspec], cwd=repository, timeout=timeout)
    except reading._GitError as exc:
        raise SourceError(f"cannot list {source.ref} of {shown}: {exc}")
    count, total = 0, 0
    for record in listing.split(b"\0"):
        if not record:
            continue
        size = record.partition(b"\t")[0].split()[-1]
        count += 1
        total += int(size) if size.isdigit() else 0
    if count == 0:
        raise SourceError(f"the folder {source.docs_dir!r} does not exist in {shown} at {source.ref}")
    if count > limits.max_files:
        raise SourceError(f"the folder {source.docs_dir!r} has more than {limits.max_files} files, the limit")
    if total > limits.max_total_bytes:
        raise SourceError(f"the folder {source.docs_dir!r} holds {total} bytes, over the {limits.max_total_bytes}"
                          " byte limit")
    try:
        archive = reading._run_git(["archive", "--format=tar", commit, *pathspec], cwd=repository, timeout=timeout)
    except reading._GitError as exc:
        raise SourceError(f"cannot export {source.ref} of {shown}: {exc}")
    root = work / "checkout"
    root.mkdir()
    log = [f"source: {source.describe()}", f"revision {commit}"]
    _extract(archive, root, log)
    return Checkout(root=root, docs_dir=source.docs_dir, revision=commit, log=log)


def _extract(archive: bytes, destination: Path, log: list[str]) -> None:
    """Extract a ``git archive`` tar safely; symlinks pointing out are recreated last, for the builder to refuse."""
    outward: list[tarfile.TarInfo] = []
    with tarfile.open(fileobj=io.BytesIO(archive), mode="r:") as tar:
        for member in tar:
            if member.type == tarfile.XGLTYPE or member.name == "pax_global_header":
                continue
            try:
                tar.extract(member, destination, filter="data")
            except (tarfile.AbsoluteLinkError, tarfile.LinkOutsideDestinationError):
                outward.append(member)
            except (tarfile.FilterError, OSError) as exc:
                log.append(f"warning: {member.name}: not extracted ({exc})")
    real_destination = destination.resolve()
    for member in outward:
        target = destination / member.name
        if not target.parent.resolve().is_relative_to(real_destination) or os.path.lexists(target):
            continue
        target.parent.mkdir(parents=True, exist_ok=True)
        os.symlink(member.linkname, target)


def _work_tree_revision(root: Path) -> str:
    """The commit a local git work tree is at, or "" (no git, not a work tree, or git failing)."""
    if not (root / ".git").exists() or shutil.which("git") is None:
        return ""
    try:
        completed = subprocess.run(
            ["git", "-C", str(root), "rev-parse", "--verify", "--quiet", "HEAD"],
            capture_output=True, timeout=10, env=reading._git_environment(), check=False,
        )
    except (OSError, subprocess.TimeoutExpired):
        return ""
    return completed.stdout.decode("ascii", "replace").strip() if completed.returncode == 0 else ""
