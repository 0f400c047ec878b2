"""Location readers: read every catalog document a registered location reaches.

A location is a target plus a type:

- ``file``: an absolute local path. A file is read as it is; a directory is scanned
  recursively for ``catalog-info.yaml`` / ``catalog-info.yml`` (hidden directories
  and ``node_modules`` are skipped). Reads stay inside the location's root: the
  directory itself, or the file's directory (``ReadOptions.root`` widens it).
- ``git``: a repository (``git+https://host/repo.git``, ``https://host/repo.git``,
  ``ssh://...``, ``file:///srv/repo.git`` or a local path to a bare repository) at
  ``ReadOptions.git_ref`` (branch, tag or commit; default ``HEAD``), limited to
  ``ReadOptions.git_path`` inside it (a file, or a directory to scan; default the
  whole tree). The git command is run without a shell and with a timeout; objects
  are fetched shallowly into ``ReadOptions.git_cache_dir`` (a temporary directory
  when not given) and files are read from the object store, never checked out.
  Network hosts must be allow-listed like URLs; local repositories need not be.
  The revision returned is the commit sha.
- ``url``: an ``http(s)`` URL whose host matches ``ReadOptions.allow_hosts``
  (patterns such as ``*.example.com``, ``raw.githubusercontent.com``,
  ``127.0.0.1:8123``; a pattern without a port matches the scheme's default port
  only). Redirects are checked against the same list. Fetching goes through a
  ``UrlFetcher`` adapter (``UrllibFetcher`` by default).

Every file read goes through ``catalog.yamlsafe`` (size limit before parsing,
alias-bomb and depth guards) and ``catalog.placeholders`` (``$text``/``$json``/
``$yaml``, resolved relative to the entity's own file inside the same root, or from
an allow-listed URL; a document whose placeholder cannot be read is left out and
reported, never returned half-substituted). Documents of kind ``Location`` are returned like any other
document and their ``spec.target`` / ``spec.targets`` are followed: relative
targets against their own file, in the same root, or allow-listed URLs. A target
already on the chain of Locations that led to it is a cycle; a target already read
through another Location is not read twice; both are reported. A missing target is
an error on that target (unless the Location has ``spec.presence: optional``) and
the other targets are still read. Symlinks resolving outside the root are refused.

Public API::

    read_location(target: str, *, type: str, options: ReadOptions | None = None) -> ReadResult
        Raises LocationReadError when the location itself cannot be reached (path
        missing, repository or ref not fetchable, URL refused or not found, bad
        target); the caller should then keep what it had. Everything found past
        that point is reported in ReadResult.errors instead.

    ReadOptions(max_bytes, allow_hosts, git_cache_dir, git_ref, git_path, root,
                timeout, url_fetcher, max_files, max_total_bytes)
        max_bytes bounds each file (default 5 MB), max_total_bytes everything one
        location reads (default 50 MB), max_files the files one location reads.
    ReadResult(documents: list[SourceDocument], errors: list[ReadError],
               revision: str | None, content_hash: str)
    SourceDocument(data: dict, location: str, index: int, line: int | None)
        ``location`` is the file the document came from, for the
        managed-by-location annotation: ``file:/abs/path/catalog-info.yaml``,
        ``url:https://host/catalog-info.yaml`` or
        ``git:<repository url>#<ref>:<path in repository>``. ``index`` is the
        document's position in its file (0-based, empty documents counted).
    ReadError(target: str, message: str, line: int | None = None)
        ``target`` is a location string as above (or the target as written when it
        could not be resolved).

    parse_allow_hosts(value: str) -> tuple[str, ...]   # CAUSEWAY_READ_ALLOW syntax
    host_is_allowed(url: str, allow_hosts: Iterable[str]) -> bool
    guess_location_type(target: str) -> str            # "file" | "url" | "git"
    UrlFetcher (protocol), UrllibFetcher, UrlFetchError, UrlNotFoundError

``content_hash`` is a sha256 over every byte read (catalog files and placeholder
content, each framed by its location) and every error, so an unchanged hash means
an unchanged result and the caller may skip storing it.
"""

from __future__ import annotations

import fcntl
import hashlib
import os
import posixpath
import re
import signal
import stat
import subprocess
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any, Protocol

from catalog.placeholders import PlaceholderError, substitute_placeholders
from catalog.yamlsafe import DEFAULT_MAX_BYTES, YamlError, load_documents

DEFAULT_TIMEOUT = 30.0
DEFAULT_MAX_FILES = 1000
DEFAULT_MAX_TOTAL_BYTES = 50 * 1024 * 1024
LOCATION_TYPES = ("file", "url", "git")
CATALOG_FILE_NAMES = ("catalog-info.yaml", "catalog-info.yml")
ALLOW_SETTING = "CAUSEWAY_READ_ALLOW"

_SKIPPED_DIRECTORY_NAMES = {"node_modules"}
_MAX_SCAN_ENTRIES = 200_000
_MAX_SYMLINK_HOPS = 40
_URL_SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*://")
_SCP_LIKE_GIT = re.compile(r"^[A-Za-z0-9._-]+@(?P<host>[A-Za-z0-9.-]+):(?!//)")
_SAFE_GIT_REF = re.compile(r"^(?!-)(?!.*\.\.)[A-Za-z0-9._/@+-]+$")
_HEX_SHA = re.compile(r"^[0-9a-fA-F]{7,64}$")
_DEFAULT_PORTS = {"http": 80, "https": 443, "ssh": 22, "git": 9418}


# --------------------------------------------------------------------------- results


class LocationReadError(Exception):
    """The location itself could not be reached; nothing was read."""


class UrlFetchError(Exception):
    """A URL could not be fetched (raised by ``UrlFetcher`` implementations)."""


class UrlNotFoundError(UrlFetchError):
    """The server answered that the URL does not exist (404, 410)."""


class UrlNotAllowedError(UrlFetchError):
    """The URL's host is not on the allow-list, or its scheme is not http(s)."""


@dataclass(frozen=True)
class SourceDocument:
    data: dict[str, Any]
    location: str
    index: int
    line: int | None = None


@dataclass(frozen=True)
class ReadError:
    target: str
    message: str
    line: int | None = None


@dataclass
class ReadResult:
    documents: list[SourceDocument]
    errors: list[ReadError]
    revision: str | None
    content_hash: str
    unchanged: bool = False


class UrlFetcher(Protocol):
    def fetch(self, url: str, *, max_bytes: int, timeout: float, check_url: Callable[[str], None]) -> bytes:
        """Return the body of ``url``.

        ``check_url`` must be called on every redirect target before following it
        (it raises ``UrlNotAllowedError``). Raise ``UrlNotFoundError`` for a missing
        resource, ``UrlFetchError`` for anything else, including a body over
        ``max_bytes``.
        """
        ...


@dataclass(frozen=True)
class ReadOptions:
    max_bytes: int = DEFAULT_MAX_BYTES
    allow_hosts: tuple[str, ...] = ()
    git_cache_dir: str | Path | None = None
    git_ref: str | None = None
    git_path: str = ""
    root: str | Path | None = None
    timeout: float = DEFAULT_TIMEOUT
    url_fetcher: UrlFetcher | None = None
    max_files: int = DEFAULT_MAX_FILES
    # For git: when the ref still points at this commit, nothing is read (ReadResult.unchanged).
    known_revision: str | None = None
    max_total_bytes: int = DEFAULT_MAX_TOTAL_BYTES


# --------------------------------------------------------------------------- hosts


def parse_allow_hosts(value: str) -> tuple[str, ...]:
    """Split a ``CAUSEWAY_READ_ALLOW`` value (comma or space separated) into patterns.

    Raises ValueError naming the first pattern that is not a host, ``*.domain`` or
    ``host:port``.
    """
    patterns = []
    for raw in re.split(r"[,\s]+", value.strip()):
        if not raw:
            continue
        pattern = raw.lower()
        host, port = _split_pattern(pattern)
        bare = host[2:] if host.startswith("*.") else host
        if not bare or "*" in bare or "/" in pattern or (port is not None and not 0 < port < 65536):
            raise ValueError(f"{ALLOW_SETTING}: {raw!r} is not a host pattern (use host, *.domain or host:port)")
        patterns.append(pattern)
    return tuple(patterns)


def _split_pattern(pattern: str) -> tuple[str, int | None]:
    if pattern.startswith("["):  # [::1]:8080
        host, _, rest = pattern[1:].partition("]")
        return host, int(rest[1:]) if rest.startswith(":") and rest[1:].isdigit() else None
    host, sep, port = pattern.rpartition(":")
    if sep and port.isdigit() and ":" not in host:
        return host, int(port)
    return pattern, None


def _host_matches(host: str, port: int, scheme: str, pattern: str) -> bool:
    pattern_host, pattern_port = _split_pattern(pattern.lower())
    if pattern_port is None:
        if port != _DEFAULT_PORTS.get(scheme):
            return False
    elif port != pattern_port:
        return False
    if pattern_host.startswith("*."):
        return host.endswith(pattern_host[1:]) and len(host) > len(pattern_host) - 1
    return host == pattern_host


def host_is_allowed(url: str, allow_hosts: Iterable[str]) -> bool:
    """True when the URL's host (and port) matches one of the patterns."""
    try:
        parts = urllib.parse.urlsplit(url)
        host = (parts.hostname or "").lower()
        port = parts.port or _DEFAULT_PORTS.get(parts.scheme.lower(), 0)
    except ValueError:
        return False
    if not host:
        return False
    return any(_host_matches(host, port, parts.scheme.lower(), pattern) for pattern in allow_hosts)


def _redact(url: str) -> str:
    """Drop credentials from a URL before it goes into a message or annotation."""
    try:
        parts = urllib.parse.urlsplit(url)
    except ValueError:
        return url
    if parts.username is None and parts.password is None:
        return url
    netloc = parts.netloc.rpartition("@")[2]
    return urllib.parse.urlunsplit(parts._replace(netloc=netloc))


def _host_label(url: str) -> str:
    try:
        return urllib.parse.urlsplit(url).netloc.rpartition("@")[2] or url
    except ValueError:
        return url


def _check_http_url(url: str, allow_hosts: Iterable[str]) -> None:
    try:
        scheme = urllib.parse.urlsplit(url).scheme.lower()
    except ValueError:
        raise UrlNotAllowedError(f"{_redact(url)!r} is not a valid URL")
    if scheme not in ("http", "https"):
        raise UrlNotAllowedError(f"only http and https URLs can be read, not {_redact(url)!r}")
    if not host_is_allowed(url, allow_hosts):
        raise UrlNotAllowedError(
            f"host {_host_label(url)!r} is not allowed for reading {_redact(url)}; "
            f"add it to the {ALLOW_SETTING} setting to allow it"
        )


def guess_location_type(target: str) -> str:
    """Best guess of a target's type, for forms: ``git``, ``url`` or ``file``."""
    lowered = target.strip().lower()
    if lowered.startswith("git+") or _SCP_LIKE_GIT.match(target) or lowered.rstrip("/").endswith(".git"):
        return "git"
    if lowered.startswith(("http://", "https://")):
        return "url"
    return "file"


# --------------------------------------------------------------------------- url fetching


class UrllibFetcher:
    """Default ``UrlFetcher``: urllib, redirects re-checked, body and time bounded."""

    user_agent = "Causeway-catalog-reader"

    def fetch(self, url: str, *, max_bytes: int, timeout: float, check_url: Callable[[str], None]) -> bytes:
        class CheckedRedirects(urllib.request.HTTPRedirectHandler):
            def redirect_request(self, req, fp, code, msg, headers, newurl):
                check_url(newurl)
                return super().redirect_request(req, fp, code, msg, headers, newurl)

        opener = urllib.request.build_opener(CheckedRedirects)
        request = urllib.request.Request(url, headers={"User-Agent": self.user_agent})  # noqa: S310
        deadline = time.monotonic() + timeout
        shown = _redact(url)
        try:
            with opener.open(request, timeout=timeout) as response:
                declared = response.headers.get("Content-Length")
                if declared and declared.isdigit() and int(declared) > max_bytes:
                    raise UrlFetchError(f"{shown} is {declared} bytes, over the limit of {max_bytes} bytes")
                chunks: list[bytes] = []
                received = 0
                while True:
                    chunk = response.read(65536)
                    if not chunk:
                        break
                    received += len(chunk)
                    if received > max_bytes:
                        raise UrlFetchError(f"{shown} is over the limit of {max_bytes} bytes")
                    if time.monotonic() > deadline:
                        raise UrlFetchError(f"reading {shown} took longer than {timeout:g} seconds")
                    chunks.append(chunk)
                return b"".join(chunks)
        except UrlFetchError:
            raise
        except urllib.error.HTTPError as exc:
            if exc.code in (404, 410):
                raise UrlNotFoundError(f"{shown} was not found (HTTP {exc.code})")
            raise UrlFetchError(f"{shown} answered HTTP {exc.code} {exc.reason}")
        except urllib.error.URLError as exc:
            raise UrlFetchError(f"cannot reach {shown}: {exc.reason}")
        except TimeoutError:
            raise UrlFetchError(f"reading {shown} timed out after {timeout:g} seconds")
        except (OSError, ValueError) as exc:
            raise UrlFetchError(f"cannot read {shown}: {exc}")


# --------------------------------------------------------------------------- trees


class _Missing(Exception):
    """A path or URL that does not exist."""


class _Refused(Exception):
    """A path or URL that exists (or might) but must not or cannot be read."""


def _resolve_reference(base_file: PurePosixPath, reference: str) -> PurePosixPath:
    """Resolve a relative reference written in ``base_file`` to a path inside the root."""
    if "\x00" in reference:
        raise _Refused(f"{reference!r} contains a NUL byte")
    if reference.startswith(("/", "\\")) or re.match(r"^[A-Za-z]:[\\/]", reference):
        raise _Refused(f"{reference!r} is an absolute path; use a path relative to {base_file.name}")
    joined = posixpath.normpath(posixpath.join(str(base_file.parent), reference))
    if joined == ".." or joined.startswith("../"):
        raise _Refused(f"{reference!r} resolves outside the location root")
    return PurePosixPath(joined)


def _skipped_directory(name: str) -> bool:
    return name.startswith(".") or name in _SKIPPED_DIRECTORY_NAMES


class _Tree(Protocol):
    def location(self, path: PurePosixPath) -> str: ...

    def resolve(self, path: PurePosixPath) -> tuple[PurePosixPath, str]: ...

    def read(self, path: PurePosixPath, max_bytes: int) -> bytes: ...

    def scan(self, path: PurePosixPath) -> tuple[list[PurePosixPath], list[tuple[str, str]]]: ...


class _LocalTree:
    """A directory on disk; every path is relative to (and must stay inside) it."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def location(self, path: PurePosixPath) -> str:
        return f"file:{self.root / path}" if str(path) != "." else f"file:{self.root}"

    def _inside(self, real: Path) -> bool:
        return real == self.root or self.root in real.parents

    def resolve(self, path: PurePosixPath) -> tuple[PurePosixPath, str]:
        full = self.root / path
        real = Path(os.path.realpath(full))
        if not self._inside(real):
            raise _Refused(f"{full} is a symlink that resolves outside the location root {self.root} ({real})")
        try:
            info = os.stat(real)
        except FileNotFoundError:
            raise _Missing(f"{full} does not exist")
        except OSError as exc:
            raise _Refused(f"cannot read {full}: {exc.strerror}")
        if stat.S_ISDIR(info.st_mode):
            return PurePosixPath(real.relative_to(self.root)), "dir"
        if stat.S_ISREG(info.st_mode):
            return PurePosixPath(real.relative_to(self.root)), "file"
        raise _Refused(f"{full} is not a regular file")

    def read(self, path: PurePosixPath, max_bytes: int) -> bytes:
        full = self.root / path
        try:
            # O_NOFOLLOW: the path was resolved already; a symlink swapped in since is refused.
            descriptor = os.open(full, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
        except FileNotFoundError:
            raise _Missing(f"{full} does not exist")
        except OSError as exc:
            raise _Refused(f"cannot read {full}: {exc.strerror}")
        with os.fdopen(descriptor, "rb") as handle:
            info = os.fstat(handle.fileno())
            if not stat.S_ISREG(info.st_mode):
                raise _Refused(f"{full} is not a regular file")
            if info.st_size > max_bytes:
                raise _Refused(f"{full} is {info.st_size} bytes, over the limit of {max_bytes} bytes")
            data = handle.read(max_bytes + 1)
        if len(data) > max_bytes:
            raise _Refused(f"{full} is over the limit of {max_bytes} bytes")
        return data

    def scan(self, path: PurePosixPath) -> tuple[list[PurePosixPath], list[tuple[str, str]]]:
        found: dict[PurePosixPath, None] = {}
        problems: list[tuple[str, str]] = []
        seen_entries = 0
        for directory, dirnames, filenames in os.walk(self.root / path, followlinks=False):
            seen_entries += len(dirnames) + len(filenames)
            if seen_entries > _MAX_SCAN_ENTRIES:
                problems.append(
                    (self.location(path), f"directory has more than {_MAX_SCAN_ENTRIES} entries; scan stopped")
                )
                break
            dirnames.sort()
            for name in list(dirnames):
                child = Path(directory, name)
                if _skipped_directory(name):
                    dirnames.remove(name)
                elif child.is_symlink():
                    # Not followed: inside the root its target is scanned in its own place.
                    dirnames.remove(name)
                    if not self._inside(Path(os.path.realpath(child))):
                        message = f"{child} is a symlink that resolves outside the location root {self.root}"
                        problems.append((f"file:{child}", message))
            for name in sorted(filenames):
                if name not in CATALOG_FILE_NAMES:
                    continue
                relative = PurePosixPath(Path(directory, name).relative_to(self.root))
                try:
                    resolved, kind = self.resolve(relative)
                except (_Missing, _Refused) as exc:
                    problems.append((self.location(relative), str(exc)))
                    continue
                if kind == "file":
                    found.setdefault(resolved)
        return list(found), problems


@dataclass(frozen=True)
class _GitEntry:
    mode: str
    kind: str
    sha: str
    size: int | None


class _GitTree:
    """A commit's tree, read from the object store of a (bare) cache repository."""

    def __init__(self, repository: Path, commit: str, url: str, ref: str, timeout: float) -> None:
        self.repository = repository
        self.commit = commit
        self.url = url
        self.ref = ref
        self.timeout = timeout
        self.entries: dict[str, _GitEntry] = {}
        self.directories: set[str] = {"."}
        self._prefetched: dict[str, bytes] = {}
        listing = _run_git(["ls-tree", "-r", "-l", "-z", "--full-tree", commit], cwd=repository, timeout=timeout)
        for record in listing.split(b"\0"):
            if not record:
                continue
            meta, _, raw_path = record.partition(b"\t")
            mode, kind, sha, size = meta.decode().split()
            path = raw_path.decode("utf-8", "surrogateescape")
            self.entries[path] = _GitEntry(mode, kind, sha, int(size) if size.isdigit() else None)
            for parent in PurePosixPath(path).parents:
                self.directories.add(str(parent))

    def location(self, path: PurePosixPath) -> str:
        return f"git:{_redact(self.url)}#{self.ref}:{path}"

    def _blob(self, entry: _GitEntry) -> bytes:
        cached = self._prefetched.pop(entry.sha, None)
        if cached is not None:
            return cached
        return _run_git(["cat-file", "blob", entry.sha], cwd=self.repository, timeout=self.timeout)

    def prefetch(self, paths: Iterable[PurePosixPath], max_bytes: int) -> None:
        """Read many blobs with one `git cat-file --batch` instead of one process per file."""
        wanted = []
        for path in paths:
            entry = self.entries.get(str(path))
            if entry and entry.kind == "blob" and entry.mode != "120000" and (entry.size or 0) <= max_bytes:
                wanted.append(entry.sha)
        if len(wanted) < 2:
            return
        try:
            output = _run_git(["cat-file", "--batch"], cwd=self.repository, timeout=self.timeout,
                              input="".join(f"{sha}\n" for sha in dict.fromkeys(wanted)).encode())
        except _GitError:
            return  # each blob is then read on its own, with its own error
        position = 0
        while position < len(output):
            end = output.index(b"\n", position)
            header = output[position:end].split()
            position = end + 1
            if len(header) != 3:
                continue  # "<sha> missing"
            size = int(header[2])
            self._prefetched[header[0].decode()] = output[position:position + size]
            position += size + 1

    def resolve(self, path: PurePosixPath) -> tuple[PurePosixPath, str]:
        pending = list(path.parts)
        current = PurePosixPath()
        hops = 0
        while pending:
            part = pending.pop(0)
            candidate = current / part
            entry = self.entries.get(str(candidate))
            if entry is not None and entry.mode == "120000":
                hops += 1
                if hops > _MAX_SYMLINK_HOPS:
                    raise _Refused(f"too many levels of symlinks at {candidate}")
                link = self._blob(entry).decode("utf-8", "surrogateescape")
                if link.startswith("/"):
                    raise _Refused(f"{candidate} is a symlink to {link}, which is outside the repository")
                joined = posixpath.normpath(posixpath.join(str(current), link))
                if joined == ".." or joined.startswith("../"):
                    raise _Refused(f"{candidate} is a symlink to {link}, which resolves outside the repository")
                pending = list(PurePosixPath(joined).parts) + pending
                current = PurePosixPath()
                continue
            if entry is None and str(candidate) not in self.directories:
                raise _Missing(f"{candidate} does not exist in {_redact(self.url)} at {self.ref}")
            if entry is not None and pending:
                raise _Missing(f"{candidate} is not a directory in {_redact(self.url)} at {self.ref}")
            current = candidate
        if str(current) in self.directories:
            return current, "dir"
        entry = self.entries[str(current)]
        if entry.kind != "blob":
            raise _Refused(f"{current} is a git submodule, which is not read")
        return current, "file"

    def read(self, path: PurePosixPath, max_bytes: int) -> bytes:
        entry = self.entries.get(str(path))
        if entry is None:
            raise _Missing(f"{path} does not exist in {_redact(self.url)} at {self.ref}")
        if entry.size is not None and entry.size > max_bytes:
            raise _Refused(f"{path} is {entry.size} bytes, over the limit of {max_bytes} bytes")
        return self._blob(entry)

    def scan(self, path: PurePosixPath) -> tuple[list[PurePosixPath], list[tuple[str, str]]]:
        found: dict[PurePosixPath, None] = {}
        problems: list[tuple[str, str]] = []
        for raw in sorted(self.entries):
            candidate = PurePosixPath(raw)
            if candidate.name not in CATALOG_FILE_NAMES:
                continue
            if str(path) != ".":
                if path not in candidate.parents:
                    continue
                inner = candidate.relative_to(path)
            else:
                inner = candidate
            if any(_skipped_directory(part) for part in inner.parts[:-1]):
                continue
            try:
                resolved, kind = self.resolve(candidate)
            except (_Missing, _Refused) as exc:
                problems.append((self.location(candidate), str(exc)))
                continue
            if kind == "file":
                found.setdefault(resolved)
        return list(found), problems


# --------------------------------------------------------------------------- git


class _GitError(Exception):
    pass


def _git_environment() -> dict[str, str]:
    environment = dict(os.environ)
    environment.update(
        {
            "GIT_TERMINAL_PROMPT": "0",  # never wait for a password on a terminal
            "GIT_ALLOW_PROTOCOL": "file:git:http:https:ssh",  # no ext:: or fd:: transports
            "LC_ALL": "C",
        }
    )
    environment.setdefault("GIT_SSH_COMMAND", "ssh -o BatchMode=yes")
    return environment


def _run_git(args: list[str], *, cwd: Path | None, timeout: float, input: bytes | None = None) -> bytes:
    try:
        # A session of its own, so a timeout kills git and the helpers it started.
        process = subprocess.Popen(
            ["git", *args],
            cwd=cwd,
            stdin=subprocess.DEVNULL if input is None else subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=_git_environment(),
            start_new_session=True,
        )
    except FileNotFoundError:
        raise _GitError("the git command is not installed")
    try:
        output, errors = process.communicate(input=input, timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.communicate()
        raise _GitError(f"git {args[0]} took longer than {timeout:g} seconds")
    if process.returncode != 0:
        lines = [line for line in errors.decode("utf-8", "replace").splitlines() if line.strip()]
        raise _GitError(_redact_text("; ".join(lines[-2:]) or f"git {args[0]} failed"))
    return output


def _redact_text(text: str) -> str:
    return re.sub(r"(://)[^/@\s]+@", r"\1", text)


def _git_remote(target: str, allow_hosts: tuple[str, ...]) -> str:
    """Validate a git target and return the URL or path to hand to git."""
    remote = target.strip()
    if remote.startswith("git+"):
        remote = remote[4:]
    if not remote or remote.startswith("-"):
        raise LocationReadError(f"{target!r} is not a git repository URL or path")
    if remote.startswith("/"):
        return remote
    if remote.lower().startswith("file://"):
        return remote
    scp = _SCP_LIKE_GIT.match(remote)
    if scp:
        host_check_url = f"ssh://{scp.group('host')}"
    elif _URL_SCHEME.match(remote):
        scheme = remote.split("://", 1)[0].lower()
        if scheme not in ("https", "http", "ssh", "git"):
            raise LocationReadError(
                f"git URL scheme {scheme!r} is not supported (use https, http, ssh, git, file or a path)"
            )
        host_check_url = remote
    else:
        raise LocationReadError(f"{target!r} is not a git repository URL or an absolute path to a repository")
    if not host_is_allowed(host_check_url, allow_hosts):
        raise LocationReadError(
            f"git host {_host_label(host_check_url)!r} is not allowed for reading {_redact(remote)}; "
            f"add it to the {ALLOW_SETTING} setting to allow it"
        )
    return remote


@contextmanager
def _locked(path: Path) -> Iterator[None]:
    # Two workers fetching into the same cache repository would race on FETCH_HEAD.
    with open(path, "a") as lock:
        fcntl.flock(lock.fileno(), fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock.fileno(), fcntl.LOCK_UN)


def _fetch_commit(remote: str, ref: str, cache_dir: Path, timeout: float) -> tuple[Path, str]:
    """Fetch ``ref`` of ``remote`` into a cache repository; return it and the commit sha."""
    if not _SAFE_GIT_REF.match(ref):
        raise LocationReadError(f"{ref!r} is not a valid git branch, tag or commit")
    cache_dir.mkdir(parents=True, exist_ok=True)
    repository = cache_dir / (hashlib.sha256(remote.encode()).hexdigest()[:32] + ".git")
    shown = _redact(remote)
    with _locked(cache_dir / (repository.name + ".lock")):
        try:
            if not (repository / "HEAD").exists():
                _run_git(["init", "--quiet", "--bare", str(repository)], cwd=None, timeout=timeout)
            try:
                _run_git(
                    ["fetch", "--quiet", "--no-tags", "--depth", "1", "--", remote, ref],
                    cwd=repository,
                    timeout=timeout,
                )
                revision = "FETCH_HEAD"
            except _GitError:
                if not _HEX_SHA.match(ref):
                    raise
                # An abbreviated sha cannot be asked for by name: fetch the history and look it up.
                unshallow = ["--unshallow"] if (repository / "shallow").exists() else []
                _run_git(
                    [
                        "fetch",
                        "--quiet",
                        *unshallow,
                        "--",
                        remote,
                        "+refs/heads/*:refs/cached/heads/*",
                        "+refs/tags/*:refs/cached/tags/*",
                    ],
                    cwd=repository,
                    timeout=timeout,
                )
                revision = ref
            commit = _run_git(
                ["rev-parse", "--verify", "--quiet", f"{revision}^{{commit}}"],
                cwd=repository,
                timeout=timeout,
            )
        except _GitError as exc:
            raise LocationReadError(f"cannot read {ref} of git repository {shown}: {exc}")
    return repository, commit.decode().strip()


# --------------------------------------------------------------------------- the reader


@dataclass(frozen=True)
class _Item:
    """One place to read: a path inside a tree, or a URL."""

    tree: _Tree | None
    path: PurePosixPath | None
    url: str | None
    chain: tuple[str, ...]
    optional: bool = False

    def location(self) -> str:
        if self.url is not None:
            return f"url:{_redact(self.url)}"
        assert self.tree is not None and self.path is not None
        return self.tree.location(self.path)


@dataclass
class _Reader:
    options: ReadOptions
    documents: list[SourceDocument] = field(default_factory=list)
    errors: list[ReadError] = field(default_factory=list)
    visited: set[str] = field(default_factory=set)
    files_read: int = 0
    bytes_read: int = 0
    hasher: Any = field(default_factory=hashlib.sha256)

    @property
    def fetcher(self) -> UrlFetcher:
        return self.options.url_fetcher or UrllibFetcher()

    def _record(self, location: str, data: bytes) -> None:
        # Each file is bounded by max_bytes; this bounds a location's files and placeholders together.
        self.bytes_read += len(data)
        if self.bytes_read > self.options.max_total_bytes:
            raise _Refused(
                f"this location has read more than {self.options.max_total_bytes} bytes in total; {location} not read"
            )
        self.hasher.update(b"read\0%s\0%d\0" % (location.encode(), len(data)))
        self.hasher.update(data)

    def error(self, target: str, message: str, line: int | None = None) -> None:
        self.errors.append(ReadError(target=target, message=message, line=line))

    def fetch_url(self, url: str) -> bytes:
        def check(candidate: str) -> None:
            _check_http_url(candidate, self.options.allow_hosts)

        check(url)
        data = self.fetcher.fetch(url, max_bytes=self.options.max_bytes, timeout=self.options.timeout, check_url=check)
        if len(data) > self.options.max_bytes:
            raise UrlFetchError(f"{_redact(url)} is over the limit of {self.options.max_bytes} bytes")
        return data

    # -- traversal

    def run(self, first: list[_Item]) -> None:
        stack = list(reversed(first))
        while stack:
            item = stack.pop()
            children = self.visit(item)
            prefetch = getattr(item.tree, "prefetch", None)
            if prefetch is not None and len(children) > 1:
                prefetch([child.path for child in children if child.tree is item.tree and child.path is not None],
                         self.options.max_bytes)
            stack.extend(reversed(children))

    def visit(self, item: _Item) -> list[_Item]:
        """Read one item; return the items its Location documents point at."""
        if item.url is not None:
            key = item.location()
        else:
            assert item.tree is not None and item.path is not None
            try:
                resolved, kind = item.tree.resolve(item.path)
            except _Missing as exc:
                if not item.optional:
                    self.error(item.location(), f"location target not found: {exc}")
                return []
            except _Refused as exc:
                self.error(item.location(), str(exc))
                return []
            if kind == "dir":
                files, problems = item.tree.scan(resolved)
                for target, message in problems:
                    self.error(target, message)
                if not files and not problems:
                    self.error(item.location(), f"no {' or '.join(CATALOG_FILE_NAMES)} found in this directory")
                return [_Item(item.tree, path, None, item.chain) for path in files]
            item = _Item(item.tree, resolved, None, item.chain, item.optional)
            key = item.location()

        if key in item.chain:
            cycle = " -> ".join([*item.chain[item.chain.index(key) :], key])
            self.error(key, f"location cycle, not followed again: {cycle}")
            return []
        if key in self.visited:
            self.error(key, "already read through another Location; not read again")
            return []
        self.visited.add(key)
        self.files_read += 1
        if self.files_read > self.options.max_files:
            self.error(key, f"more than {self.options.max_files} files in one location; not read")
            return []

        try:
            data = self.read_item(item)
        except (_Missing, UrlNotFoundError) as exc:
            if not item.optional:
                self.error(key, f"location target not found: {exc}")
            return []
        except (_Refused, UrlFetchError, _GitError) as exc:
            self.error(key, str(exc))
            return []
        return self.parse(item, key, data)

    def read_item(self, item: _Item) -> bytes:
        if item.url is not None:
            data = self.fetch_url(item.url)
        else:
            assert item.tree is not None and item.path is not None
            data = item.tree.read(item.path, self.options.max_bytes)
        self._record(item.location(), data)
        return data

    def parse(self, item: _Item, key: str, data: bytes) -> list[_Item]:
        try:
            loaded = load_documents(data, max_bytes=self.options.max_bytes)
        except YamlError as exc:
            self.error(key, str(exc), exc.line)
            return []
        for problem in loaded.problems:
            self.error(key, problem.message, problem.line)
        children: list[_Item] = []
        for document in loaded.documents:
            try:
                data_out = substitute_placeholders(
                    document.data, self.placeholder_fetch(item), max_bytes=self.options.max_bytes
                )
            except PlaceholderError as exc:
                self.error(key, f"document {document.index + 1}: {exc}", document.line)
                continue
            self.documents.append(SourceDocument(data=data_out, location=key, index=document.index, line=document.line))
            kind = data_out.get("kind")
            if isinstance(kind, str) and kind.lower() == "location":
                children.extend(self.location_targets(item, key, document.index, document.line, data_out))
        return children

    # -- references from a file: Location targets and placeholders

    def reference(self, item: _Item, reference: str) -> _Item:
        """The item a reference written in ``item`` points at (raises _Refused)."""
        chain = (*item.chain, item.location())
        if _URL_SCHEME.match(reference):
            scheme = reference.split("://", 1)[0].lower()
            if scheme not in ("http", "https"):
                raise _Refused(f"{reference!r}: only http and https URLs can be read")
            return _Item(None, None, reference, chain)
        if item.url is not None:
            return _Item(None, None, urllib.parse.urljoin(item.url, reference), chain)
        assert item.path is not None
        return _Item(item.tree, _resolve_reference(item.path, reference), None, chain)

    def location_targets(
        self, item: _Item, key: str, index: int, line: int | None, document: dict[str, Any]
    ) -> list[_Item]:
        where = f"document {index + 1} (Location)"
        spec = document.get("spec")
        if not isinstance(spec, dict):
            self.error(key, f"{where}: spec must be a mapping with target or targets", line)
            return []
        location_type = spec.get("type")
        if location_type is not None and location_type not in ("file", "url"):
            self.error(key, f"{where}: location type {location_type!r} is not supported (use file or url)", line)
            return []
        targets: list[Any] = []
        if "target" in spec:
            targets.append(spec["target"])
        raw_targets = spec.get("targets", [])
        if not isinstance(raw_targets, list):
            self.error(key, f"{where}: spec.targets must be a list of strings", line)
            raw_targets = []
        targets.extend(raw_targets)
        if not targets:
            self.error(key, f"{where}: spec has no target or targets", line)
        optional = spec.get("presence") == "optional"
        children = []
        for target in targets:
            if not isinstance(target, str) or not target.strip():
                self.error(key, f"{where}: target {target!r} is not a non-empty string", line)
                continue
            try:
                child = self.reference(item, target.strip())
            except _Refused as exc:
                self.error(key, f"{where}: target refused: {exc}", line)
                continue
            children.append(_Item(child.tree, child.path, child.url, child.chain, optional))
        return children

    def placeholder_fetch(self, item: _Item) -> Callable[[str], bytes]:
        def fetch(reference: str) -> bytes:
            try:
                target = self.reference(item, reference)
                if target.url is None:
                    assert target.tree is not None and target.path is not None
                    resolved, kind = target.tree.resolve(target.path)
                    if kind != "file":
                        raise _Refused(f"{target.location()} is a directory, not a file")
                    target = _Item(target.tree, resolved, None, target.chain)
                return self.read_item(target)
            except (_Missing, UrlNotFoundError) as exc:
                raise PlaceholderError(f"not found: {exc}")
            except (_Refused, UrlFetchError, _GitError) as exc:
                raise PlaceholderError(str(exc))

        return fetch

    def result(self, revision: str | None) -> ReadResult:
        for error in self.errors:
            self.hasher.update(b"error\0%s\0%s\0" % (error.target.encode(), error.message.encode()))
        return ReadResult(
            documents=self.documents,
            errors=self.errors,
            revision=revision,
            content_hash=self.hasher.hexdigest(),
        )


# --------------------------------------------------------------------------- entry point


def _local_root(target: str, options: ReadOptions) -> tuple[_LocalTree, PurePosixPath]:
    raw = target[len("file:") :] if target.startswith("file:") else target
    if not raw or not os.path.isabs(raw):
        raise LocationReadError(f"file location {target!r} must be an absolute path")
    path = Path(os.path.normpath(raw))
    if not path.exists():
        raise LocationReadError(f"path not found: {path}")
    real = path.resolve()
    if options.root is not None:
        root = Path(options.root).resolve()
        if real != root and root not in real.parents:
            raise LocationReadError(f"{path} resolves outside the allowed root {root}")
    else:
        root = real if real.is_dir() else real.parent
    tree = _LocalTree(root)
    return tree, PurePosixPath(real.relative_to(root))


def _read_root(reader: _Reader, item: _Item) -> None:
    """Read the location's own target strictly, then everything it leads to."""
    if item.url is None:
        assert item.tree is not None and item.path is not None
        try:
            resolved, kind = item.tree.resolve(item.path)
        except _Missing as exc:
            raise LocationReadError(f"location target not found: {exc}")
        except _Refused as exc:
            raise LocationReadError(str(exc))
        if kind == "file":
            try:
                item.tree.read(resolved, reader.options.max_bytes)
            except (_Missing, _Refused, _GitError) as exc:
                raise LocationReadError(str(exc))
        reader.run([_Item(item.tree, resolved, None, ())])
        return
    key = item.location()
    try:
        data = reader.fetch_url(item.url)
        reader._record(key, data)
    except UrlNotFoundError as exc:
        raise LocationReadError(f"location target not found: {exc}")
    except (UrlFetchError, _Refused) as exc:
        raise LocationReadError(str(exc))
    # The bytes are in hand: parse them, then follow what they point at.
    reader.visited.add(key)
    reader.files_read += 1
    reader.run(reader.parse(item, key, data))


def read_location(target: str, *, type: str, options: ReadOptions | None = None) -> ReadResult:
    """Read every catalog document reachable from a location (see the module docstring)."""
    options = options or ReadOptions()
    if type not in LOCATION_TYPES:
        raise LocationReadError(f"location type {type!r} is not supported (use one of {', '.join(LOCATION_TYPES)})")
    if not isinstance(target, str) or not target.strip():
        raise LocationReadError("location target is empty")
    target = target.strip()
    reader = _Reader(options)

    if type == "file":
        tree, path = _local_root(target, options)
        _read_root(reader, _Item(tree, path, None, ()))
        return reader.result(None)

    if type == "url":
        _read_root(reader, _Item(None, None, target, ()))
        return reader.result(None)

    remote = _git_remote(target, options.allow_hosts)
    ref = options.git_ref or "HEAD"
    with _cache_directory(options.git_cache_dir) as cache_dir:
        repository, commit = _fetch_commit(remote, ref, cache_dir, options.timeout)
        if options.known_revision and commit == options.known_revision:
            return ReadResult(documents=[], errors=[], revision=commit, content_hash="", unchanged=True)
        try:
            tree = _GitTree(repository, commit, remote, ref, options.timeout)
        except _GitError as exc:
            raise LocationReadError(f"cannot list {ref} of git repository {_redact(remote)}: {exc}")
        inner = posixpath.normpath(options.git_path.strip().strip("/") or ".")
        if inner == ".." or inner.startswith("../"):
            raise LocationReadError(f"git path {options.git_path!r} is outside the repository")
        _read_root(reader, _Item(tree, PurePosixPath(inner), None, ()))
    return reader.result(commit)


@contextmanager
def _cache_directory(configured: str | Path | None) -> Iterator[Path]:
    if configured is not None:
        yield Path(configured)
        return
    with tempfile.TemporaryDirectory(prefix="causeway-git-") as temporary:
        yield Path(temporary)
