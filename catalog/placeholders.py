"""Backstage placeholder substitution: ``$text``, ``$json``, ``$yaml``.

Anywhere in a catalog document, a mapping with exactly one key that is a known
placeholder and a string value is replaced by content read from elsewhere::

    definition:
      $text: ./openapi.yaml     ->  definition: "<the file's text>"
    config:
      $json: ./config.json      ->  config: {...parsed JSON...}
    extra:
      $yaml: ./extra.yaml       ->  extra: {...parsed YAML, one document...}

As in Backstage, a one-key mapping whose key is not a known placeholder, or whose
value is not a string, is left alone (JSON Schema's ``$ref`` for instance), and
substituted content is not searched for further placeholders.

This module only substitutes. Where a reference may be read from (relative to the
entity's own file, inside the same root, or an allow-listed URL) is decided by the
``fetch`` callable the caller passes; ``catalog.reading`` supplies one that refuses
anything outside the location's root.

Public API::

    substitute_placeholders(document, fetch, *, max_bytes=DEFAULT_MAX_BYTES,
                            max_placeholders=DEFAULT_MAX_PLACEHOLDERS) -> dict
        A new document with every placeholder replaced; ``document`` is not changed.
        ``fetch(reference) -> bytes`` gets the reference exactly as written and
        raises ``PlaceholderError`` when it cannot or must not be read.
        Raises ``PlaceholderError`` naming the placeholder's path in the document
        (e.g. ``spec.definition``) on any failure.

    find_placeholders(document) -> list[Placeholder]
        The placeholders a document holds, without reading anything.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from catalog.yamlsafe import DEFAULT_MAX_BYTES, DEFAULT_MAX_DEPTH, YamlError, load_single_value

DEFAULT_MAX_PLACEHOLDERS = 100
PLACEHOLDER_KINDS = ("text", "json", "yaml")

PlaceholderFetch = Callable[[str], bytes]


class PlaceholderError(Exception):
    """A placeholder that could not be substituted; ``path`` says where it sits."""

    def __init__(self, message: str, *, path: str | None = None) -> None:
        self.message = message
        self.path = path
        super().__init__(f"{path}: {message}" if path else message)


@dataclass(frozen=True)
class Placeholder:
    path: str  # e.g. "spec.definition" or "spec.items[2]"
    kind: str  # "text" | "json" | "yaml"
    reference: str


def _placeholder_in(value: Any) -> tuple[str, str] | None:
    if not isinstance(value, dict) or len(value) != 1:
        return None
    ((key, reference),) = value.items()
    if not isinstance(key, str) or not key.startswith("$"):
        return None
    kind = key[1:]
    if kind not in PLACEHOLDER_KINDS or not isinstance(reference, str):
        return None
    return kind, reference


def _join(path: str, key: Any) -> str:
    if isinstance(key, int):
        return f"{path}[{key}]"
    return f"{path}.{key}" if path else str(key)


def find_placeholders(document: dict[str, Any]) -> list[Placeholder]:
    """Every placeholder in ``document``, in document order."""
    found: list[Placeholder] = []

    def visit(value: Any, path: str) -> None:
        placeholder = _placeholder_in(value)
        if placeholder is not None:
            found.append(Placeholder(path=path or "(document)", kind=placeholder[0], reference=placeholder[1]))
        elif isinstance(value, dict):
            for key, item in value.items():
                visit(item, _join(path, key))
        elif isinstance(value, list):
            for position, item in enumerate(value):
                visit(item, _join(path, position))

    visit(document, "")
    return found


def _depth(value: Any) -> int:
    deepest = 0
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        item, level = stack.pop()
        deepest = max(deepest, level)
        if isinstance(item, dict):
            stack.extend((child, level + 1) for child in item.values())
        elif isinstance(item, list):
            stack.extend((child, level + 1) for child in item)
    return deepest


def _decode_content(kind: str, content: bytes, max_bytes: int) -> Any:
    if len(content) > max_bytes:
        raise PlaceholderError(f"content is {len(content)} bytes, over the limit of {max_bytes} bytes")
    if kind == "yaml":
        try:
            return load_single_value(content, max_bytes=max_bytes)
        except YamlError as exc:
            raise PlaceholderError(str(exc))
    try:
        text = content.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise PlaceholderError(f"content is not valid UTF-8 text (byte {exc.start})")
    if kind == "text":
        return text
    try:
        value = json.loads(text)
    except RecursionError:
        raise PlaceholderError("invalid JSON: nested too deeply")
    except ValueError as exc:
        raise PlaceholderError(f"invalid JSON: {exc}")
    if _depth(value) > DEFAULT_MAX_DEPTH:
        raise PlaceholderError(f"invalid JSON: nested more than {DEFAULT_MAX_DEPTH} levels deep")
    return value


def substitute_placeholders(
    document: dict[str, Any],
    fetch: PlaceholderFetch,
    *,
    max_bytes: int = DEFAULT_MAX_BYTES,
    max_placeholders: int = DEFAULT_MAX_PLACEHOLDERS,
) -> dict[str, Any]:
    """Return a copy of ``document`` with its placeholders replaced (see module docstring)."""
    count = 0

    def substitute(value: Any, path: str) -> Any:
        nonlocal count
        placeholder = _placeholder_in(value)
        if placeholder is not None:
            kind, reference = placeholder
            where = path or "(document)"
            count += 1
            if count > max_placeholders:
                raise PlaceholderError(f"more than {max_placeholders} placeholders in one document", path=where)
            if not reference.strip():
                raise PlaceholderError(f"${kind} needs a file path or URL, got an empty string", path=where)
            try:
                return _decode_content(kind, fetch(reference), max_bytes)
            except PlaceholderError as exc:
                raise PlaceholderError(f"${kind} {reference}: {exc.message}", path=where)
        if isinstance(value, dict):
            return {key: substitute(item, _join(path, key)) for key, item in value.items()}
        if isinstance(value, list):
            return [substitute(item, _join(path, position)) for position, item in enumerate(value)]
        return value

    result = substitute(document, "")
    if not isinstance(result, dict):
        raise PlaceholderError("a whole document cannot be a placeholder", path="(document)")
    return result
