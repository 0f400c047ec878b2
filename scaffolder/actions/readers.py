"""Template readers: where ``fetch:*`` actions find ``./skeleton`` and friends.

Public API::

    LocalDirectoryReader(base_dir, remote_trees=None)   # template on disk
    GitCheckoutReader(repo_url, ref=None, subpath="")   # template in a git repository; close() when done

Relative URLs (``./skeleton``, ``skeleton/file.txt``) resolve against the template's folder
and may not climb out of it. Absolute URLs (``https://...``) are refused unless a prefix is
listed in ``remote_trees`` (prefix -> local folder), which lets an operator mirror a few
remote skeletons and lets tests stand in for the network.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from collections.abc import Mapping
from pathlib import Path
from urllib.parse import urlsplit

from scaffolder.actions.registry import ReaderError
from scaffolder.workspace import is_within


class LocalDirectoryReader:
    def __init__(
        self,
        base_dir: Path | str,
        remote_trees: Mapping[str, Path | str] | None = None,
        root: Path | str | None = None,
    ) -> None:
        self.base_dir = Path(os.path.realpath(base_dir))
        # Relative URLs may climb from base_dir up to root (e.g. the repository root), no further.
        self.root = Path(os.path.realpath(root)) if root is not None else self.base_dir
        if not is_within(self.base_dir, self.root):
            raise ReaderError("the template folder must lie inside its root folder")
        self.remote_trees = {k: Path(v) for k, v in (remote_trees or {}).items()}

    def _locate(self, url: str) -> Path:
        if not isinstance(url, str) or not url.strip():
            raise ReaderError("a URL or relative path is required")
        url = url.strip()
        parts = urlsplit(url)
        if parts.scheme:
            for prefix, folder in sorted(self.remote_trees.items(), key=lambda kv: -len(kv[0])):
                if url == prefix or url.startswith(prefix.rstrip("/") + "/"):
                    rest = url[len(prefix) :].strip("/")
                    return self._inside(Path(os.path.realpath(folder)), rest, url)
            raise ReaderError(
                f"cannot read {url!r}: only paths relative to the template are allowed "
                "(remote URLs must be configured by an administrator)"
            )
        if url.startswith(("/", "\\")):
            raise ReaderError(
                f"cannot read {url!r}: absolute paths are not allowed, use a path relative to the template"
            )
        return self._inside(self.base_dir, url, url, self.root)

    @staticmethod
    def _inside(base: Path, relative: str, url: str, root: Path | None = None) -> Path:
        root = root or base
        target = Path(os.path.normpath(base / relative)) if relative else base
        if not is_within(target, root):
            raise ReaderError(f"cannot read {url!r}: it points outside the template's folder")
        return target

    def directory(self, url: str) -> Path:
        target = self._locate(url)
        if not target.is_dir():
            raise ReaderError(f"{url!r} is not a folder of the template")
        return target

    def read_file(self, url: str) -> bytes:
        target = self._locate(url)
        if not target.is_file():
            raise ReaderError(f"{url!r} is not a file of the template")
        return target.read_bytes()


class GitCheckoutReader:
    """Clones ``repo_url`` (at ``ref``) once, on first use, and reads from ``subpath`` in it.

    Relative URLs may use ``..`` to reach other folders of the same repository.
    """

    def __init__(
        self,
        repo_url: str,
        ref: str | None = None,
        subpath: str = "",
        remote_trees: Mapping[str, Path | str] | None = None,
        timeout: float = 120.0,
    ) -> None:
        if urlsplit(repo_url).scheme not in ("https", "http", "file", "ssh", "") or repo_url.startswith("-"):
            raise ReaderError(f"unsupported git URL {repo_url!r}")
        if ref is not None and (ref.startswith("-") or not ref.strip()):
            raise ReaderError(f"invalid git ref {ref!r}")
        self.repo_url = repo_url
        self.ref = ref
        self.subpath = subpath.strip("/")
        self.remote_trees = remote_trees
        self.timeout = timeout
        self._checkout: Path | None = None
        self._local: LocalDirectoryReader | None = None

    def _reader(self) -> LocalDirectoryReader:
        if self._local is None:
            checkout = Path(tempfile.mkdtemp(prefix="causeway-template-"))
            args = ["git", "-c", "core.hooksPath=/dev/null", "clone", "--quiet", "--depth", "1"]
            if self.ref:
                args += ["--branch", self.ref]
            args += ["--", self.repo_url, str(checkout / "repo")]
            env = {
                "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
                "GIT_TERMINAL_PROMPT": "0",
                "GIT_CONFIG_NOSYSTEM": "1",
                "GIT_CONFIG_GLOBAL": os.devnull,
                "HOME": str(checkout),
            }
            try:
                result = subprocess.run(args, env=env, capture_output=True, text=True, timeout=self.timeout)
            except subprocess.TimeoutExpired:
                shutil.rmtree(checkout, ignore_errors=True)
                raise ReaderError(f"cloning {self.repo_url!r} took longer than {self.timeout:.0f} s") from None
            if result.returncode != 0:
                shutil.rmtree(checkout, ignore_errors=True)
                raise ReaderError(f"could not clone {self.repo_url!r}: {result.stderr.strip()[-500:]}")
            self._checkout = checkout
            base = checkout / "repo" / self.subpath if self.subpath else checkout / "repo"
            if not is_within(base, checkout / "repo") or not base.is_dir():
                raise ReaderError(f"{self.subpath!r} is not a folder of {self.repo_url!r}")
            self._local = LocalDirectoryReader(base, self.remote_trees, root=checkout / "repo")
        return self._local

    def directory(self, url: str) -> Path:
        return self._reader().directory(url)

    def read_file(self, url: str) -> bytes:
        return self._reader().read_file(url)

    def close(self) -> None:
        if self._checkout is not None:
            shutil.rmtree(self._checkout, ignore_errors=True)
        self._checkout = None
        self._local = None

    def __enter__(self) -> GitCheckoutReader:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
