"""Task workspaces: a temporary folder no path may escape, with size accounting.

Public API::

    limits = WorkspaceLimits(max_bytes=50_000_000, max_files=5_000, max_file_bytes=10_000_000)
    ws = Workspace.create(limits=limits)          # a fresh temporary folder
    path = ws.resolve("src/app.py")               # WorkspacePathError if it escapes the root
    ws.write_bytes("src/app.py", b"...")          # WorkspaceLimitError when over a limit
    ws.usage()                                    # WorkspaceUsage(bytes=..., files=...), walks the tree
    ws.ensure_within_limits()                     # re-counts and raises when over a limit
    ws.snapshot()                                 # list[WorkspaceFile] with contents (dry runs)
    ws.remove()

No Django here: the task runner (``scaffolder.runner``) owns one workspace per run.
"""

from __future__ import annotations

import base64
import os
import shutil
import stat
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path, PurePosixPath


class WorkspaceError(Exception):
    """Base class for workspace problems; the message is meant for the task log."""


class WorkspacePathError(WorkspaceError):
    """A path would leave the workspace (``..``, absolute path, symbolic link out)."""


class WorkspaceLimitError(WorkspaceError):
    """The workspace grew past one of its limits."""


@dataclass(frozen=True)
class WorkspaceLimits:
    max_bytes: int = 200 * 1024 * 1024
    max_files: int = 20_000
    max_file_bytes: int = 50 * 1024 * 1024


@dataclass(frozen=True)
class WorkspaceUsage:
    bytes: int
    files: int


@dataclass(frozen=True)
class WorkspaceFile:
    """One regular file of the workspace, as returned to a dry run."""

    path: str
    size: int
    executable: bool
    base64_content: str
    text: str | None  # the content when it is UTF-8 text, else None

    def as_dict(self) -> dict:
        return {
            "path": self.path,
            "size": self.size,
            "executable": self.executable,
            "base64Content": self.base64_content,
            "text": self.text,
        }


# Version-control metadata is bookkeeping, not produced content.
_SNAPSHOT_SKIPPED_DIRS = frozenset({".git"})


class Workspace:
    """A folder that actions may write into, and nowhere else."""

    def __init__(self, root: Path, limits: WorkspaceLimits | None = None) -> None:
        self.root = Path(os.path.realpath(root))
        self.limits = limits or WorkspaceLimits()
        if not self.root.is_dir():
            raise WorkspaceError(f"workspace folder {self.root} does not exist")
        # Running totals so that writing many files does not walk the tree each time;
        # None means "count again" (after changes made outside write_bytes).
        self._counted: WorkspaceUsage | None = None

    @classmethod
    def create(cls, limits: WorkspaceLimits | None = None, parent: Path | None = None) -> Workspace:
        root = tempfile.mkdtemp(prefix="causeway-task-", dir=str(parent) if parent else None)
        return cls(Path(root), limits)

    # paths ---------------------------------------------------------------------------------------
    def resolve(self, relative: str | os.PathLike[str]) -> Path:
        """The absolute path of ``relative`` inside the workspace, or WorkspacePathError.

        Refuses absolute paths, ``..`` that climbs out, NUL bytes, and paths whose existing
        parts are symbolic links leading outside the root.
        """
        text = os.fspath(relative)
        if not isinstance(text, str):
            raise WorkspacePathError("workspace paths must be text")
        if "\x00" in text:
            raise WorkspacePathError(f"path {text!r} contains a NUL byte")
        if text.startswith(("/", "\\")) or (len(text) > 1 and text[1] == ":"):
            raise WorkspacePathError(f"path {text!r} is absolute; only paths inside the workspace are allowed")
        candidate = os.path.normpath(os.path.join(self.root, text))
        if not _is_within(candidate, self.root):
            raise WorkspacePathError(f"path {text!r} leaves the workspace")
        # Follow symbolic links that already exist along the way.
        real = os.path.realpath(candidate)
        if not _is_within(real, self.root):
            raise WorkspacePathError(f"path {text!r} leads outside the workspace through a symbolic link")
        return Path(candidate)

    def resolve_entry(self, relative: str | os.PathLike[str]) -> Path:
        """Like resolve(), but the last part itself may be a symbolic link (to delete or move it)."""
        candidate = Path(os.path.normpath(os.path.join(self.root, os.fspath(relative))))
        if candidate == self.root:
            return self.resolve(relative)
        parent = self.resolve(os.path.relpath(candidate.parent, self.root))
        return parent / candidate.name if os.path.islink(candidate) else self.resolve(relative)

    def relative(self, path: Path) -> str:
        return PurePosixPath(Path(path).relative_to(self.root)).as_posix()

    # writing -------------------------------------------------------------------------------------
    def write_bytes(self, relative: str, data: bytes, mode: int | None = None) -> Path:
        """Write a file after checking the per-file, total size and file count limits."""
        target = self.resolve(relative)
        if len(data) > self.limits.max_file_bytes:
            raise WorkspaceLimitError(
                f"file {relative!r} is {len(data)} bytes, over the limit of {self.limits.max_file_bytes} bytes"
            )
        if target.is_symlink() or (target.exists() and not target.is_file()):
            raise WorkspacePathError(f"path {relative!r} exists and is not a regular file")
        previous = target.stat().st_size if target.exists() else None
        usage = self._counted or self.usage()
        new_bytes = usage.bytes + len(data) - (previous or 0)
        new_files = usage.files + (0 if previous is not None else 1)
        if new_bytes > self.limits.max_bytes:
            raise WorkspaceLimitError(
                f"writing {relative!r} would make the workspace {new_bytes} bytes, "
                f"over the limit of {self.limits.max_bytes} bytes"
            )
        if new_files > self.limits.max_files:
            raise WorkspaceLimitError(
                f"writing {relative!r} would make {new_files} files, over the limit of {self.limits.max_files}"
            )
        target.parent.mkdir(parents=True, exist_ok=True)
        # The parent might itself have been a link created after resolve(); check again.
        self.resolve(relative)
        target.write_bytes(data)
        self._counted = WorkspaceUsage(bytes=new_bytes, files=new_files)
        if mode is not None:
            os.chmod(target, stat.S_IMODE(mode) | stat.S_IRUSR | stat.S_IWUSR)
        return target

    def write_text(self, relative: str, text: str, mode: int | None = None) -> Path:
        return self.write_bytes(relative, text.encode("utf-8"), mode)

    def make_dirs(self, relative: str) -> Path:
        target = self.resolve(relative)
        target.mkdir(parents=True, exist_ok=True)
        self.resolve(relative)
        return target

    # accounting ----------------------------------------------------------------------------------
    def iter_files(self, skip_dirs: frozenset[str] = frozenset()) -> Iterator[Path]:
        for dirpath, dirnames, filenames in os.walk(self.root, followlinks=False):
            dirnames[:] = sorted(d for d in dirnames if d not in skip_dirs)
            for name in sorted(filenames):
                yield Path(dirpath) / name

    def usage(self) -> WorkspaceUsage:
        total = 0
        count = 0
        for path in self.iter_files():
            try:
                total += path.lstat().st_size
            except FileNotFoundError:
                continue
            count += 1
        self._counted = WorkspaceUsage(bytes=total, files=count)
        return self._counted

    def forget_counts(self) -> None:
        """Call after changing files without write_bytes (moves, deletes, git)."""
        self._counted = None

    def ensure_within_limits(self) -> WorkspaceUsage:
        usage = self.usage()
        if usage.bytes > self.limits.max_bytes:
            raise WorkspaceLimitError(
                f"the workspace holds {usage.bytes} bytes, over the limit of {self.limits.max_bytes} bytes"
            )
        if usage.files > self.limits.max_files:
            raise WorkspaceLimitError(
                f"the workspace holds {usage.files} files, over the limit of {self.limits.max_files}"
            )
        for path in self.iter_files():
            size = path.lstat().st_size
            if size > self.limits.max_file_bytes:
                raise WorkspaceLimitError(
                    f"file {self.relative(path)!r} is {size} bytes, "
                    f"over the limit of {self.limits.max_file_bytes} bytes"
                )
        return usage

    def snapshot(self) -> list[WorkspaceFile]:
        """Every regular file (outside ``.git``) with its content, sorted by path."""
        files: list[WorkspaceFile] = []
        for path in self.iter_files(skip_dirs=_SNAPSHOT_SKIPPED_DIRS):
            if path.is_symlink() or not path.is_file():
                continue
            data = path.read_bytes()
            try:
                text: str | None = data.decode("utf-8")
            except UnicodeDecodeError:
                text = None
            files.append(
                WorkspaceFile(
                    path=self.relative(path),
                    size=len(data),
                    executable=bool(path.stat().st_mode & stat.S_IXUSR),
                    base64_content=base64.b64encode(data).decode("ascii"),
                    text=text,
                )
            )
        return sorted(files, key=lambda f: f.path)

    def remove(self) -> None:
        shutil.rmtree(self.root, ignore_errors=True)


def _is_within(path: str | os.PathLike[str], root: str | os.PathLike[str]) -> bool:
    path_s = os.fspath(path)
    root_s = os.fspath(root)
    try:
        return os.path.commonpath([path_s, root_s]) == root_s
    except ValueError:
        return False


def is_within(path: str | os.PathLike[str], root: str | os.PathLike[str]) -> bool:
    """True when ``path`` (after resolving links) lies inside ``root`` (after resolving links)."""
    return _is_within(os.path.realpath(path), os.path.realpath(root))
