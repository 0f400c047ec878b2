"""Safe, bounded loading of catalog YAML.

Catalog files come from people and repositories we do not control, so every
load is bounded before and during parsing:

- the byte size is checked before anything is parsed (``max_bytes``);
- the number of nodes, counted with every alias expanded, is capped
  (``max_nodes``): a "billion laughs" document fails after composing a few
  dozen nodes instead of growing without bound;
- nesting depth is capped (``max_depth``), aliases included;
- recursive aliases (``&a [*a]``) are refused;
- only the plain JSON-like tags are accepted (mapping, sequence, string,
  integer, float, boolean, null, and ``<<`` merge keys); timestamps stay
  strings; ``!!binary``, ``!!set``, ``!!python/...`` and custom tags are refused.

The values built are plain ``dict``/``list``/``str``/``int``/``float``/``bool``/
``None`` trees with no shared sub-objects, so callers may mutate them freely.

Public API::

    load_documents(data, *, max_bytes=DEFAULT_MAX_BYTES, max_nodes=DEFAULT_MAX_NODES,
                   max_depth=DEFAULT_MAX_DEPTH) -> YamlLoad
        Every document of a multi-document stream. Empty documents are skipped;
        documents that are not mappings, hold duplicate keys or unsupported tags
        become ``YamlProblem`` records (the other documents are still returned).
        Raises ``YamlError`` (with ``line``/``column`` when known) when the file as a
        whole cannot be loaded: too large, not UTF-8, invalid syntax, too many
        nodes, too deep, recursive alias.

    load_single_value(data, *, ...) -> object
        Exactly one YAML document of any shape (used by ``$yaml`` placeholders).
        Raises ``YamlError`` for everything above and for zero or several documents.

Lines and columns in errors and records are 1-based.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import yaml
from yaml.composer import Composer
from yaml.constructor import SafeConstructor
from yaml.events import AliasEvent
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode
from yaml.parser import Parser
from yaml.reader import Reader
from yaml.resolver import Resolver
from yaml.scanner import Scanner

try:
    from yaml._yaml import CParser as _LibyamlParser
except ImportError:  # pragma: no cover - PyYAML built without libyaml
    _LibyamlParser = None

DEFAULT_MAX_BYTES = 5 * 1024 * 1024
DEFAULT_MAX_NODES = 250_000
DEFAULT_MAX_DEPTH = 100

_TAG_PREFIX = "tag:yaml.org,2002:"
_SCALAR_TAGS = {_TAG_PREFIX + name for name in ("str", "int", "float", "bool", "null")}
_SEQUENCE_TAG = _TAG_PREFIX + "seq"
_MAPPING_TAG = _TAG_PREFIX + "map"
_MERGE_TAG = _TAG_PREFIX + "merge"
# Explicit !!timestamp is accepted and kept as the text written, like implicit dates.
_TIMESTAMP_TAG = _TAG_PREFIX + "timestamp"


class YamlError(Exception):
    """A YAML file (or placeholder content) that cannot be loaded safely."""

    def __init__(self, message: str, *, line: int | None = None, column: int | None = None) -> None:
        self.message = message
        self.line = line
        self.column = column
        super().__init__(_with_position(message, line, column))


class YamlTooLargeError(YamlError):
    """The content is over the byte limit; nothing was parsed."""


class YamlBombError(YamlError):
    """Too many nodes once aliases are expanded, too deep, or a recursive alias."""


@dataclass(frozen=True)
class YamlDocument:
    """One mapping document of a stream: its position in the stream and its data."""

    index: int
    line: int
    data: dict[str, Any]


@dataclass(frozen=True)
class YamlProblem:
    """A document of the stream that was left out, and why."""

    index: int
    line: int | None
    message: str


@dataclass(frozen=True)
class YamlLoad:
    documents: list[YamlDocument]
    problems: list[YamlProblem]


class _DocumentProblem(Exception):
    """Internal: a document-level problem, turned into a ``YamlProblem``."""

    def __init__(self, message: str, node: Node | None) -> None:
        super().__init__(message)
        self.message = message
        self.line = _line_of(node)


def _with_position(message: str, line: int | None, column: int | None) -> str:
    if line is None:
        return message
    if column is None:
        return f"line {line}: {message}"
    return f"line {line}, column {column}: {message}"


def _short_tag(tag: str) -> str:
    return "!!" + tag.removeprefix(_TAG_PREFIX) if tag.startswith(_TAG_PREFIX) else tag


def _line_of(node: Node | None) -> int | None:
    if node is None or node.start_mark is None:
        return None
    return node.start_mark.line + 1


def _implicit_resolvers_without_timestamps() -> dict[str, list[tuple[str, Any]]]:
    # Catalog data is JSON-like: a date written in YAML stays the text that was written.
    return {
        first: [(tag, regexp) for tag, regexp in resolvers if tag != _TIMESTAMP_TAG]
        for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
    }


class _BoundedComposer(Composer):
    """A composer that counts nodes and nesting while composing."""

    def __init__(self, *, max_nodes: int, max_depth: int) -> None:
        super().__init__()
        self.max_nodes = max_nodes
        self.max_depth = max_depth
        self.composed_nodes = 0
        self.compose_depth = 0
        self.saw_alias = False

    def compose_document(self) -> Node:
        self.composed_nodes = 0
        self.compose_depth = 0
        self.saw_alias = False
        return super().compose_document()

    def compose_node(self, parent: Node | None, index: Any) -> Node:
        # Alias events count too, so a million `*a` references stop here as well.
        self.composed_nodes += 1
        if self.composed_nodes > self.max_nodes:
            mark = self.peek_event().start_mark
            raise YamlBombError(
                f"document has more than {self.max_nodes} nodes",
                line=mark.line + 1,
                column=mark.column + 1,
            )
        if self.check_event(AliasEvent):
            self.saw_alias = True
        self.compose_depth += 1
        try:
            if self.compose_depth > self.max_depth:
                mark = self.peek_event().start_mark
                raise YamlBombError(
                    f"document is nested more than {self.max_depth} levels deep",
                    line=mark.line + 1,
                    column=mark.column + 1,
                )
            return super().compose_node(parent, index)
        finally:
            self.compose_depth -= 1


class _PythonBoundedLoader(Reader, Scanner, Parser, _BoundedComposer, SafeConstructor, Resolver):
    yaml_implicit_resolvers = _implicit_resolvers_without_timestamps()

    def __init__(self, text: str, *, max_nodes: int, max_depth: int) -> None:
        Reader.__init__(self, text)
        Scanner.__init__(self)
        Parser.__init__(self)
        SafeConstructor.__init__(self)
        Resolver.__init__(self)
        _BoundedComposer.__init__(self, max_nodes=max_nodes, max_depth=max_depth)


_BoundedLoader: type = _PythonBoundedLoader

if _LibyamlParser is not None:

    class _LibyamlBoundedLoader(_BoundedComposer, _LibyamlParser, SafeConstructor, Resolver):
        """libyaml's parser for speed (several times faster); our composer on its events for the limits."""

        yaml_implicit_resolvers = _implicit_resolvers_without_timestamps()

        def __init__(self, text: str, *, max_nodes: int, max_depth: int) -> None:
            _LibyamlParser.__init__(self, text)
            SafeConstructor.__init__(self)
            Resolver.__init__(self)
            _BoundedComposer.__init__(self, max_nodes=max_nodes, max_depth=max_depth)

    _BoundedLoader = _LibyamlBoundedLoader


def _decode(data: bytes | str, max_bytes: int) -> str:
    size = len(data.encode("utf-8")) if isinstance(data, str) else len(data)
    if size > max_bytes:
        raise YamlTooLargeError(f"content is {size} bytes, over the limit of {max_bytes} bytes")
    if isinstance(data, str):
        return data
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise YamlError(f"content is not valid UTF-8 text (byte {exc.start})")


def _check_expanded_size(root: Node, max_nodes: int, max_depth: int) -> None:
    """Measure the tree the node graph would expand into, without expanding it.

    Aliases make the composed graph a DAG (or, with a recursive anchor, a cyclic
    graph); sizes and depths are memoised per node so the walk stays linear in the
    graph even when the expanded tree would be astronomically large.
    """
    sizes: dict[int, int] = {}
    depths: dict[int, int] = {}
    on_path: set[int] = set()
    # Each frame: (node, children-pushed flag).
    stack: list[tuple[Node, bool]] = [(root, False)]
    while stack:
        node, expanded = stack.pop()
        key = id(node)
        if expanded:
            on_path.discard(key)
            children = _children(node)
            size = 1 + sum(sizes[id(child)] for child in children)
            depth = 1 + max((depths[id(child)] for child in children), default=0)
            if size > max_nodes:
                raise YamlBombError(
                    f"document expands to more than {max_nodes} nodes once aliases are expanded (alias bomb?)",
                    line=_line_of(node),
                )
            if depth > max_depth:
                raise YamlBombError(
                    f"document is nested more than {max_depth} levels deep once aliases are expanded",
                    line=_line_of(node),
                )
            sizes[key] = size
            depths[key] = depth
            continue
        if key in sizes:
            continue
        if key in on_path:
            raise YamlBombError("recursive alias: an anchor is used inside itself", line=_line_of(node))
        on_path.add(key)
        stack.append((node, True))
        for child in _children(node):
            child_key = id(child)
            if child_key in on_path:
                raise YamlBombError("recursive alias: an anchor is used inside itself", line=_line_of(child))
            if child_key not in sizes:
                stack.append((child, False))


def _children(node: Node) -> list[Node]:
    if isinstance(node, SequenceNode):
        return list(node.value)
    if isinstance(node, MappingNode):
        return [part for pair in node.value for part in pair]
    return []


class _Builder:
    """Turns a checked node graph into a plain, unshared Python tree."""

    def __init__(self, loader: _BoundedLoader) -> None:
        self.loader = loader

    def build(self, node: Node) -> Any:
        if isinstance(node, ScalarNode):
            return self._scalar(node)
        if isinstance(node, SequenceNode):
            if node.tag != _SEQUENCE_TAG:
                raise _DocumentProblem(f"unsupported YAML tag {_short_tag(node.tag)}", node)
            return [self.build(item) for item in node.value]
        if isinstance(node, MappingNode):
            if node.tag != _MAPPING_TAG:
                raise _DocumentProblem(f"unsupported YAML tag {_short_tag(node.tag)}", node)
            return self._mapping(node)
        raise _DocumentProblem(f"unsupported YAML node {type(node).__name__}", node)

    def _scalar(self, node: ScalarNode) -> Any:
        if node.tag == _TIMESTAMP_TAG:
            return node.value
        if node.tag not in _SCALAR_TAGS:
            raise _DocumentProblem(f"unsupported YAML tag {_short_tag(node.tag)}", node)
        try:
            return self.loader.construct_object(node, deep=True)
        except (yaml.YAMLError, ValueError, TypeError) as exc:
            raise _DocumentProblem(f"invalid {node.tag.removeprefix(_TAG_PREFIX)} value: {exc}", node)

    def _key(self, node: Node) -> str:
        # Keys stay the text written: `on:` is the key "on", not True.
        if not isinstance(node, ScalarNode):
            raise _DocumentProblem("mapping keys must be plain scalars, not sequences or mappings", node)
        if node.tag not in _SCALAR_TAGS and node.tag != _TIMESTAMP_TAG:
            raise _DocumentProblem(f"unsupported YAML tag {_short_tag(node.tag)}", node)
        return str(node.value)

    def _mapping(self, node: MappingNode) -> dict[str, Any]:
        explicit: dict[str, Any] = {}
        merged: dict[str, Any] = {}
        for key_node, value_node in node.value:
            if key_node.tag == _MERGE_TAG:
                for source in self._merge_sources(value_node):
                    for key, value in self._mapping(source).items():
                        merged.setdefault(key, value)
                continue
            key = self._key(key_node)
            if key in explicit:
                raise _DocumentProblem(f"duplicate key {key!r} in a mapping", key_node)
            explicit[key] = self.build(value_node)
        if not merged:
            return explicit
        return {**merged, **explicit}

    def _merge_sources(self, node: Node) -> list[MappingNode]:
        if isinstance(node, MappingNode):
            return [node]
        if isinstance(node, SequenceNode) and all(isinstance(item, MappingNode) for item in node.value):
            # Earlier mappings in a merge list win over later ones.
            return list(node.value)
        raise _DocumentProblem("a '<<' merge key needs a mapping or a list of mappings", node)


def _load_stream(
    data: bytes | str, *, max_bytes: int, max_nodes: int, max_depth: int
) -> list[tuple[int, int, Any, str | None]]:
    """(index, line, value, problem) for each non-empty document of the stream."""
    text = _decode(data, max_bytes)
    loader = _BoundedLoader(text, max_nodes=max_nodes, max_depth=max_depth)
    builder = _Builder(loader)
    results: list[tuple[int, int, Any, str | None]] = []
    index = 0
    try:
        while loader.check_node():
            start = loader.peek_event().start_mark
            node = loader.get_node()
            line = start.line + 1
            if node is not None and not (node.tag == _TAG_PREFIX + "null" and isinstance(node, ScalarNode)):
                if loader.saw_alias:
                    # Without aliases the composed tree is the expanded tree, already bounded above.
                    _check_expanded_size(node, max_nodes, max_depth)
                try:
                    results.append((index, _line_of(node) or line, builder.build(node), None))
                except _DocumentProblem as problem:
                    results.append((index, problem.line or line, None, problem.message))
            index += 1
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        message = exc.problem or exc.context or "invalid YAML"
        if exc.context and exc.problem:
            message = f"{exc.problem} ({exc.context})"
        raise YamlError(
            f"invalid YAML: {message}",
            line=mark.line + 1 if mark else None,
            column=mark.column + 1 if mark else None,
        )
    except yaml.YAMLError as exc:
        raise YamlError(f"invalid YAML: {exc}")
    except RecursionError:
        raise YamlBombError("content is nested too deeply to load")
    finally:
        loader.dispose()
    return results


def _describe_shape(value: Any) -> str:
    if isinstance(value, list):
        return "a list"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    return f"a {type(value).__name__}"


def load_documents(
    data: bytes | str,
    *,
    max_bytes: int = DEFAULT_MAX_BYTES,
    max_nodes: int = DEFAULT_MAX_NODES,
    max_depth: int = DEFAULT_MAX_DEPTH,
) -> YamlLoad:
    """Load every document of a catalog file; see the module docstring."""
    documents: list[YamlDocument] = []
    problems: list[YamlProblem] = []
    for index, line, value, problem in _load_stream(
        data, max_bytes=max_bytes, max_nodes=max_nodes, max_depth=max_depth
    ):
        if problem is not None:
            problems.append(YamlProblem(index=index, line=line, message=f"document {index + 1}: {problem}"))
        elif isinstance(value, dict):
            documents.append(YamlDocument(index=index, line=line, data=value))
        else:
            problems.append(
                YamlProblem(
                    index=index,
                    line=line,
                    message=f"document {index + 1} is {_describe_shape(value)}, expected a mapping "
                    "(an entity with apiVersion, kind, metadata)",
                )
            )
    return YamlLoad(documents=documents, problems=problems)


def load_single_value(
    data: bytes | str,
    *,
    max_bytes: int = DEFAULT_MAX_BYTES,
    max_nodes: int = DEFAULT_MAX_NODES,
    max_depth: int = DEFAULT_MAX_DEPTH,
) -> Any:
    """Load content holding exactly one YAML document, of any shape."""
    loaded = _load_stream(data, max_bytes=max_bytes, max_nodes=max_nodes, max_depth=max_depth)
    if len(loaded) != 1:
        raise YamlError(f"expected exactly one YAML document, found {len(loaded)}")
    _index, line, value, problem = loaded[0]
    if problem is not None:
        raise YamlError(problem, line=line)
    return value
