"""``fetch:plain``, ``fetch:plain:file`` and ``fetch:template``.

``fetch:template`` follows Backstage's skeleton rules:
- file and folder names, and text file contents, are rendered with ``values`` in scope
  (``${{ values.x }}``, ``{% if %}`` blocks); with ``cookiecutterCompat`` the syntax is
  ``{{ cookiecutter.x }}`` and ``jsonify`` is available;
- ``copyWithoutTemplating`` globs: contents copied as they are, names still rendered;
  ``copyWithoutRender`` (deprecated in Backstage): neither names nor contents rendered;
- ``templateFileExtension`` (``true`` means ``.njk``): only files with that extension are
  rendered and lose it; other files are copied; names are always rendered;
- a name that renders empty (or to an empty folder part) is skipped, as Backstage does;
- binary files are copied untouched, file modes are kept; existing files are kept unless
  ``replace: true``;
- every output path must stay inside the workspace, whatever the values say; symbolic
  links may only point inside the skeleton.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path, PurePosixPath
from typing import Any

from scaffolder.actions.fs import match_glob
from scaffolder.actions.registry import Action, ActionContext, ActionError
from scaffolder.expressions import ExpressionEngine
from scaffolder.workspace import WorkspacePathError, is_within


def _list_entries(root: Path) -> list[str]:
    """Relative posix paths of everything under root; folders end with '/'."""
    entries: list[str] = []
    for dirpath, dirnames, filenames in os.walk(root, followlinks=False):
        rel_dir = os.path.relpath(dirpath, root)
        prefix = "" if rel_dir == "." else rel_dir.replace(os.sep, "/") + "/"
        dirnames.sort()
        real_dirs = []
        for d in dirnames:
            if os.path.islink(os.path.join(dirpath, d)):
                entries.append(prefix + d)  # a link to a folder is copied as a link, not walked
            else:
                real_dirs.append(d)
                entries.append(prefix + d + "/")
        dirnames[:] = real_dirs
        entries.extend(prefix + f for f in sorted(filenames))
    return sorted(entries)


def _is_binary(data: bytes) -> bool:
    if b"\x00" in data[:8192]:
        return True
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return True
    return False


def _join_target(target_path: str, relative: str) -> str:
    base = target_path.strip() or "."
    return str(PurePosixPath(base) / relative) if relative else base


def _copy_symlink(ctx: ActionContext, source_root: Path, source: Path, output_rel: str, location: str) -> None:
    link_text = os.readlink(source)
    if os.path.isabs(link_text) or not is_within(source.parent / link_text, source_root):
        raise ActionError(f"skeleton entry {location!r} is a symbolic link pointing outside the template")
    target = ctx.workspace.resolve(output_rel)
    # The link must also stay inside the workspace where it lands.
    landing = os.path.normpath(os.path.join(target.parent, link_text))
    ctx.workspace.resolve(os.path.relpath(landing, ctx.workspace.root))
    target.parent.mkdir(parents=True, exist_ok=True)
    if os.path.lexists(target):
        os.unlink(target)
    os.symlink(link_text, target)


def _copy_file(ctx: ActionContext, source: Path, output_rel: str, content: bytes | None = None) -> None:
    data = source.read_bytes() if content is None else content
    ctx.workspace.write_bytes(output_rel, data, mode=stat.S_IMODE(source.stat().st_mode))


def _copy_tree(ctx: ActionContext, source_root: Path, target_path: str) -> int:
    count = 0
    for location in _list_entries(source_root):
        ctx.check_cancelled()
        output_rel = _join_target(target_path, location.rstrip("/"))
        source = source_root / location
        if location.endswith("/"):
            ctx.workspace.make_dirs(output_rel)
        elif source.is_symlink():
            _copy_symlink(ctx, source_root, source, output_rel, location)
        else:
            _copy_file(ctx, source, output_rel)
            count += 1
    return count


def _plain(ctx: ActionContext, data: dict[str, Any]) -> dict[str, Any]:
    source_root = ctx.require_reader().directory(data["url"])
    target_path = data.get("targetPath") or "./"
    ctx.workspace.resolve(target_path)
    ctx.log(f"Fetching plain content from {data['url']}")
    count = _copy_tree(ctx, source_root, target_path)
    ctx.log(f"Copied {count} files to {target_path}")
    return {}


def _plain_file(ctx: ActionContext, data: dict[str, Any]) -> dict[str, Any]:
    content = ctx.require_reader().read_file(data["url"])
    ctx.workspace.resolve(data["targetPath"])
    ctx.workspace.write_bytes(data["targetPath"], content)
    ctx.log(f"Fetched {data['url']} to {data['targetPath']}")
    return {}


def _template_settings(data: dict[str, Any]) -> tuple[list[str] | None, bool, str | None]:
    if data.get("copyWithoutRender") is not None and data.get("copyWithoutTemplating") is not None:
        raise ActionError("copyWithoutRender and copyWithoutTemplating cannot be used together")
    if data.get("copyWithoutRender") is not None:
        patterns, render_names = data["copyWithoutRender"], False
    else:
        patterns, render_names = data.get("copyWithoutTemplating"), True
    extension: str | None = None
    raw_extension = data.get("templateFileExtension")
    if raw_extension:
        if patterns is not None or data.get("cookiecutterCompat"):
            raise ActionError(
                "templateFileExtension cannot be combined with copyWithoutRender, "
                "copyWithoutTemplating or cookiecutterCompat"
            )
        extension = ".njk" if raw_extension is True else str(raw_extension)
        if not extension.startswith("."):
            extension = "." + extension
    return patterns, render_names, extension


def _skipped(path: str) -> bool:
    # A part that rendered empty: skip the entry (Backstage's rule).
    return path == "" or path.startswith("/") or "//" in path


def _template(ctx: ActionContext, data: dict[str, Any]) -> dict[str, Any]:
    patterns, render_names, extension = _template_settings(data)
    target_path = data.get("targetPath") or "./"
    ctx.workspace.resolve(target_path)
    source_root = ctx.require_reader().directory(data["url"])
    compat = bool(data.get("cookiecutterCompat"))
    values = data.get("values") or {}
    context = {"cookiecutter" if compat else "values": values}
    engine = ExpressionEngine(max_output=ctx.workspace.limits.max_file_bytes)
    options = {
        "cookiecutter": compat,
        "trim_blocks": bool(data.get("trimBlocks")),
        "lstrip_blocks": bool(data.get("lstripBlocks")),
    }

    def render(text: str, what: str) -> str:
        try:
            return engine.render_string(text, context, **options)
        except Exception as exc:
            raise ActionError(f"could not render {what}: {exc}") from None

    entries = _list_entries(source_root)
    ctx.log(f"Processing {len(entries)} template files and folders from {data['url']}")
    written = 0
    for location in entries:
        ctx.check_cancelled()
        is_dir = location.endswith("/")
        name = location
        if extension:
            render_contents = not is_dir and name.endswith(extension)
            if render_contents:
                name = name[: -len(extension)]
            name = render(name, f"the name {location!r}")
        else:
            copy_only = any(match_glob(location, p) for p in (patterns or []))
            render_contents = not copy_only
            if render_names or render_contents:
                name = render(name, f"the name {location!r}")
        if _skipped(name):
            continue
        output_rel = _join_target(target_path, name.rstrip("/"))
        try:
            output = ctx.workspace.resolve(output_rel)
        except WorkspacePathError as exc:
            raise ActionError(f"skeleton entry {location!r} renders to {name!r}: {exc}") from None
        if is_dir:
            ctx.workspace.make_dirs(output_rel)
            continue
        if os.path.lexists(output) and not data.get("replace"):
            ctx.log(f"Keeping existing file {name}")
            continue
        source = source_root / location
        if source.is_symlink():
            _copy_symlink(ctx, source_root, source, output_rel, location)
            continue
        content = source.read_bytes()
        if render_contents and not _is_binary(content):
            rendered = render(content.decode("utf-8"), f"the file {location!r}")
            _copy_file(ctx, source, output_rel, rendered.encode("utf-8"))
        else:
            _copy_file(ctx, source, output_rel, content)
        written += 1
    ctx.log(f"Template result written to {target_path} ({written} files)")
    return {}


_STRING_LIST = {"type": "array", "items": {"type": "string"}}

PLAIN = Action(
    id="fetch:plain",
    description="Copies a folder of the template (or a configured remote tree) into the workspace.",
    input_schema={
        "type": "object",
        "required": ["url"],
        "properties": {
            "url": {"type": "string", "minLength": 1},
            "targetPath": {"type": "string"},
            "token": {"type": "string"},
        },
    },
    handler=_plain,
    supports_dry_run=True,
)

PLAIN_FILE = Action(
    id="fetch:plain:file",
    description="Copies one file of the template into the workspace.",
    input_schema={
        "type": "object",
        "required": ["url", "targetPath"],
        "properties": {
            "url": {"type": "string", "minLength": 1},
            "targetPath": {"type": "string", "minLength": 1},
            "token": {"type": "string"},
        },
    },
    handler=_plain_file,
    supports_dry_run=True,
)

TEMPLATE = Action(
    id="fetch:template",
    description="Renders a skeleton folder with the given values into the workspace.",
    input_schema={
        "type": "object",
        "required": ["url"],
        "properties": {
            "url": {"type": "string", "minLength": 1},
            "targetPath": {"type": "string"},
            "values": {"type": "object"},
            "copyWithoutRender": _STRING_LIST,
            "copyWithoutTemplating": _STRING_LIST,
            "cookiecutterCompat": {"type": "boolean"},
            "templateFileExtension": {"type": ["string", "boolean"]},
            "replace": {"type": "boolean"},
            "trimBlocks": {"type": "boolean"},
            "lstripBlocks": {"type": "boolean"},
            "token": {"type": "string"},
        },
    },
    handler=_template,
    supports_dry_run=True,
)

ACTIONS = [PLAIN, PLAIN_FILE, TEMPLATE]
