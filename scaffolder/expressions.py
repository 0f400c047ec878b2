"""``${{ ... }}`` expressions of Backstage templates, rendered in a Jinja2 sandbox.

Backstage renders template inputs and skeleton files with nunjucks configured with
``${{`` / ``}}`` as the variable markers (blocks stay ``{% %}``, comments ``{# #}``);
``cookiecutterCompat`` switches skeleton files to ``{{ }}`` with the values under
``cookiecutter``. We follow the same syntax with Jinja2's ImmutableSandboxedEnvironment.

Public API::

    engine = ExpressionEngine(max_output=1_000_000)
    engine.render_value(value, context)     # nested str/list/dict; typed results, see below
    engine.render_string(text, context, cookiecutter=False, trim_blocks=False, lstrip_blocks=False)
    engine.evaluate_condition(step_if, context) -> bool
    is_truthy(value) -> bool
    parse_repo_url(url) -> dict, parse_entity_ref(ref, context=None) -> dict, pick(obj, path),
    project_slug(url) -> str, dump(value, indent=None) -> str      (also exposed as filters)

Rules copied from Backstage's workflow runner:
- a string that is exactly one ``${{ expr }}`` keeps the JSON type of the result
  (numbers, booleans, lists, objects); anything else renders to a string;
- a result that renders to the empty string (or an undefined value) is "undefined":
  the key is dropped from objects (None elsewhere);
- undefined lookups (``parameters.missing.deeper``) never fail, they are empty;
- ``if`` is false when it is the boolean ``false`` or when its rendered value is falsy in the
  JavaScript sense (``false``, ``null``, ``0``, ``""``, ``[]``); a literal string ``"false"`` is
  truthy, as in Backstage;
- object literals accept bare keys (``{ defaultKind: "group" }``), as nunjucks does.

Anything the sandbox refuses (private attributes, unsafe calls, oversized results) and any
error inside an expression raises ExpressionError with the offending text.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable, Iterable, Mapping
from functools import wraps
from typing import Any
from urllib.parse import parse_qs, urlsplit

from jinja2 import ChainableUndefined, TemplateError, TemplateSyntaxError, Undefined, nodes
from jinja2.compiler import CodeGenerator, Frame
from jinja2.environment import Template, TemplateExpression
from jinja2.exceptions import SecurityError
from jinja2.sandbox import ImmutableSandboxedEnvironment

__all__ = [
    "ExpressionEngine",
    "ExpressionError",
    "dump",
    "is_truthy",
    "parse_entity_ref",
    "parse_repo_url",
    "pick",
    "project_slug",
]

DEFAULT_MAX_OUTPUT = 1_000_000
_SNIPPET = 120


class ExpressionError(Exception):
    """An expression could not be rendered; the message says which and why."""

    def __init__(self, message: str, source: str | None = None) -> None:
        if source is not None:
            snippet = source if len(source) <= _SNIPPET else source[:_SNIPPET] + "..."
            message = f"{message} (in {snippet!r})"
        super().__init__(message)
        self.source = source


class FilterArgumentError(ValueError):
    """A template filter was given a value it cannot work with."""


# --------------------------------------------------------------------------------------------------
# Filters
# --------------------------------------------------------------------------------------------------

_HOST_RE = re.compile(r"^[A-Za-z0-9.-]+(:[0-9]{1,5})?$")


def parse_repo_url(url: Any) -> dict[str, str]:
    """Split a RepoUrlPicker value ``host?owner=o&repo=r`` into its parts.

    Returns the keys that are present among host, owner, repo, organization, workspace,
    project. ``repo`` is required; ``owner`` is required unless the URL names a
    ``workspace`` or ``project`` (Bitbucket and Azure style).
    """
    if not isinstance(url, str) or not url.strip():
        raise FilterArgumentError(f"parseRepoUrl expects a text like 'github.com?owner=o&repo=r', got {url!r}")
    parts = urlsplit("https://" + url.strip())
    host = parts.netloc
    if not host or not _HOST_RE.match(host) or parts.path not in ("", "/"):
        raise FilterArgumentError(f"invalid repository URL {url!r}: expected 'host?owner=o&repo=r'")
    query = parse_qs(parts.query, keep_blank_values=False)
    result: dict[str, str] = {"host": host}
    for key in ("owner", "repo", "organization", "workspace", "project"):
        values = query.get(key)
        if values:
            result[key] = values[0]
    if "repo" not in result:
        raise FilterArgumentError(f"invalid repository URL {url!r}: missing repo")
    if "owner" not in result and "workspace" not in result and "project" not in result:
        raise FilterArgumentError(f"invalid repository URL {url!r}: missing owner")
    return result


def project_slug(url: Any) -> str:
    parsed = parse_repo_url(url)
    return f"{parsed.get('owner', '')}/{parsed['repo']}"


def parse_entity_ref(ref: Any, context: Mapping[str, Any] | None = None, **options: Any) -> dict[str, str]:
    """``[kind:][namespace/]name`` -> {kind, namespace, name}.

    ``context`` (or keyword options) may give ``defaultKind`` and ``defaultNamespace``;
    the namespace defaults to ``default``; a missing kind without a default is an error.
    """
    settings: dict[str, Any] = dict(context or {})
    settings.update(options)
    if isinstance(ref, Mapping):
        ref_kind, ref_ns, name = ref.get("kind"), ref.get("namespace"), ref.get("name")
    elif isinstance(ref, str) and ref.strip():
        text = ref.strip()
        ref_kind = ref_ns = None
        if ":" in text:
            ref_kind, text = text.split(":", 1)
        if "/" in text:
            ref_ns, text = text.split("/", 1)
        name = text
    else:
        raise FilterArgumentError(f"parseEntityRef expects an entity reference like 'group:default/team', got {ref!r}")
    kind = ref_kind or settings.get("defaultKind")
    namespace = ref_ns or settings.get("defaultNamespace") or "default"
    if not kind:
        raise FilterArgumentError(f"entity reference {ref!r} has no kind and no defaultKind was given")
    if not name or not isinstance(name, str) or "/" in name or ":" in name:
        raise FilterArgumentError(f"entity reference {ref!r} has a missing or malformed name")
    return {"kind": str(kind), "namespace": str(namespace), "name": name}


def pick(obj: Any, path: Any) -> Any:
    """``obj | pick('a.b')``: the value at a dotted path, or undefined when absent."""
    current = obj
    for part in str(path).split("."):
        if isinstance(current, Mapping) and part in current:
            current = current[part]
        elif isinstance(current, list) and part.isdigit() and int(part) < len(current):
            current = current[int(part)]
        else:
            return None
    return current


def dump(value: Any, indent: int | None = None) -> str:
    """JSON text of a value, as nunjucks' ``dump`` (JSON.stringify) gives it."""
    if _is_undefined(value):
        return ""
    if indent is not None and (not isinstance(indent, int) or not 0 <= indent <= 16):
        raise FilterArgumentError("dump indent must be a number between 0 and 16")
    separators = (",", ":") if indent is None else (",", ": ")
    return json.dumps(_to_json(value), ensure_ascii=False, indent=indent, separators=separators)


# --------------------------------------------------------------------------------------------------
# Undefined values and JSON conversion
# --------------------------------------------------------------------------------------------------


class _LenientUndefined(ChainableUndefined):
    """Missing values chain silently and concatenate as empty text (nunjucks is as lenient)."""

    __slots__ = ()

    def __add__(self, other: Any) -> Any:
        if isinstance(other, str):
            return other
        return super().__add__(other)

    def __radd__(self, other: Any) -> Any:
        if isinstance(other, str):
            return other
        return super().__radd__(other)


_MISSING = object()


def _is_undefined(value: Any) -> bool:
    return isinstance(value, Undefined) or value is _MISSING


def _to_json(value: Any) -> Any:
    """Plain JSON data from a rendered value; undefined parts become None (dropped in objects)."""
    if value is None or isinstance(value, bool | int | float):
        if isinstance(value, float) and not math.isfinite(value):
            return None
        return value
    if isinstance(value, str):
        return str(value)
    if _is_undefined(value):
        return None
    if isinstance(value, Mapping):
        return {str(k): _to_json(v) for k, v in value.items() if not _is_undefined(v)}
    if isinstance(value, list | tuple | range | set | frozenset):
        return [_to_json(v) for v in value]
    return str(value)


def is_truthy(value: Any) -> bool:
    """JavaScript truthiness as Backstage applies it to ``if``: empty lists are false, objects true."""
    if value is None or _is_undefined(value):
        return False
    if isinstance(value, list | tuple):
        return len(value) > 0
    if isinstance(value, Mapping):
        return True
    if isinstance(value, float) and math.isnan(value):
        return False
    return bool(value)


# --------------------------------------------------------------------------------------------------
# The sandbox
# --------------------------------------------------------------------------------------------------

# printf-style or format-spec widths big enough to build huge strings
_FORMAT_WIDTH_RE = re.compile(r"[0-9]{6,}")
_SIZE_CHECKED_FILTERS = {"center", "indent", "wordwrap", "truncate", "batch", "slice", "join", "replace", "format"}


class _BoundedCodeGenerator(CodeGenerator):
    """Route ``~`` concatenation through the environment so its size can be checked."""

    def visit_Concat(self, node: nodes.Concat, frame: Frame) -> None:
        self.write("environment.bounded_concat((")
        for arg in node.nodes:
            self.visit(arg, frame)
            self.write(", ")
        self.write("))")


class _Sandbox(ImmutableSandboxedEnvironment):
    code_generator_class = _BoundedCodeGenerator
    intercepted_binops = frozenset({"*", "**", "+", "%"})

    def __init__(self, max_output: int, **options: Any) -> None:
        super().__init__(
            undefined=_LenientUndefined,
            autoescape=False,
            keep_trailing_newline=True,
            cache_size=0,
            **options,
        )
        self.max_output = max_output
        # lipsum builds text on demand; namespace lets loops grow state without bound.
        for name in ("lipsum", "namespace"):
            self.globals.pop(name, None)
        for name, function in list(self.filters.items()):
            self.filters[name] = self._bounded_filter(name, function)
        self.filters.update(
            {
                "parseRepoUrl": self._guard(parse_repo_url, "parseRepoUrl"),
                "parseEntityRef": self._guard(parse_entity_ref, "parseEntityRef"),
                "pick": self._guard(pick, "pick"),
                "projectSlug": self._guard(project_slug, "projectSlug"),
                "dump": self._guard(dump, "dump"),
                "jsonify": self._guard(dump, "jsonify"),
            }
        )

    # parse: nunjucks reads `{ key: value }` keys as literal names ----------------------------------
    def _parse(self, source: str, name: str | None, filename: str | None) -> nodes.Template:
        tree = super()._parse(source, name, filename)
        for pair in tree.find_all(nodes.Pair):
            if isinstance(pair.key, nodes.Name):
                pair.key = nodes.Const(pair.key.name, lineno=pair.key.lineno)
        return tree

    # refusals -----------------------------------------------------------------------------------
    def unsafe_undefined(self, obj: Any, attribute: str) -> Any:
        raise SecurityError(f"access to attribute {attribute!r} of a {type(obj).__name__} value is not allowed")

    def _check_size(self, value: Any, what: str) -> Any:
        if isinstance(value, str | list | tuple) and len(value) > self.max_output:
            raise SecurityError(f"{what} would produce {len(value)} items, over the limit of {self.max_output}")
        return value

    def _refuse_big(self, size: int, what: str) -> None:
        if size > self.max_output:
            raise SecurityError(f"{what} would produce about {size} characters, over the limit of {self.max_output}")

    def bounded_concat(self, parts: Iterable[Any]) -> str:
        pieces = [str(p) for p in parts]
        self._refuse_big(sum(len(p) for p in pieces), "concatenation")
        return "".join(pieces)

    def call_binop(self, context: Any, operator: str, left: Any, right: Any) -> Any:
        if operator == "*":
            for seq, count in ((left, right), (right, left)):
                if isinstance(seq, str | list | tuple) and isinstance(count, int):
                    self._refuse_big(len(seq) * max(count, 0), "repetition")
        elif operator == "**":
            if isinstance(left, int | float) and isinstance(right, int | float) and abs(left) > 1 and right > 0:
                if right * math.log2(abs(left)) > 100_000:
                    raise SecurityError("power result is too large")
        elif operator == "+":
            if isinstance(left, str | list | tuple) and isinstance(right, str | list | tuple):
                self._refuse_big(len(left) + len(right), "concatenation")
        elif operator == "%" and isinstance(left, str) and _FORMAT_WIDTH_RE.search(left):
            raise SecurityError("format widths of that size are not allowed")
        result = super().call_binop(context, operator, left, right)
        return self._check_size(result, f"operator {operator!r}")

    def call(__self, __context: Any, __obj: Any, *args: Any, **kwargs: Any) -> Any:  # noqa: N805
        owner = getattr(getattr(__obj, "__wrapped__", __obj), "__self__", None)
        name = getattr(__obj, "__name__", "")
        if isinstance(owner, str):
            __self._check_str_method(owner, name, args)
        result = super().call(__context, __obj, *args, **kwargs)
        return __self._check_size(result, f"call of {name or 'function'}")

    def _check_str_method(self, text: str, name: str, args: tuple[Any, ...]) -> None:
        if name in ("center", "ljust", "rjust", "zfill") and args and isinstance(args[0], int):
            self._refuse_big(args[0], f"str.{name}")
        elif name == "expandtabs":
            tab = args[0] if args and isinstance(args[0], int) else 8
            self._refuse_big(len(text) * max(tab, 1), "str.expandtabs")
        elif name in ("format", "format_map") and _FORMAT_WIDTH_RE.search(text):
            raise SecurityError("format widths of that size are not allowed")
        elif name == "join" and args and hasattr(args[0], "__len__"):
            self._refuse_big(len(text) * len(args[0]), "str.join")
        elif name == "replace" and len(args) >= 2 and isinstance(args[0], str) and isinstance(args[1], str):
            self._refuse_big(_replace_size(text, args[0], args[1]), "str.replace")

    def _bounded_filter(self, name: str, function: Callable[..., Any]) -> Callable[..., Any]:
        pass_arg = getattr(function, "jinja_pass_arg", None)
        skip = 1 if pass_arg is not None else 0

        @wraps(function)
        def bounded(*args: Any, **kwargs: Any) -> Any:
            if name in _SIZE_CHECKED_FILTERS:
                self._check_filter_arguments(name, args[skip:], kwargs)
            result = function(*args, **kwargs)
            return self._check_size(result, f"filter {name!r}")

        return bounded

    def _check_filter_arguments(self, name: str, args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
        value = args[0] if args else ""
        rest = list(args[1:]) + list(kwargs.values())
        for extra in rest:
            if isinstance(extra, int) and not isinstance(extra, bool) and extra > self.max_output:
                raise SecurityError(f"argument {extra} of filter {name!r} is too large")
        if name == "join" and hasattr(value, "__len__") and rest and isinstance(rest[0], str):
            self._refuse_big(len(value) * len(rest[0]), "filter 'join'")
        elif name == "replace" and isinstance(value, str) and len(rest) >= 2:
            self._refuse_big(_replace_size(value, str(rest[0]), str(rest[1])), "filter 'replace'")
        elif name == "format" and isinstance(value, str) and _FORMAT_WIDTH_RE.search(value):
            raise SecurityError("format widths of that size are not allowed")
        elif name == "indent" and isinstance(value, str) and rest:
            width = rest[0] if isinstance(rest[0], int) else len(str(rest[0]))
            self._refuse_big(len(value) + (value.count("\n") + 1) * width, "filter 'indent'")

    @staticmethod
    def _guard(function: Callable[..., Any], name: str) -> Callable[..., Any]:
        @wraps(function)
        def guarded(*args: Any, **kwargs: Any) -> Any:
            try:
                return function(*args, **kwargs)
            except FilterArgumentError as exc:
                raise ExpressionError(f"{name}: {exc}") from None

        return guarded


def _replace_size(text: str, old: str, new: str) -> int:
    count = len(text) + 1 if old == "" else text.count(old)
    return len(text) + count * max(0, len(new) - len(old))


# --------------------------------------------------------------------------------------------------
# The engine
# --------------------------------------------------------------------------------------------------


class ExpressionEngine:
    """Renders template values and skeleton text; holds compiled environments, no task state."""

    def __init__(self, max_output: int = DEFAULT_MAX_OUTPUT) -> None:
        self.max_output = max_output
        self._environments: dict[tuple[bool, bool, bool], _Sandbox] = {}

    def environment(
        self, cookiecutter: bool = False, trim_blocks: bool = False, lstrip_blocks: bool = False
    ) -> _Sandbox:
        key = (cookiecutter, trim_blocks, lstrip_blocks)
        env = self._environments.get(key)
        if env is None:
            markers = {} if cookiecutter else {"variable_start_string": "${{", "variable_end_string": "}}"}
            env = _Sandbox(self.max_output, trim_blocks=trim_blocks, lstrip_blocks=lstrip_blocks, **markers)
            self._environments[key] = env
        return env

    # text ---------------------------------------------------------------------------------------
    def render_string(
        self,
        source: str,
        context: Mapping[str, Any],
        *,
        cookiecutter: bool = False,
        trim_blocks: bool = False,
        lstrip_blocks: bool = False,
    ) -> str:
        """Render text (a skeleton file, a file name, a mixed input string) to text."""
        env = self.environment(cookiecutter, trim_blocks, lstrip_blocks)
        if not _might_be_template(source, cookiecutter):
            return source
        template = self._compile(env, source)
        produced = 0
        chunks: list[str] = []
        try:
            for chunk in template.generate(dict(context)):
                produced += len(chunk)
                if produced > self.max_output:
                    raise ExpressionError(f"rendered text is over the limit of {self.max_output} characters", source)
                chunks.append(chunk)
        except ExpressionError:
            raise
        except Exception as exc:  # noqa: BLE001 - every failure inside a template becomes one error type
            raise _as_expression_error(exc, source) from None
        return "".join(chunks)

    # values -------------------------------------------------------------------------------------
    def render_value(self, value: Any, context: Mapping[str, Any]) -> Any:
        """Render every string inside ``value``; see the module docstring for typing rules."""
        result = self._render_any(value, context)
        return None if result is _MISSING else result

    def _render_any(self, value: Any, context: Mapping[str, Any]) -> Any:
        if isinstance(value, str):
            return self._render_scalar(value, context)
        if isinstance(value, Mapping):
            rendered: dict[str, Any] = {}
            for key, item in value.items():
                out = self._render_any(item, context)
                if out is not _MISSING:
                    rendered[str(key)] = out
            return rendered
        if isinstance(value, list | tuple):
            return [None if (out := self._render_any(item, context)) is _MISSING else out for item in value]
        return value

    def _render_scalar(self, source: str, context: Mapping[str, Any]) -> Any:
        if "${{" not in source and "{%" not in source and "{#" not in source:
            return source if source != "" else _MISSING
        env = self.environment()
        expression = self._single_expression(env, source)
        if expression is not None:
            try:
                raw = expression(**dict(context))
            except Exception as exc:  # noqa: BLE001
                raise _as_expression_error(exc, source) from None
            if _is_undefined(raw) or raw == "":
                return _MISSING
            data = _to_json(raw)
            self._check_json_size(data, source)
            return data
        text = self.render_string(source, context)
        return text if text != "" else _MISSING

    def _check_json_size(self, data: Any, source: str) -> None:
        if isinstance(data, str | list | dict) and len(json.dumps(data, ensure_ascii=False)) > self.max_output:
            raise ExpressionError(f"expression result is over the limit of {self.max_output} characters", source)

    def _single_expression(self, env: _Sandbox, source: str) -> TemplateExpression | None:
        """A compiled expression when ``source`` is exactly one ``${{ ... }}``, else None."""
        if not (source.startswith("${{") and source.endswith("}}")):
            return None
        try:
            tree = env.parse(source)
        except Exception as exc:  # noqa: BLE001
            raise _as_expression_error(exc, source) from None
        if len(tree.body) != 1 or not isinstance(tree.body[0], nodes.Output):
            return None
        outputs = tree.body[0].nodes
        if len(outputs) != 1 or isinstance(outputs[0], nodes.TemplateData):
            return None
        body = [nodes.Assign(nodes.Name("result", "store"), outputs[0], lineno=1)]
        try:
            template = env.from_string(nodes.Template(body, lineno=1))
        except Exception as exc:  # noqa: BLE001
            raise _as_expression_error(exc, source) from None
        return TemplateExpression(template, undefined_to_none=False)

    # conditions ---------------------------------------------------------------------------------
    def evaluate_condition(self, condition: Any, context: Mapping[str, Any]) -> bool:
        """Backstage's ``if``: booleans as they are, strings rendered then judged by is_truthy."""
        if condition is None:
            return True
        if isinstance(condition, bool):
            return condition
        if isinstance(condition, str):
            return is_truthy(self.render_value(condition, context))
        return is_truthy(condition)

    # helpers ------------------------------------------------------------------------------------
    def _compile(self, env: _Sandbox, source: str) -> Template:
        try:
            return env.from_string(source)
        except Exception as exc:  # noqa: BLE001
            raise _as_expression_error(exc, source) from None


def _might_be_template(source: str, cookiecutter: bool) -> bool:
    start = "{{" if cookiecutter else "${{"
    return start in source or "{%" in source or "{#" in source


def _as_expression_error(exc: BaseException, source: str) -> ExpressionError:
    if isinstance(exc, ExpressionError):
        return ExpressionError(str(exc).split(" (in ")[0], source)
    if isinstance(exc, SecurityError):
        return ExpressionError(f"not allowed: {exc}", source)
    if isinstance(exc, TemplateSyntaxError):
        return ExpressionError(f"syntax error on line {exc.lineno}: {exc.message}", source)
    if isinstance(exc, TemplateError):
        return ExpressionError(f"template error: {exc.message or exc}", source)
    if isinstance(exc, OverflowError | MemoryError | RecursionError):
        return ExpressionError(f"expression is too expensive: {exc}", source)
    return ExpressionError(f"expression failed: {type(exc).__name__}: {exc}", source)
