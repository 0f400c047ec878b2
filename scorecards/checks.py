"""Scorecard checks: small declarative tests over what we know about one entity.

A *check* is a plain dict stored in the database (a JSON field on a rule)::

    {"type": "field_present", "path": "spec.lifecycle"}
    {"type": "field_matches", "path": "metadata.name", "pattern": "^[a-z][a-z0-9-]*$"}
    {"type": "dora_threshold", "figure": "lead_time_hours", "operator": "<", "value": 24}

Public API
----------
``validate_check(check) -> list[str]``
    Every problem with a check definition, as messages fit for an admin form
    (each starts with the offending parameter). An empty list means valid.
``evaluate(check, subject: EntityFacts) -> CheckResult``
    Runs a valid check. Raises ``CheckError`` (with ``.messages``) when the
    definition is invalid, so a broken rule is reported as broken rather than
    as a failure of every entity.
``EntityFacts``
    What a check may look at: the entity envelope, its relations, which group
    refs exist, the latest TechDocs build and the entity's DORA figures.
``CheckResult(passed, observed, message)``
    ``observed`` is JSON-able (large values are cut to a short preview).
``prepare(check) -> (EntityFacts -> CheckResult)``
    Validates once and returns a function running the check (what evaluations use).
``expression_inputs(expression)``
    The root field paths a JMESPath expression reads (None when it reads more), so
    entities with equal values there can share one result.
``parse_path(path) -> tuple[str | int, ...]`` and ``resolve_path(data, parts)``
    The field path syntax below, also usable by other modules; ``resolve_path``
    returns the ``MISSING`` sentinel when a step is absent.
``CHECK_TYPES``
    The check type names, in a stable order, for admin choice lists.

Check types and their parameters
--------------------------------
==================  ===================================================================
``field_present``   ``path``. Passes when the value exists and is not null, an empty or
                    blank string, an empty list or an empty object.
``field_equals``    ``path``, ``value`` (any JSON value; ``true`` never equals ``1``).
``field_matches``   ``path``, ``pattern`` (Python regex, ``re.search``: anchor it with
                    ``^...$`` for a whole-value match). The value must be a string of at
                    most ``MAX_MATCH_SUBJECT`` characters: Python regexes backtrack, so a
                    length cap bounds the cost of a pathological pattern.
``field_in``        ``path``, ``values`` (non-empty list of JSON scalars).
``annotation_present``  ``key``: ``metadata.annotations[key]`` is a non-blank string.
``relation_exists`` ``relation`` (e.g. ``ownedBy``), ``min_count`` (integer >= 1, default 1).
``owner_is_group``  No parameters. ``spec.owner`` resolves (Backstage rules: default
                    kind Group, default namespace the entity's) to an existing Group.
``techdocs_built``  No parameters. The latest build succeeded with zero errors.
``dora_threshold``  ``figure`` (one of ``DORA_FIGURES``), ``operator`` (``<``, ``<=``,
                    ``>``, ``>=``), ``value`` (number). A figure with no data fails with
                    observed ``None`` and the message "no data ...".
``expression``      ``expression`` (JMESPath over the entity JSON with ``relations``
                    added), optional ``equals``. Without ``equals`` it passes when the
                    result is truthy in JMESPath terms (``false``, ``null``, ``""``,
                    ``[]`` and ``{}`` are false; every number, including 0, is true).
==================  ===================================================================

Field path syntax
-----------------
A path is a sequence of steps from the entity envelope::

    spec.lifecycle
    metadata.annotations["backstage.io/techdocs-ref"]
    metadata.annotations['github.com/project-slug']
    metadata.tags[0]
    spec.profile.displayName

* ``.name`` steps into an object key made of letters, digits, ``_``, ``-`` and ``$``;
* ``["any key"]`` (or single quotes) steps into an object key that contains dots,
  slashes or anything else; inside quotes, ``\\"``, ``\\'`` and ``\\\\`` are escapes;
* ``[N]`` (digits only) steps into position N of a list.

The path must start with a name or a bracketed key and be at most ``MAX_PATH_LENGTH``
characters.
"""

from __future__ import annotations

import functools
import json
import math
import re
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import jmespath
import jmespath.functions
from jmespath import exceptions as jmespath_errors

from scorecards.dora import DORA_FIGURES

MAX_PATH_LENGTH = 500
MAX_PATTERN_LENGTH = 1_000
MAX_MATCH_SUBJECT = 10_000
MAX_EXPRESSION_LENGTH = 2_000
MAX_OBSERVED_JSON = 2_000
THRESHOLD_OPERATORS = ("<", "<=", ">", ">=")


class CheckError(ValueError):
    """A check definition is invalid; ``messages`` lists every problem."""

    def __init__(self, messages: Sequence[str]):
        self.messages = list(messages)
        super().__init__("; ".join(self.messages))


class PathError(ValueError):
    """A field path does not follow the documented syntax."""


@dataclass(frozen=True)
class CheckResult:
    passed: bool
    observed: Any
    message: str


@dataclass
class EntityFacts:
    """Everything a check may look at for one entity.

    ``existing_group_refs`` is either a callable ``ref -> bool`` or a collection of
    refs; it is always asked with a lowercase ``group:namespace/name`` ref, so a
    collection must hold lowercase refs (as the catalog stores them).
    ``techdocs`` is ``None`` (never built) or ``{"built": bool, "errors": int}``.
    ``dora`` maps figure names (``DORA_FIGURES``) to a number or ``None``.
    """

    entity: Mapping[str, Any]
    relations: Sequence[Mapping[str, Any]] = ()
    existing_group_refs: Callable[[str], bool] | Collection[str] = frozenset()
    techdocs: Mapping[str, Any] | None = None
    dora: Mapping[str, float | None] = field(default_factory=dict)

    def group_exists(self, ref: str) -> bool:
        if callable(self.existing_group_refs):
            return bool(self.existing_group_refs(ref))
        return ref in self.existing_group_refs


# ---------------------------------------------------------------- field paths

_NAME_CHARS = re.compile(r"[A-Za-z0-9_$-]+")
_PATH_HINT = 'use brackets for keys with other characters, e.g. metadata.annotations["backstage.io/techdocs-ref"]'


def parse_path(path: str) -> tuple[str | int, ...]:
    """Split a field path into keys (str) and list positions (int); raise PathError."""
    if not isinstance(path, str):
        raise PathError("path must be a string")
    return _parse_path(path)


@functools.lru_cache(maxsize=1024)
def _parse_path(path: str) -> tuple[str | int, ...]:
    # Cached: checks run once per entity and a catalog has few distinct paths.
    if not path:
        raise PathError("path is empty")
    if len(path) > MAX_PATH_LENGTH:
        raise PathError(f"path is longer than {MAX_PATH_LENGTH} characters")
    steps: list[str | int] = []
    position = 0
    expect_name = True  # at the start a bare name is allowed without a dot
    while position < len(path):
        char = path[position]
        if char == "[":
            step, position = _parse_bracket(path, position)
            steps.append(step)
            expect_name = False
        elif char == "." and not expect_name:
            position += 1
            if position >= len(path):
                raise PathError("path ends with '.'; a key must follow it")
            name = _NAME_CHARS.match(path, position)
            if name is None:
                raise PathError(f"expected a key after '.' at position {position}; {_PATH_HINT}")
            steps.append(name.group())
            position = name.end()
        elif expect_name:
            name = _NAME_CHARS.match(path, position)
            if name is None:
                raise PathError(f"unexpected character {char!r} at position {position}; {_PATH_HINT}")
            steps.append(name.group())
            position = name.end()
            expect_name = False
        else:
            raise PathError(f"unexpected character {char!r} at position {position}; {_PATH_HINT}")
    return tuple(steps)


def _parse_bracket(path: str, position: int) -> tuple[str | int, int]:
    start = position
    position += 1
    if position >= len(path):
        raise PathError(f"unclosed '[' at position {start}")
    quote = path[position]
    if quote in "\"'":
        position += 1
        chars: list[str] = []
        while True:
            if position >= len(path):
                raise PathError(f"unclosed quoted key starting at position {start}")
            char = path[position]
            if char == "\\":
                if position + 1 >= len(path) or path[position + 1] not in "\"'\\":
                    raise PathError(f"unknown escape at position {position}; only \\\", \\' and \\\\")
                chars.append(path[position + 1])
                position += 2
            elif char == quote:
                position += 1
                break
            else:
                chars.append(char)
                position += 1
        if position >= len(path) or path[position] != "]":
            raise PathError(f"expected ']' after the quoted key at position {position}")
        if not chars:
            raise PathError(f"empty key in brackets at position {start}")
        return "".join(chars), position + 1
    end = path.find("]", position)
    if end == -1:
        raise PathError(f"unclosed '[' at position {start}")
    inside = path[position:end]
    if not inside.isascii() or not inside.isdigit():
        raise PathError(f"brackets at position {start} must hold a quoted key or a list position, got {inside!r}")
    return int(inside), end + 1


_MISSING = object()


def resolve_path(data: Any, steps: Sequence[str | int]) -> Any:
    """Follow ``steps`` into ``data``; return the value or ``MISSING`` if any step is absent."""
    current = data
    for step in steps:
        if step.__class__ is int:
            if not isinstance(current, list) or step >= len(current):
                return _MISSING
            current = current[step]
        else:
            # dict first: the abstract Mapping check is slow, and this runs for every rule and entity.
            if current.__class__ is not dict and not isinstance(current, Mapping):
                return _MISSING
            current = current.get(step, _MISSING)
            if current is _MISSING:
                return _MISSING
    return current


MISSING = _MISSING


def _is_present(value: Any) -> bool:
    if value is _MISSING or value is None:
        return False
    if isinstance(value, str):
        return bool(value.strip())
    if isinstance(value, (list, dict, tuple)):
        return bool(value)
    return True


# ---------------------------------------------------------------- helpers


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def _is_json_scalar(value: Any) -> bool:
    return value is None or isinstance(value, (str, bool)) or _is_number(value)


def _is_json_value(value: Any, depth: int = 0) -> bool:
    if depth > 20:
        return False
    if _is_json_scalar(value):
        return True
    if isinstance(value, list):
        return all(_is_json_value(item, depth + 1) for item in value)
    if isinstance(value, dict):
        return all(isinstance(k, str) and _is_json_value(v, depth + 1) for k, v in value.items())
    return False


def json_equal(left: Any, right: Any) -> bool:
    """Equality with JSON types kept apart: ``true`` is not ``1``; ``1`` equals ``1.0``."""
    if isinstance(left, bool) or isinstance(right, bool):
        return isinstance(left, bool) and isinstance(right, bool) and left == right
    if _is_number(left) and _is_number(right):
        return left == right
    if isinstance(left, list) and isinstance(right, list):
        return len(left) == len(right) and all(json_equal(a, b) for a, b in zip(left, right, strict=True))
    if isinstance(left, dict) and isinstance(right, dict):
        return left.keys() == right.keys() and all(json_equal(left[k], right[k]) for k in left)
    return type(left) is type(right) and left == right


def _dump(value: Any) -> str | None:
    try:
        return json.dumps(value, sort_keys=True, default=str)
    except (TypeError, ValueError, RecursionError):
        return None


def _compact(value: Any) -> Any:
    """Keep observed values small enough to store with every result."""
    if value is _MISSING:
        return None
    text = _dump(value)
    if text is None:
        return "(value too deeply nested to show)"
    if len(text) <= MAX_OBSERVED_JSON:
        return value if _is_json_value(value) else json.loads(text)
    return text[: MAX_OBSERVED_JSON - 1] + "…"


def _show(value: Any) -> str:
    text = "missing" if value is _MISSING else (_dump(value) or "(too deeply nested)")
    return text if len(text) <= 80 else text[:79] + "…"


# ---------------------------------------------------------------- parameter validation

_Validator = Callable[[Any], "str | None"]


def _valid_path(value: Any) -> str | None:
    try:
        parse_path(value)
    except PathError as error:
        return str(error)
    return None


def _valid_pattern(value: Any) -> str | None:
    if not isinstance(value, str) or not value:
        return "must be a non-empty regular expression"
    if len(value) > MAX_PATTERN_LENGTH:
        return f"is longer than {MAX_PATTERN_LENGTH} characters"
    try:
        re.compile(value)
    except re.error as error:
        where = f" at position {error.pos}" if error.pos is not None else ""
        return f"is not a valid regular expression: {error.msg}{where}"
    except (RecursionError, OverflowError):
        return "is too complex to compile"
    return None


def _valid_json(value: Any) -> str | None:
    return None if _is_json_value(value) else "must be a JSON value (string, number, boolean, null, list, object)"


def _valid_values(value: Any) -> str | None:
    if not isinstance(value, list) or not value:
        return "must be a non-empty list"
    if not all(_is_json_scalar(item) for item in value):
        return "must hold only strings, numbers, booleans or null"
    return None


def _valid_key(value: Any) -> str | None:
    if not isinstance(value, str) or not value.strip():
        return "must be a non-empty string"
    if len(value) > 253 + 1 + 63:
        return "is too long for an annotation key"
    return None


def _valid_relation(value: Any) -> str | None:
    if not isinstance(value, str) or not re.fullmatch(r"[A-Za-z][A-Za-z0-9]*", value):
        return "must be a relation type such as ownedBy or dependsOn"
    return None


def _valid_min_count(value: Any) -> str | None:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        return "must be a whole number of at least 1"
    return None


def _valid_figure(value: Any) -> str | None:
    if value not in DORA_FIGURES:
        return "must be one of " + ", ".join(DORA_FIGURES)
    return None


def _valid_operator(value: Any) -> str | None:
    if value not in THRESHOLD_OPERATORS:
        return "must be one of " + " ".join(THRESHOLD_OPERATORS)
    return None


def _valid_number(value: Any) -> str | None:
    return None if _is_number(value) else "must be a finite number"


def _valid_expression(value: Any) -> str | None:
    if not isinstance(value, str) or not value.strip():
        return "must be a non-empty JMESPath expression"
    if len(value) > MAX_EXPRESSION_LENGTH:
        return f"is longer than {MAX_EXPRESSION_LENGTH} characters"
    try:
        compiled = jmespath.compile(value)
    except jmespath_errors.JMESPathError as error:
        return f"is not a valid JMESPath expression: {_jmespath_message(error)}"
    except RecursionError:
        return "is nested too deeply"
    return _function_problem(compiled.parsed)


_JMESPATH_FUNCTIONS = jmespath.functions.Functions().FUNCTION_TABLE


def _function_problem(tree: Mapping[str, Any]) -> str | None:
    """Unknown functions and wrong argument counts, which jmespath only reports when run."""
    pending = [tree]
    while pending:
        node = pending.pop()
        if node.get("type") == "function_expression":
            name, arguments = node.get("value"), node.get("children", [])
            if name not in _JMESPATH_FUNCTIONS:
                return f"is not a valid JMESPath expression: unknown function {name}()"
            signature = _JMESPATH_FUNCTIONS[name]["signature"]
            variadic = bool(signature) and bool(signature[-1].get("variadic"))
            if (variadic and len(arguments) < len(signature)) or (not variadic and len(arguments) != len(signature)):
                wanted = f"at least {len(signature)}" if variadic else str(len(signature))
                return f"is not a valid JMESPath expression: {name}() takes {wanted} argument(s), got {len(arguments)}"
        pending.extend(child for child in node.get("children", []) if isinstance(child, dict))
    return None


def _jmespath_message(error: Exception) -> str:
    """One short line from a jmespath error (their str() draws a caret over several lines)."""
    if isinstance(error, jmespath_errors.IncompleteExpressionError):
        return "the expression ends too early"
    if isinstance(error, jmespath_errors.LexerError):
        return f"{error.message} at position {error.lexer_position}"
    if isinstance(error, jmespath_errors.ParseError):
        token = f" {error.token_value!r}" if error.token_value is not None else ""
        detail = "unexpected token" if error.msg.startswith("Unexpected token") else error.msg
        return f"{detail}{token} at position {error.lex_position}"
    lines = [line.strip() for line in str(error).splitlines() if line.strip()]
    text = lines[0] if lines else type(error).__name__
    # Type errors quote the offending value, which may be a whole entity.
    return text if len(text) <= 300 else text[:299] + "…"


# ---------------------------------------------------------------- check types


@dataclass(frozen=True)
class _CheckType:
    required: Mapping[str, _Validator]
    optional: Mapping[str, _Validator]
    run: Callable[[Mapping[str, Any], EntityFacts], CheckResult]


def _field(check: Mapping[str, Any], facts: EntityFacts) -> tuple[str, Any]:
    path = check["path"]
    return path, resolve_path(facts.entity, parse_path(path))


def _run_field_present(check: Mapping[str, Any], facts: EntityFacts) -> CheckResult:
    path, value = _field(check, facts)
    if _is_present(value):
        return CheckResult(True, _compact(value), f"{path} is set")
    reason = "missing" if value is _MISSING or value is None else "empty"
    return CheckResult(False, _compact(value), f"{path} is {reason}")


def _run_field_equals(check: Mapping[str, Any], facts: EntityFacts) -> CheckResult:
    path, value = _field(check, facts)
    expected = check["value"]
    if value is not _MISSING and json_equal(value, expected):
        return CheckResult(True, _compact(value), f"{path} is {_show(expected)}")
    return CheckResult(False, _compact(value), f"{path} is {_show(value)}, expected {_show(expected)}")


def _run_field_matches(check: Mapping[str, Any], facts: EntityFacts) -> CheckResult:
    path, value = _field(check, facts)
    pattern = check["pattern"]
    if value is _MISSING or value is None:
        return CheckResult(False, None, f"{path} is missing")
    if not isinstance(value, str):
        return CheckResult(False, _compact(value), f"{path} is a {_json_type(value)}, not a string")
    if len(value) > MAX_MATCH_SUBJECT:
        return CheckResult(
            False,
            _compact(value),
            f"{path} is {len(value)} characters long; values over {MAX_MATCH_SUBJECT} are not matched",
        )
    if re.search(pattern, value):
        return CheckResult(True, value, f"{path} matches {pattern}")
    return CheckResult(False, _compact(value), f"{path} {_show(value)} does not match {pattern}")


def _run_field_in(check: Mapping[str, Any], facts: EntityFacts) -> CheckResult:
    path, value = _field(check, facts)
    allowed = check["values"]
    shown = ", ".join(_show(item) for item in allowed)
    if value is not _MISSING and any(json_equal(value, item) for item in allowed):
        return CheckResult(True, _compact(value), f"{path} is {_show(value)}, one of {shown}")
    return CheckResult(False, _compact(value), f"{path} is {_show(value)}, not one of {shown}")


def _run_annotation_present(check: Mapping[str, Any], facts: EntityFacts) -> CheckResult:
    key = check["key"]
    value = resolve_path(facts.entity, ("metadata", "annotations", key))
    if isinstance(value, str) and value.strip():
        return CheckResult(True, _compact(value), f"annotation {key} is set")
    if value is _MISSING:
        return CheckResult(False, None, f"annotation {key} is missing")
    return CheckResult(False, _compact(value), f"annotation {key} is empty or not a string")


def _run_relation_exists(check: Mapping[str, Any], facts: EntityFacts) -> CheckResult:
    relation = check["relation"]
    minimum = check.get("min_count", 1)
    relations = facts.relations if isinstance(facts.relations, Sequence) else ()
    count = sum(1 for item in relations if isinstance(item, Mapping) and item.get("type") == relation)
    noun = "relation" if count == 1 else "relations"
    if count >= minimum:
        return CheckResult(True, count, f"{count} {relation} {noun} (at least {minimum} needed)")
    return CheckResult(False, count, f"{count} {relation} {noun}, at least {minimum} needed")


def owner_group_ref(owner: Any, entity_namespace: str = "default") -> tuple[str | None, str]:
    """Resolve ``spec.owner`` the Backstage way; return (lowercase group ref or None, reason).

    ``team-a`` and ``group:team-a`` take the entity's namespace; ``group:ns/team-a`` is
    explicit; any other kind (``user:jdoe``) is not a group.
    """
    if not isinstance(owner, str) or not owner.strip():
        return None, "spec.owner is missing"
    text = owner.strip()
    kind, rest = text.split(":", 1) if ":" in text else ("group", text)
    if kind.lower() != "group":
        return None, f"spec.owner {text!r} is a {kind}, not a group"
    namespace, name = rest.split("/", 1) if "/" in rest else (entity_namespace, rest)
    if not namespace or not name or "/" in name or ":" in rest:
        return None, f"spec.owner {text!r} is not a valid entity reference"
    return f"group:{namespace}/{name}".lower(), ""


def _run_owner_is_group(check: Mapping[str, Any], facts: EntityFacts) -> CheckResult:
    owner = resolve_path(facts.entity, ("spec", "owner"))
    namespace = resolve_path(facts.entity, ("metadata", "namespace"))
    if not isinstance(namespace, str) or not namespace:
        namespace = "default"
    ref, reason = owner_group_ref(None if owner is _MISSING else owner, namespace)
    if ref is None:
        return CheckResult(False, _compact(owner), reason)
    if facts.group_exists(ref):
        return CheckResult(True, ref, f"owned by {ref}")
    return CheckResult(False, ref, f"owner {ref} is not a group in the catalog")


def _run_techdocs_built(check: Mapping[str, Any], facts: EntityFacts) -> CheckResult:
    build = facts.techdocs
    if not isinstance(build, Mapping):
        return CheckResult(False, None, "no TechDocs build recorded")
    built = build.get("built") is True
    errors = build.get("errors", 0)
    errors = errors if _is_number(errors) else 0
    observed = {"built": built, "errors": errors}
    if not built:
        return CheckResult(False, observed, "the latest TechDocs build failed")
    if errors:
        return CheckResult(False, observed, f"TechDocs built with {errors} error(s)")
    return CheckResult(True, observed, "TechDocs built without errors")


_COMPARE: Mapping[str, Callable[[float, float], bool]] = {
    "<": lambda a, b: a < b,
    "<=": lambda a, b: a <= b,
    ">": lambda a, b: a > b,
    ">=": lambda a, b: a >= b,
}


def _run_dora_threshold(check: Mapping[str, Any], facts: EntityFacts) -> CheckResult:
    figure, operator, limit = check["figure"], check["operator"], check["value"]
    value = facts.dora.get(figure) if isinstance(facts.dora, Mapping) else None
    if value is None:
        return CheckResult(False, None, f"no data for {figure}")
    if not _is_number(value):
        return CheckResult(False, _compact(value), f"{figure} is not a number")
    passed = _COMPARE[operator](value, limit)
    verdict = "" if passed else "not "
    return CheckResult(passed, value, f"{figure} is {value:g}, {verdict}{operator} {limit:g}")


def _run_expression(check: Mapping[str, Any], facts: EntityFacts) -> CheckResult:
    expression = check["expression"]
    document = dict(facts.entity) if isinstance(facts.entity, Mapping) else {}
    document["relations"] = [dict(item) for item in facts.relations if isinstance(item, Mapping)]
    try:
        result = _compiled_expression(expression).search(document)
    except jmespath_errors.JMESPathError as error:
        return CheckResult(False, None, f"expression error: {_jmespath_message(error)}")
    except RecursionError:
        return CheckResult(False, None, "expression error: the data is nested too deeply")
    if "equals" in check:
        expected = check["equals"]
        if json_equal(result, expected):
            return CheckResult(True, _compact(result), f"expression gives {_show(result)}")
        return CheckResult(False, _compact(result), f"expression gives {_show(result)}, expected {_show(expected)}")
    if _jmespath_truthy(result):
        return CheckResult(True, _compact(result), f"expression gives {_show(result)}")
    return CheckResult(False, _compact(result), f"expression gives {_show(result)}, which is false")


# Node types whose children are all evaluated against the same value as the node itself.
_SAME_CONTEXT_NODES = frozenset({
    "comparator", "or_expression", "and_expression", "not_expression", "function_expression",
    "multi_select_list", "multi_select_dict", "key_val_pair",
})
# Node types whose first child is evaluated against the node's value and the rest against its result.
_FIRST_CHILD_NODES = frozenset({
    "subexpression", "index_expression", "projection", "filter_projection", "value_projection", "pipe", "flatten",
})


@functools.lru_cache(maxsize=256)
def expression_inputs(expression: str) -> tuple[tuple[str, ...], ...] | None:
    """The field paths from the document root that a JMESPath expression reads, or None if unknown.

    The expression's result is then a function of the values at those paths alone, so entities
    with equal values there share a result. None when the expression reads the root as a whole
    (``@``, ``*``, ``keys(@)``) or uses something this analysis does not know.
    """
    try:
        tree = _compiled_expression(expression).parsed
    except (jmespath_errors.JMESPathError, RecursionError):
        return None
    found: set[tuple[str, ...]] = set()
    return tuple(sorted(found)) if _collect_inputs(tree, found, 0) else None


def _field_chain(node: Mapping[str, Any]) -> tuple[str, ...] | None:
    if node.get("type") == "field":
        return (node.get("value"),)
    if node.get("type") == "subexpression" and all(child.get("type") == "field" for child in node["children"]):
        return tuple(child.get("value") for child in node["children"])
    return None


def _collect_inputs(node: Mapping[str, Any], found: set[tuple[str, ...]], depth: int) -> bool:
    if depth > 100:
        return False
    kind = node.get("type")
    chain = _field_chain(node)
    if chain is not None:
        if not all(isinstance(name, str) for name in chain):
            return False
        found.add(chain)
        return True
    if kind in ("literal", "index", "slice"):
        return True
    if kind == "expref":
        # &expr is only applied to elements of another argument of its function, read already.
        return True
    children = node.get("children", [])
    if kind in _SAME_CONTEXT_NODES:
        return all(_collect_inputs(child, found, depth + 1) for child in children)
    if kind in _FIRST_CHILD_NODES:
        return bool(children) and _collect_inputs(children[0], found, depth + 1)
    return False  # "current"/"identity" at the root, or a node type we do not know


@functools.lru_cache(maxsize=256)
def _compiled_expression(expression: str):
    return jmespath.compile(expression)


def _jmespath_truthy(value: Any) -> bool:
    if value is None or value is False:
        return False
    if isinstance(value, (str, list, dict)):
        return bool(value)
    return True


def _json_type(value: Any) -> str:
    if isinstance(value, bool):
        return "boolean"
    if _is_number(value):
        return "number"
    if isinstance(value, list):
        return "list"
    if isinstance(value, Mapping):
        return "object"
    return type(value).__name__


_TYPES: Mapping[str, _CheckType] = {
    "field_present": _CheckType({"path": _valid_path}, {}, _run_field_present),
    "field_equals": _CheckType({"path": _valid_path, "value": _valid_json}, {}, _run_field_equals),
    "field_matches": _CheckType({"path": _valid_path, "pattern": _valid_pattern}, {}, _run_field_matches),
    "field_in": _CheckType({"path": _valid_path, "values": _valid_values}, {}, _run_field_in),
    "annotation_present": _CheckType({"key": _valid_key}, {}, _run_annotation_present),
    "relation_exists": _CheckType({"relation": _valid_relation}, {"min_count": _valid_min_count}, _run_relation_exists),
    "owner_is_group": _CheckType({}, {}, _run_owner_is_group),
    "techdocs_built": _CheckType({}, {}, _run_techdocs_built),
    "dora_threshold": _CheckType(
        {"figure": _valid_figure, "operator": _valid_operator, "value": _valid_number},
        {},
        _run_dora_threshold,
    ),
    "expression": _CheckType({"expression": _valid_expression}, {"equals": _valid_json}, _run_expression),
}

CHECK_TYPES: tuple[str, ...] = tuple(_TYPES)


def validate_check(check: Any) -> list[str]:
    """Return every problem with a check definition; an empty list means it is valid."""
    if not isinstance(check, Mapping):
        return ["check must be an object with a 'type'"]
    check_type = check.get("type")
    if not isinstance(check_type, str) or check_type not in _TYPES:
        return ["type: must be one of " + ", ".join(CHECK_TYPES)]
    spec = _TYPES[check_type]
    problems: list[str] = []
    for name, validator in spec.required.items():
        if name not in check:
            problems.append(f"{name}: is required for {check_type}")
            continue
        problem = validator(check[name])
        if problem:
            problems.append(f"{name}: {problem}")
    for name, validator in spec.optional.items():
        if name in check:
            problem = validator(check[name])
            if problem:
                problems.append(f"{name}: {problem}")
    known = {"type", *spec.required, *spec.optional}
    for name in check:
        if name not in known:
            allowed = ", ".join(sorted(known - {"type"})) or "none"
            problems.append(f"{name}: unknown parameter for {check_type} (allowed: {allowed})")
    return problems


def prepare(check: Mapping[str, Any]) -> Callable[[EntityFacts], CheckResult]:
    """Validate a check once and return a function running it; raise CheckError if it is invalid.

    An evaluation runs each rule over thousands of entities: validating (and parsing paths and
    expressions) once per rule rather than once per entity is most of the cost saved.
    """
    problems = validate_check(check)
    if problems:
        raise CheckError(problems)
    run = _TYPES[check["type"]].run
    frozen = dict(check)

    def run_check(subject: EntityFacts) -> CheckResult:
        try:
            return run(frozen, subject)
        except RecursionError:
            return CheckResult(False, None, "the entity data is nested too deeply to check")

    return run_check


def evaluate(check: Mapping[str, Any], subject: EntityFacts) -> CheckResult:
    """Run one check against one entity; raise CheckError if the check is invalid."""
    return prepare(check)(subject)
