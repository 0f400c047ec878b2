"""``fs:delete`` and ``fs:rename``, confined to the workspace; plus the glob matcher they share.

Globs follow the usual shell/globby rules on ``/``-separated relative paths: ``*`` and ``?``
stay within one path segment, ``**`` crosses segments, ``{a,b}`` alternates, ``[...]``
is a character class; dot files match (Backstage globs with ``dot: true``).
"""

from __future__ import annotations

import os
import re
import shutil
from functools import lru_cache
from typing import Any

from scaffolder.actions.registry import Action, ActionContext, ActionError


@lru_cache(maxsize=256)
def _glob_regex(pattern: str) -> re.Pattern[str]:
    out: list[str] = []
    i = 0
    depth = 0
    while i < len(pattern):
        c = pattern[i]
        if c == "*":
            if pattern.startswith("**", i):
                i += 2
                if i < len(pattern) and pattern[i] == "/":
                    out.append("(?:.*/)?")
                    i += 1
                else:
                    out.append(".*")
                continue
            out.append("[^/]*")
        elif c == "?":
            out.append("[^/]")
        elif c == "[":
            end = pattern.find("]", i + 1)
            if end == -1:
                out.append(re.escape(c))
            else:
                body = pattern[i + 1 : end].replace("\\", "\\\\")
                if body.startswith("!"):
                    body = "^" + body[1:]
                out.append(f"[{body}]")
                i = end
        elif c == "{":
            depth += 1
            out.append("(?:")
        elif c == "}" and depth:
            depth -= 1
            out.append(")")
        elif c == "," and depth:
            out.append("|")
        else:
            out.append(re.escape(c))
        i += 1
    out.append(")" * depth)
    return re.compile("^" + "".join(out) + "$")


def match_glob(path: str, pattern: str) -> bool:
    """True when the relative posix ``path`` (directories may end with ``/``) matches."""
    pattern = pattern.strip()
    if pattern.startswith("./"):
        pattern = pattern[2:]
    regex = _glob_regex(pattern.rstrip("/") if not pattern.endswith("**/") else pattern)
    return bool(regex.match(path.rstrip("/")))


def _has_magic(pattern: str) -> bool:
    return any(ch in pattern for ch in "*?[{")


def _workspace_entries(ctx: ActionContext) -> list[str]:
    entries: list[str] = []
    root = ctx.workspace.root
    for dirpath, dirnames, filenames in os.walk(root, followlinks=False):
        rel_dir = os.path.relpath(dirpath, root)
        prefix = "" if rel_dir == "." else rel_dir.replace(os.sep, "/") + "/"
        dirnames.sort()
        entries.extend(prefix + d for d in dirnames)
        entries.extend(prefix + f for f in sorted(filenames))
    return entries


def _remove(path: str) -> None:
    if os.path.islink(path) or os.path.isfile(path):
        os.unlink(path)
    elif os.path.isdir(path):
        shutil.rmtree(path)


def _delete(ctx: ActionContext, data: dict[str, Any]) -> dict[str, Any]:
    deleted: list[str] = []
    for pattern in data["files"]:
        if _has_magic(pattern):
            # Check the literal part before the first wildcard cannot leave the workspace.
            ctx.workspace.resolve(pattern.split("*")[0].split("?")[0].split("{")[0].split("[")[0] or ".")
            matches = [e for e in _workspace_entries(ctx) if match_glob(e, pattern)]
        else:
            matches = [pattern]
        for relative in matches:
            target = ctx.workspace.resolve_entry(relative)
            if target == ctx.workspace.root:
                raise ActionError("fs:delete cannot delete the whole workspace")
            if os.path.lexists(target):
                _remove(str(target))
                deleted.append(ctx.workspace.relative(target))
                ctx.log(f"Deleted {ctx.workspace.relative(target)}")
    ctx.workspace.forget_counts()
    return {"deleted": deleted}


def _rename(ctx: ActionContext, data: dict[str, Any]) -> dict[str, Any]:
    for item in data["files"]:
        source = ctx.workspace.resolve_entry(item["from"])
        target = ctx.workspace.resolve_entry(item["to"])
        if source == ctx.workspace.root or target == ctx.workspace.root:
            raise ActionError("fs:rename cannot move the workspace itself")
        if not os.path.lexists(source):
            raise ActionError(f"fs:rename: {item['from']!r} does not exist")
        if os.path.lexists(target):
            if not item.get("overwrite", False):
                raise ActionError(f"fs:rename: {item['to']!r} already exists (set overwrite: true to replace it)")
            _remove(str(target))
        target.parent.mkdir(parents=True, exist_ok=True)
        ctx.workspace.resolve_entry(item["to"])
        os.replace(source, target)
        ctx.log(f"Renamed {item['from']} to {item['to']}")
    ctx.workspace.forget_counts()
    return {}


_PATH = {"type": "string", "minLength": 1}

DELETE = Action(
    id="fs:delete",
    description="Deletes files and folders (glob patterns allowed) from the workspace.",
    input_schema={
        "type": "object",
        "required": ["files"],
        "properties": {"files": {"type": "array", "items": _PATH, "description": "Paths or globs to delete"}},
    },
    output_schema={"type": "object", "properties": {"deleted": {"type": "array", "items": {"type": "string"}}}},
    handler=_delete,
    supports_dry_run=True,
)

RENAME = Action(
    id="fs:rename",
    description="Renames or moves files and folders inside the workspace.",
    input_schema={
        "type": "object",
        "required": ["files"],
        "properties": {
            "files": {
                "type": "array",
                "items": {
                    "type": "object",
                    "required": ["from", "to"],
                    "properties": {"from": _PATH, "to": _PATH, "overwrite": {"type": "boolean"}},
                },
            }
        },
    },
    handler=_rename,
    supports_dry_run=True,
)

ACTIONS = [DELETE, RENAME]
