"""Reading a docs site's ``mkdocs.yml`` safely.

Public API (no Django):

- ``parse_config(text, *, source="mkdocs.yml") -> MkDocsConfig``: parse the text of a config file.
- ``default_config() -> MkDocsConfig``: the settings used when a site has no config file.
- ``find_config_file(site_dir) -> Path | None``: ``mkdocs.yml`` (or ``mkdocs.yaml``) in a folder.
- ``safe_relative_path(value, *, what) -> str``: normalise a relative path, refusing ``..`` and
  absolute paths with a ``ConfigError``.
- ``BuildError`` (a site cannot be built at all) and its subclass ``ConfigError``.

The YAML is read with a safe loader. Config files written for MkDocs often carry tags such as
``!!python/name:pymdownx.emoji.twemoji`` or ``!ENV``; those are never executed: a tagged scalar
becomes its text (or the tag itself when the text is empty), tagged lists and mappings become plain
lists and dicts.

Only the keys the builder uses are read: ``site_name``, ``site_description``, ``docs_dir``, ``nav``,
``repo_url``, ``edit_uri`` and the names listed in ``markdown_extensions``. Anything odd but harmless
becomes a warning in ``MkDocsConfig.warnings``; anything unsafe (a path leaving the site) is a
``ConfigError``.
"""

from __future__ import annotations

import posixpath
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

__all__ = [
    "CONFIG_FILE_NAMES",
    "BuildError",
    "ConfigError",
    "MkDocsConfig",
    "NavEntry",
    "default_config",
    "find_config_file",
    "parse_config",
    "safe_relative_path",
]

CONFIG_FILE_NAMES = ("mkdocs.yml", "mkdocs.yaml")
DEFAULT_DOCS_DIR = "docs"
MAX_CONFIG_BYTES = 1024 * 1024
# Aliases let a small YAML file describe a huge tree; these bound the walk over it.
MAX_NAV_ENTRIES = 20_000
MAX_NAV_DEPTH = 16
LINK_SCHEMES = frozenset({"http", "https", "mailto"})

_SCHEME = re.compile(r"^([a-zA-Z][a-zA-Z0-9+.\-]*):")
_WINDOWS_DRIVE = re.compile(r"^[a-zA-Z]:[\\/]")


class BuildError(Exception):
    """A docs site cannot be built at all (the message says why)."""


class ConfigError(BuildError):
    """The site's ``mkdocs.yml`` is unreadable or asks for something unsafe."""


@dataclass(frozen=True)
class NavEntry:
    """One entry of the ``nav`` declared in ``mkdocs.yml``, not yet matched to files.

    Exactly one of ``file`` (a normalised path relative to the docs folder), ``url`` (an external
    link) or ``children`` (a section) describes the entry. ``title`` is None for a bare ``path.md``
    entry, whose title then comes from the page itself.
    """

    title: str | None
    file: str | None = None
    url: str | None = None
    children: tuple[NavEntry, ...] = ()

    @property
    def is_section(self) -> bool:
        return self.file is None and self.url is None


@dataclass(frozen=True)
class MkDocsConfig:
    site_name: str | None = None
    site_description: str | None = None
    docs_dir: str = DEFAULT_DOCS_DIR
    # None when the config declares no nav: the builder then derives one from the folder.
    nav: tuple[NavEntry, ...] | None = None
    repo_url: str | None = None
    # None when absent (a default may apply for well-known hosts); "" switches edit links off.
    edit_uri: str | None = None
    markdown_extensions: tuple[str, ...] = ()
    warnings: tuple[str, ...] = field(default=())


def default_config() -> MkDocsConfig:
    return MkDocsConfig()


def find_config_file(site_dir: Path) -> Path | None:
    """The config file in ``site_dir`` (``mkdocs.yml`` first), or None. Symlinks are not resolved."""
    for name in CONFIG_FILE_NAMES:
        candidate = site_dir / name
        if candidate.is_file() or candidate.is_symlink():
            return candidate
    return None


def safe_relative_path(value: str, *, what: str) -> str:
    """Normalise a relative POSIX path; refuse absolute paths and any ``..`` segment.

    Backslashes count as separators so a Windows-style ``..\\x`` is refused too. Returns ``"."``
    for the folder itself.
    """
    if not isinstance(value, str):
        raise ConfigError(f"{what} must be a text path, got {type(value).__name__}")
    if "\x00" in value:
        raise ConfigError(f"{what} {value!r} contains a NUL character")
    text = value.replace("\\", "/")
    if text.startswith("/") or _WINDOWS_DRIVE.match(value) or text.startswith("~"):
        raise ConfigError(f"{what} {value!r} is an absolute path; only paths inside the site are allowed")
    parts = [part for part in text.split("/") if part not in ("", ".")]
    if ".." in parts:
        raise ConfigError(f"{what} {value!r} contains '..'; only paths inside the site are allowed")
    return "/".join(parts) if parts else "."


def parse_config(text: str, *, source: str = "mkdocs.yml") -> MkDocsConfig:
    """Parse the text of a ``mkdocs.yml``. Raises ``ConfigError`` with a readable message."""
    if len(text) > MAX_CONFIG_BYTES:
        raise ConfigError(f"{source} is larger than {MAX_CONFIG_BYTES} bytes")
    try:
        data = yaml.load(text, Loader=_TolerantLoader)  # noqa: S506 - a SafeLoader subclass
    except yaml.YAMLError as exc:
        raise ConfigError(f"{source} is not valid YAML: {exc}")
    except RecursionError:
        raise ConfigError(f"{source} is nested too deeply to read")
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise ConfigError(f"{source} must be a mapping of settings, got {type(data).__name__}")

    warnings: list[str] = []
    if "INHERIT" in data:
        warnings.append(f"{source}: INHERIT is not supported and was ignored")

    docs_dir_value = data.get("docs_dir", DEFAULT_DOCS_DIR)
    if docs_dir_value is None:
        docs_dir_value = DEFAULT_DOCS_DIR
    docs_dir = safe_relative_path(str(docs_dir_value), what="docs_dir")

    nav = None
    if data.get("nav") is not None:
        nav = _parse_nav(data["nav"], source=source, warnings=warnings)

    repo_url = _optional_text(data.get("repo_url"))
    if repo_url is not None and _scheme_of(repo_url) not in ("http", "https"):
        warnings.append(f"{source}: repo_url {repo_url!r} is not an http(s) URL and was ignored")
        repo_url = None

    edit_uri = None
    if "edit_uri" in data:
        edit_uri = _optional_text(data.get("edit_uri")) or ""
        scheme = _scheme_of(edit_uri)
        if scheme is not None and scheme not in ("http", "https"):
            warnings.append(f"{source}: edit_uri {edit_uri!r} is not an http(s) URL and was ignored")
            edit_uri = ""

    return MkDocsConfig(
        site_name=_optional_text(data.get("site_name")),
        site_description=_optional_text(data.get("site_description")),
        docs_dir=docs_dir,
        nav=nav,
        repo_url=repo_url,
        edit_uri=edit_uri,
        markdown_extensions=_extension_names(data.get("markdown_extensions")),
        warnings=tuple(warnings),
    )


class _TolerantLoader(yaml.SafeLoader):
    """SafeLoader that reads unknown tags as plain data instead of failing or executing."""


def _construct_unknown_tag(loader: yaml.SafeLoader, tag: str, node: yaml.Node) -> Any:
    if isinstance(node, yaml.ScalarNode):
        return loader.construct_scalar(node) or tag
    if isinstance(node, yaml.SequenceNode):
        return loader.construct_sequence(node, deep=True)
    return loader.construct_mapping(node, deep=True)


# The empty prefix matches every tag; tags the safe loader knows are still handled by it first.
_TolerantLoader.add_multi_constructor("", _construct_unknown_tag)


def _optional_text(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, (dict, list)):
        return None
    text = str(value).strip()
    return text or None


def _scheme_of(value: str) -> str | None:
    match = _SCHEME.match(value)
    if match is None or _WINDOWS_DRIVE.match(value):
        return None
    return match.group(1).lower()


def _extension_names(value: Any) -> tuple[str, ...]:
    names: list[str] = []
    if isinstance(value, dict):
        value = list(value)
    if not isinstance(value, list):
        return ()
    for item in value:
        if isinstance(item, str):
            names.append(item)
        elif isinstance(item, dict):
            names.extend(str(key) for key in item)
    return tuple(names)


def _parse_nav(value: Any, *, source: str, warnings: list[str]) -> tuple[NavEntry, ...]:
    if not isinstance(value, list):
        raise ConfigError(f"{source}: nav must be a list, got {type(value).__name__}")
    budget = [MAX_NAV_ENTRIES]
    return tuple(
        entry
        for item in value
        if (entry := _parse_nav_item(item, depth=1, budget=budget, source=source, warnings=warnings))
    )


def _parse_nav_item(
    item: Any, *, depth: int, budget: list[int], source: str, warnings: list[str]
) -> NavEntry | None:
    if depth > MAX_NAV_DEPTH:
        raise ConfigError(f"{source}: nav is nested deeper than {MAX_NAV_DEPTH} levels")
    budget[0] -= 1
    if budget[0] < 0:
        raise ConfigError(f"{source}: nav has more than {MAX_NAV_ENTRIES} entries")

    if isinstance(item, str):
        return _nav_target(None, item, source=source, warnings=warnings)
    if not isinstance(item, dict):
        raise ConfigError(f"{source}: nav entry {item!r} must be a path or a 'Title: target' pair")
    if len(item) != 1:
        raise ConfigError(f"{source}: nav entry {item!r} must have exactly one title")
    ((title_value, target),) = item.items()
    title = str(title_value)
    if isinstance(target, str):
        return _nav_target(title, target, source=source, warnings=warnings)
    if isinstance(target, list):
        children = tuple(
            entry
            for child in target
            if (entry := _parse_nav_item(child, depth=depth + 1, budget=budget, source=source,
                                         warnings=warnings))
        )
        return NavEntry(title=title, children=children)
    raise ConfigError(f"{source}: nav entry {title!r} needs a page path, a link or a list of entries")


def _nav_target(title: str | None, target: str, *, source: str, warnings: list[str]) -> NavEntry | None:
    target = target.strip()
    scheme = _scheme_of(target)
    if scheme is not None:
        if scheme not in LINK_SCHEMES:
            warnings.append(f"{source}: nav link {target!r} uses the {scheme}: scheme, which is not allowed;"
                            " the entry was left out")
            return None
        return NavEntry(title=title or target, url=target)
    path = safe_relative_path(target, what=f"{source}: nav entry")
    if path == ".":
        raise ConfigError(f"{source}: nav entry {target!r} does not name a page")
    return NavEntry(title=title, file=posixpath.normpath(path))
