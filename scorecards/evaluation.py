"""Evaluating scorecards: load what checks look at in batches, run them in Python, store what changed.

``evaluate(entity_ids=None)`` runs every scorecard over the catalog entities it applies to
(or over the given entities only) and stores, per entity, each rule's result and the level
reached. Guardrail policies (blocking rules) are applied on the way: an entity failing an
active blocking rule gets a policy error item in its catalog errors, and loses it when it
passes again.

Results are rewritten only when they change. Each (entity, scorecard) result keeps a digest
of its rule results and level; an entity whose digest is unchanged costs no read of its
rule results and no write, so a run over an unchanged catalog writes nothing. On PostgreSQL
the writes of a batch (COPY) happen in a writer thread while the next batch is checked.

``take_snapshots(day)`` records each scorecard's level counts and rule pass rates for the day.

Each batch needs a handful of queries: the entities (``values_list``), their relations, their
TechDocs status (when the techdocs app is installed), their stored levels and digests, and
the rule results of the entities whose digest changed; group refs and DORA figures are
loaded once per run.
"""

from __future__ import annotations

import hashlib
import json
import logging
import queue
import threading
import time
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime
from operator import itemgetter
from typing import Any, NamedTuple

from django.apps import apps
from django.core.cache import cache
from django.core.exceptions import FieldError
from django.db import connection, connections, transaction
from django.db.models import Count, Q, TextField
from django.db.models.functions import Cast
from django.utils import timezone

from catalog.models import Entity, Relation

from . import checks, conf, dora_queries, levels
from .models import Rule, RuleResult, Scorecard, ScorecardResult, ScorecardSnapshot

log = logging.getLogger(__name__)

POLICY_TYPE = "causeway.dev/policy"
RELATION_CHECKS = {"relation_exists", "expression"}


MEMO_LIMIT = 4096
MEMO_MAX_TEXT = 200
_NO_MEMO = object()
_MISSING_KEY = ("missing",)


def _freeze(value: Any) -> Any:
    """A dict key that tells apart every value a check could tell apart, or _NO_MEMO."""
    if value is checks.MISSING:
        return _MISSING_KEY
    kind = type(value)
    if kind is str:
        return value if len(value) <= MEMO_MAX_TEXT else _NO_MEMO
    if value is None or kind in (bool, int, float):
        return (kind, value)
    return _NO_MEMO


EXPRESSION_KEY_MAX = 1000


def _expression_key(facts: checks.EntityFacts, paths: tuple[tuple[str, ...], ...]) -> Any:
    """The JSON text of every value an expression reads (order kept: keys(...) sees it), or _NO_MEMO."""
    parts = []
    size = 0
    for path in paths:
        if path[0] == "relations":  # the expression's document has the entity's relations there
            value = checks.resolve_path({"relations": list(facts.relations)}, path)
        else:
            value = checks.resolve_path(facts.entity, path)
        if value is checks.MISSING:
            parts.append(None)
            continue
        try:
            text = json.dumps(value)
        except (TypeError, ValueError, RecursionError):
            return _NO_MEMO
        size += len(text)
        if size > EXPRESSION_KEY_MAX:
            return _NO_MEMO
        parts.append(text)
    return tuple(parts)


class Outcome(NamedTuple):  # a tuple: millions are made per run, and tuples are the cheapest to build
    """One check's result, ready to compare with what is stored and to write.

    ``observed_text`` is the observed value as the database gives it back as text (see
    ``observed_text``); ``line`` is the passed, observed and message columns in COPY text format,
    also the input of the per-entity digest.
    """

    passed: bool
    observed: Any
    observed_text: str | None
    message: str
    line: str
    keyed_line: str  # the rule's id, a tab, then ``line``: a digest's part


def make_outcome(rule_id: int, result: checks.CheckResult, postgres: bool) -> Outcome:
    text = observed_text(result.observed, postgres)
    line = "\t".join(("t" if result.passed else "f", _copy_value(text), _copy_value(result.message)))
    return Outcome(result.passed, result.observed, text, result.message, line, f"{rule_id}\t{line}")


@dataclass
class CompiledRule:
    """A valid rule, with a memo of results for checks that depend on one small value only.

    A field check's result is a function of the value at its path (the definition of those
    check types), so entities with the same value share one result: most catalogs repeat
    lifecycles, types, owners and annotation values across thousands of entities.
    """

    id: int
    key: str
    name: str
    check: dict
    status: str
    blocking: bool
    postgres: bool = False
    memo: dict = field(default_factory=dict)

    def __post_init__(self) -> None:
        self._check = checks.prepare(self.check)
        kind = self.check["type"]
        if kind in ("field_present", "field_equals", "field_matches", "field_in"):
            steps = checks.parse_path(self.check["path"])
            self._input = lambda facts: _freeze(checks.resolve_path(facts.entity, steps))
        elif kind == "annotation_present":
            steps = ("metadata", "annotations", self.check["key"])
            self._input = lambda facts: _freeze(checks.resolve_path(facts.entity, steps))
        elif kind == "owner_is_group":
            def owner_input(facts):
                owner = _freeze(checks.resolve_path(facts.entity, ("spec", "owner")))
                namespace = _freeze(checks.resolve_path(facts.entity, ("metadata", "namespace")))
                return _NO_MEMO if _NO_MEMO in (owner, namespace) else (owner, namespace)

            self._input = owner_input
        elif kind == "techdocs_built":
            def docs_input(facts):
                docs = facts.techdocs
                if docs is None:
                    return (None,)
                if isinstance(docs, dict) and set(docs) <= {"built", "errors"}:
                    return ("docs", _freeze(docs.get("built")), _freeze(docs.get("errors", 0)))
                return _NO_MEMO

            self._input = docs_input
        elif kind == "relation_exists":
            relation = self.check["relation"]

            def relation_input(facts):
                relations = facts.relations if isinstance(facts.relations, (list, tuple)) else ()
                return sum(1 for item in relations if isinstance(item, dict) and item.get("type") == relation)

            self._input = relation_input
        elif kind == "dora_threshold":
            figure = self.check["figure"]
            self._input = lambda facts: _freeze(facts.dora.get(figure) if isinstance(facts.dora, dict) else None)
        elif kind == "expression" and (paths := checks.expression_inputs(self.check["expression"])) is not None:
            self._input = lambda facts: _expression_key(facts, paths)
        else:
            self._input = None

    def run(self, facts: checks.EntityFacts) -> Outcome:
        key = _NO_MEMO if self._input is None else self._input(facts)
        if key is _NO_MEMO:
            return make_outcome(self.id, self._check(facts), self.postgres)
        found = self.memo.get(key)
        if found is None:
            found = make_outcome(self.id, self._check(facts), self.postgres)
            if len(self.memo) < MEMO_LIMIT:
                self.memo[key] = found
        return found


@dataclass
class CompiledScorecard:
    scorecard: Scorecard
    level_names: list[str]
    level_ids: dict[str, int]
    rules: list[CompiledRule]
    ladder_rules: list[levels.Rule]
    all_rule_ids: set[int]
    broken: dict[int, list[str]] = field(default_factory=dict)
    reached: dict[tuple[bool, ...], str | None] = field(default_factory=dict)

    def level_reached(self, outcomes: list[Outcome], now: datetime) -> str | None:
        """The ladder depends only on which rules pass: entities with the same passes share the answer."""
        key = tuple(outcome.passed for outcome in outcomes)
        if key not in self.reached:
            results = {rule.key: outcome for rule, outcome in zip(self.rules, outcomes, strict=True)}
            self.reached[key] = levels.evaluate_ladder(self.level_names, self.ladder_rules, results, now).level
        return self.reached[key]

    def digest(self, outcomes: list[Outcome], level_id: int | None) -> str:
        """A fingerprint of an entity's stored results for this scorecard: equal means nothing to rewrite."""
        text = "\n".join([str(level_id), *(outcome.keyed_line for outcome in outcomes)])
        return hashlib.blake2b(text.encode(), digest_size=16).hexdigest()


@dataclass
class EvaluationReport:
    entities: int = 0
    scorecards: int = 0
    evaluations: int = 0
    results_written: int = 0
    levels_written: int = 0
    results_deleted: int = 0
    policy_changes: int = 0
    seconds: float = 0.0
    # Seconds spent loading entities, loading facts, running checks, comparing and handing over the
    # writes (all in the caller's thread), and writing (on PostgreSQL in the writer thread, beside the rest).
    phases: dict[str, float] = field(
        default_factory=lambda: dict.fromkeys(("load", "facts", "checks", "store", "write"), 0.0)
    )

    def as_dict(self) -> dict:
        return {**self.__dict__, "phases": dict(self.phases)}


def compile_scorecards(now: datetime, scorecard_ids: Iterable[int] | None = None) -> list[CompiledScorecard]:
    scorecards = Scorecard.objects.prefetch_related("levels", "rules__level")
    if scorecard_ids is not None:
        scorecards = scorecards.filter(pk__in=list(scorecard_ids))
    compiled = []
    for scorecard in scorecards:
        level_list = list(scorecard.levels.all())
        rules: list[CompiledRule] = []
        ladder_rules: list[levels.Rule] = []
        broken: dict[int, list[str]] = {}
        for rule in scorecard.rules.all():
            status = rule.status(now)
            if status == "disabled":
                continue
            problems = checks.validate_check(rule.check_spec)
            if rule.level.scorecard_id != scorecard.pk:
                problems.append(f"level: {rule.level.name} belongs to another scorecard")
            if problems:
                broken[rule.pk] = problems
                continue
            rules.append(CompiledRule(rule.pk, rule.key, rule.name, rule.check_spec, status, rule.blocking,
                                      postgres=connection.vendor == "postgresql"))
            ladder_rules.append(rule.ladder_rule())
        compiled.append(
            CompiledScorecard(
                scorecard=scorecard,
                level_names=[level.name for level in level_list],
                level_ids={level.name: level.pk for level in level_list},
                rules=rules,
                ladder_rules=ladder_rules,
                all_rule_ids={rule.pk for rule in scorecard.rules.all()},
                broken=broken,
            )
        )
    return compiled


# ---------------------------------------------------------------- facts


def techdocs_model():
    """The techdocs app's DocSite model, or None where that app is not installed."""
    try:
        return apps.get_model("techdocs", "DocSite")
    except LookupError:
        return None


def ids_q(field_name: str, ids: list[int], dense: bool) -> Q:
    """Rows whose ``field_name`` is one of ``ids`` (sorted): a range when ``dense`` (a superset the
    caller ignores the rest of), which spares the database and the driver a list of thousands."""
    if dense and ids:
        return Q(**{f"{field_name}__gte": ids[0], f"{field_name}__lte": ids[-1]})
    return Q(**{f"{field_name}__in": ids})


def techdocs_facts(entity_ids: list[int], dense: bool = False) -> dict[int, dict]:
    model = techdocs_model()
    if model is None or not entity_ids:
        return {}
    facts: dict[int, dict] = {}
    try:
        rows = model.objects.filter(ids_q("entity_id", entity_ids, dense)).values_list(
            "entity_id", "status", "errors", "built_at")
        for entity_id, status, errors, built_at in rows:
            error_count = len(errors) if isinstance(errors, list) else 0
            if status == "ok":
                facts[entity_id] = {"built": True, "errors": error_count}
            elif status == "failed":
                facts[entity_id] = {"built": False, "errors": error_count}
            elif built_at is not None:  # being rebuilt: the last build stands
                facts[entity_id] = {"built": True, "errors": error_count}
    except FieldError:  # a DocSite without the fields we read: no TechDocs facts rather than a failed run
        log.warning("techdocs.DocSite lacks status/errors/built_at; techdocs_built checks see no builds")
        return {}
    return facts


def relations_of(refs: list[str], entity_ids: list[int] | None = None) -> dict[str, list[dict]]:
    """Relations from ``refs``; given the batch's sorted ``entity_ids`` (dense), those of that id range."""
    sources = refs if entity_ids is None else Entity.objects.filter(ids_q("pk", entity_ids, True)).values("ref")
    found: dict[str, dict[tuple[str, str], dict]] = defaultdict(dict)
    for source, kind, target in Relation.objects.filter(source_ref__in=sources).values_list(
        "source_ref", "type", "target_ref"
    ):
        found[source].setdefault((kind, target), {"type": kind, "targetRef": target})
    return {ref: list(items.values()) for ref, items in found.items()}


def group_refs() -> frozenset[str]:
    return frozenset(Entity.objects.filter(kind="group").values_list("ref", flat=True))


# ---------------------------------------------------------------- storing


def observed_text(value: Any, postgres: bool) -> str | None:
    """An observed value as the database gives it back as text: jsonb's output on PostgreSQL
    (UTF-8, not escaped), Django's json.dumps on SQLite. A value whose text differs anyway (say a
    float jsonb spells otherwise) is merely rewritten on every run."""
    if value is None:
        return None
    return json.dumps(value, ensure_ascii=not postgres)


_COPY_ESCAPES = str.maketrans({"\\": "\\\\", "\n": "\\n", "\r": "\\r", "\t": "\\t"})


def _copy_value(value: Any) -> str:
    if value is None:
        return "\\N"
    if value is True:
        return "t"
    if value is False:
        return "f"
    if isinstance(value, datetime):
        return value.isoformat()
    return str(value).translate(_COPY_ESCAPES)


def _insert(model, columns: list[str], rows: list[tuple]) -> None:
    """Insert rows: PostgreSQL's COPY (text format, built here in one piece), else bulk_create."""
    if not rows:
        return
    if connection.vendor == "postgresql":
        _copy_lines(model, columns, "".join("\t".join(map(_copy_value, row)) + "\n" for row in rows))
        return
    model.objects.bulk_create([model(**dict(zip(columns, row, strict=True))) for row in rows], batch_size=2000)


def _copy_lines(model, columns: list[str], data: str) -> None:
    """COPY lines already in PostgreSQL's text format into the model's table."""
    if not data:
        return
    table = connection.ops.quote_name(model._meta.db_table)
    names = ", ".join(connection.ops.quote_name(c) for c in columns)
    with connection.cursor() as cursor:
        with cursor.cursor.copy(f"COPY {table} ({names}) FROM STDIN") as copy:  # noqa: S608 -- our names
            copy.write(data)


def _old_results(entity_ids: list[int], rule_ids: set[int], dense: bool = False) -> dict[tuple[int, int], tuple]:
    """(entity, rule) -> (pk, passed, observed text, message), read without decoding the JSON."""
    if not entity_ids or not rule_ids:
        return {}
    query = RuleResult.objects.filter(ids_q("entity_id", entity_ids, dense), rule_id__in=rule_ids).values_list(
        "pk", "entity_id", "rule_id", "passed", Cast("observed", TextField()), "message"
    )
    sql, params = query.query.sql_with_params()
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return {
            (entity_id, rule_id): (pk, bool(passed), observed, message)
            for pk, entity_id, rule_id, passed, observed, message in cursor.fetchall()
        }


def _policy_items(failures: list[tuple[str, str]]) -> list[dict]:
    return [
        {"type": POLICY_TYPE, "level": "error", "message": f"Policy '{name}': {message}"}
        for name, message in sorted(failures)
    ]


@dataclass
class BatchWrites:
    """What one batch changes: rows to delete, results and levels to insert, entities' policy items."""

    delete_rules: list[int] = field(default_factory=list)
    delete_levels: list[int] = field(default_factory=list)
    # (entity id, rule id, outcome)
    new_rules: list[tuple[int, int, Outcome]] = field(default_factory=list)
    # (entity id, scorecard id, level id, digest)
    new_levels: list[tuple[int, int, int | None, str]] = field(default_factory=list)
    policy_updates: list[Entity] = field(default_factory=list)


ANALYZE_FROM = 100_000  # rows written before the first ANALYZE, then at each doubling
RESULT_COLUMNS = ["entity_id", "rule_id", "passed", "observed", "message"]  # evaluated_at: the database's now()
LEVEL_COLUMNS = ["entity_id", "scorecard_id", "level_id", "digest", "evaluated_at"]


def write_batch(writes: BatchWrites, now: datetime) -> int:
    """Apply one batch's changes in one transaction; return the rule results inserted."""
    with transaction.atomic():
        if writes.delete_rules:
            RuleResult.objects.filter(pk__in=writes.delete_rules).delete()
        if writes.delete_levels:
            ScorecardResult.objects.filter(pk__in=writes.delete_levels).delete()
        if connection.vendor == "postgresql":
            _copy_lines(RuleResult, RESULT_COLUMNS, "".join(
                f"{entity_id}\t{rule_id}\t{outcome.line}\n" for entity_id, rule_id, outcome in writes.new_rules
            ))
        else:
            RuleResult.objects.bulk_create([
                RuleResult(entity_id=entity_id, rule_id=rule_id, passed=outcome.passed, observed=outcome.observed,
                           message=outcome.message)
                for entity_id, rule_id, outcome in writes.new_rules
            ], batch_size=2000)
        _insert(ScorecardResult, LEVEL_COLUMNS, [(*row, now) for row in writes.new_levels])
        if writes.policy_updates:
            Entity.objects.bulk_update(writes.policy_updates, ["errors", "has_errors"], batch_size=500)
    return len(writes.new_rules)


class BatchWriter:
    """Writes each batch's changes, on PostgreSQL in a thread of its own beside the checks.

    The database's share of an evaluation (parsing and indexing millions of rows) then runs on
    another core while Python runs the next batch's checks. Batches touch disjoint entities, so
    their order does not matter. Inside a transaction (or on SQLite) the writes happen inline,
    on the caller's connection. A failed write stops the run: the error is raised to the caller.
    """

    def __init__(self, now: datetime, threaded: bool, report: EvaluationReport | None = None):
        self.now = now
        self.report = report
        self.threaded = threaded
        self.error: BaseException | None = None
        self._written = 0
        self._analyse_at = ANALYZE_FROM
        if threaded:
            self._queue: queue.Queue[BatchWrites | None] = queue.Queue(maxsize=2)
            self._thread = threading.Thread(target=self._work, name="scorecard-writer", daemon=True)
            self._thread.start()

    def submit(self, writes: BatchWrites) -> None:
        if not self.threaded:
            self._write(writes)
            return
        if self.error is not None:
            raise self.error
        self._queue.put(writes)

    def close(self) -> None:
        if self.threaded:
            self._queue.put(None)
            self._thread.join()
        if self.error is not None:
            raise self.error

    def _work(self) -> None:
        try:
            while (writes := self._queue.get()) is not None:
                if self.error is None:
                    try:
                        self._write(writes)
                    except BaseException as exc:  # handed to the caller by submit/close
                        self.error = exc
        finally:
            connections.close_all()  # this thread's own connection

    def _write(self, writes: BatchWrites) -> None:
        started = time.perf_counter()
        self._written += write_batch(writes, self.now)
        if connection.vendor == "postgresql" and self._written >= self._analyse_at:
            # Fresh statistics, or the planner keeps scanning a results table it believes is small;
            # at each doubling only, as each ANALYZE costs more on a bigger table.
            with connection.cursor() as cursor:
                cursor.execute("ANALYZE scorecards_ruleresult, scorecards_scorecardresult")
            self._analyse_at *= 2
        if self.report is not None:
            self.report.phases["write"] += time.perf_counter() - started


# ---------------------------------------------------------------- evaluation


# tags and errors come as JSON text, decoded only when a filter or a policy needs them.
ENTITY_COLUMNS = ("pk", "ref", "kind", "spec_type", "lifecycle", "owner_ref", Cast("tags", TextField()), "orphan",
                  "data", Cast("errors", TextField()))
NO_ERRORS = ("[]", "", None)


def evaluate(
    entity_ids: Iterable[int] | None = None,
    *,
    now: datetime | None = None,
    scorecard_ids: Iterable[int] | None = None,
    batch_size: int | None = None,
    force: bool = False,
) -> EvaluationReport:
    """Evaluate scorecards over ``entity_ids`` (None: the whole catalog) and store the results.

    ``force`` compares every rule result with what is stored, whatever the digests say: what
    an admin's "Evaluate now" does, to repair results edited or deleted behind the evaluation's back.
    """
    started = time.perf_counter()
    now = now or timezone.now()
    batch_size = batch_size or conf.batch_size()
    report = EvaluationReport()
    compiled = compile_scorecards(now, scorecard_ids)
    report.scorecards = len(compiled)
    wanted_ids = None if entity_ids is None else sorted(set(entity_ids))
    if not compiled or wanted_ids == []:
        report.seconds = time.perf_counter() - started
        return report
    all_checks = [rule.check["type"] for card in compiled for rule in card.rules]
    needs_relations = any(kind in RELATION_CHECKS for kind in all_checks)
    needs_groups = "owner_is_group" in all_checks
    needs_techdocs = "techdocs_built" in all_checks
    needs_dora = "dora_threshold" in all_checks
    blocking_anywhere = any(rule.blocking for card in compiled for rule in card.rules)
    needs_tags = any(card.scorecard.tags for card in compiled)
    groups = group_refs() if needs_groups else frozenset()
    dora_days = conf.dora_window_days()
    dora_all = dora_queries.figures_by_entity(None, dora_days, now) if needs_dora and wanted_ids is None else None

    scope = Q()
    for card in compiled:
        scope |= card.scorecard.entity_q()
    entities = Entity.objects.filter(scope)
    matched: dict[int, set[int]] = defaultdict(set)  # scorecard id -> entity ids evaluated
    scorecard_ids_all = [card.scorecard.pk for card in compiled]
    cards_by_id = {card.scorecard.pk: card for card in compiled}
    no_figures = dora_queries.no_figures()
    postgres = connection.vendor == "postgresql"
    writer = BatchWriter(now, threaded=postgres and not connection.in_atomic_block, report=report)

    clock = time.perf_counter()
    try:
        for rows in _batches(entities, wanted_ids, batch_size):
            report.phases["load"] += time.perf_counter() - clock
            clock = time.perf_counter()
            ids = [row[0] for row in rows]
            refs = [row[1] for row in rows]
            # A full run's batch holds every entity in scope between its first and last id.
            dense = wanted_ids is None
            relations = relations_of(refs, ids if dense else None) if needs_relations else {}
            docs = techdocs_facts(ids, dense) if needs_techdocs else {}
            if needs_dora:
                dora_figures = (
                    dora_all if dora_all is not None else dora_queries.figures_by_entity(refs, dora_days, now)
                )
            else:
                dora_figures = {}
            old_levels = {
                (entity_id, scorecard_id): (pk, level_id, digest)
                for pk, entity_id, scorecard_id, level_id, digest in ScorecardResult.objects.filter(
                    ids_q("entity_id", ids, dense), scorecard_id__in=scorecard_ids_all
                ).values_list("pk", "entity_id", "scorecard_id", "level_id", "digest")
            }
            report.phases["facts"] += time.perf_counter() - clock
            clock = time.perf_counter()
            writes = BatchWrites()
            # (entity id, scorecard id) -> outcomes, for results that differ from what is stored.
            changed: dict[tuple[int, int], list[Outcome]] = {}
            for entity_id, ref, kind, spec_type, lifecycle, owner_ref, tags_text, orphan, data, errors_text in rows:
                tags = json.loads(tags_text) if needs_tags and tags_text else None
                errors = None if errors_text in NO_ERRORS else json.loads(errors_text)
                facts = checks.EntityFacts(
                    entity=data if isinstance(data, dict) else {},
                    relations=relations.get(ref, ()),
                    existing_group_refs=groups,
                    techdocs=docs.get(entity_id),
                    dora=dora_figures.get(ref) or no_figures,
                )
                failures: list[tuple[str, str]] = []
                for card in compiled:
                    if not card.scorecard.matches(kind=kind, spec_type=spec_type, lifecycle=lifecycle,
                                                  owner_ref=owner_ref, tags=tags, orphan=orphan):
                        continue
                    card_id = card.scorecard.pk
                    matched[card_id].add(entity_id)
                    outcomes = [rule.run(facts) for rule in card.rules]
                    report.evaluations += len(outcomes)
                    if blocking_anywhere:
                        for rule, outcome in zip(card.rules, outcomes, strict=True):
                            if rule.blocking and rule.status == "active" and not outcome.passed:
                                failures.append((rule.name, outcome.message))
                    reached = card.level_reached(outcomes, now)
                    level_id = card.level_ids.get(reached) if reached else None
                    digest = card.digest(outcomes, level_id)
                    old_level = old_levels.get((entity_id, card_id))
                    if old_level is not None and old_level[2] == digest and not force:
                        continue
                    changed[(entity_id, card_id)] = outcomes
                    if old_level is not None and old_level[2] == digest:
                        continue  # forced: only the rule results are compared
                    if old_level is not None:
                        writes.delete_levels.append(old_level[0])
                    writes.new_levels.append((entity_id, card_id, level_id, digest))
                if blocking_anywhere or errors:
                    entity = _policy_update(entity_id, errors, failures)
                    if entity is not None:
                        writes.policy_updates.append(entity)
            report.phases["checks"] += time.perf_counter() - clock
            clock = time.perf_counter()
            if changed:
                _diff_rule_results(changed, cards_by_id, writes, report, dense and len(changed) * 2 > len(rows))
            report.entities += len(rows)
            report.results_written += len(writes.new_rules)
            report.levels_written += len(writes.new_levels)
            report.policy_changes += len(writes.policy_updates)
            writer.submit(writes)
            report.phases["store"] += time.perf_counter() - clock
            clock = time.perf_counter()
    finally:
        writer.close()

    report.results_deleted += _drop_out_of_scope(compiled, matched, wanted_ids, thorough=force)
    if wanted_ids is None:
        Scorecard.objects.filter(pk__in=scorecard_ids_all).update(last_evaluated_at=now)
    if report.results_written or report.results_deleted or report.levels_written:
        results_changed()
    report.seconds = time.perf_counter() - started
    return report


RESULTS_VERSION_KEY = "scorecards:results-version"


def results_changed() -> None:
    """Pages cache what they count over every result (pass rates, levels) under this version."""
    cache.set(RESULTS_VERSION_KEY, time.time_ns(), None)


def results_version() -> int:
    return cache.get_or_set(RESULTS_VERSION_KEY, 0, None)


def _diff_rule_results(changed: dict[tuple[int, int], list[Outcome]], cards: dict[int, CompiledScorecard],
                       writes: BatchWrites, report: EvaluationReport, dense: bool) -> None:
    """Rule results of the (entity, scorecard) pairs whose digest changed: rewrite those that differ."""
    entity_ids = sorted({entity_id for entity_id, _card in changed})
    rule_ids = set().union(*(cards[card_id].all_rule_ids for _entity, card_id in changed))
    old_rules = _old_results(entity_ids, rule_ids, dense)
    if not old_rules:  # nothing stored yet (a first run): every result is new
        for (entity_id, card_id), outcomes in changed.items():
            writes.new_rules.extend(
                (entity_id, rule.id, outcome) for rule, outcome in zip(cards[card_id].rules, outcomes, strict=True)
            )
        return
    rule_card = {rule_id: card_id for card_id, card in cards.items() for rule_id in card.all_rule_ids}
    kept: set[tuple[int, int]] = set()
    for (entity_id, card_id), outcomes in changed.items():
        for rule, outcome in zip(cards[card_id].rules, outcomes, strict=True):
            key = (entity_id, rule.id)
            kept.add(key)
            old = old_rules.get(key)
            if old is not None:
                if old[1] == outcome.passed and old[3] == outcome.message and old[2] == outcome.observed_text:
                    continue
                writes.delete_rules.append(old[0])
            writes.new_rules.append((entity_id, rule.id, outcome))
    # Results of rules no longer evaluated (disabled, broken) for the pairs rewritten here.
    stale = [
        pk for (entity_id, rule_id), (pk, *_rest) in old_rules.items()
        if (entity_id, rule_id) not in kept and (entity_id, rule_card.get(rule_id)) in changed
    ]
    writes.delete_rules.extend(stale)
    report.results_deleted += len(stale)


def _batches(entities, wanted_ids: list[int] | None, batch_size: int):
    """Rows of ENTITY_COLUMNS in primary key order, ``batch_size`` at a time.

    A full run reads the ids in scope first, then each batch as a primary key range: a
    "next N after the last id" query lets the planner scan the whole scope for every batch
    when its statistics are stale (say right after a big import), which is quadratic.
    """
    if wanted_ids is None:
        ids = sorted(entities.order_by().values_list("pk", flat=True))
        ranges = [(ids[start], ids[min(start + batch_size, len(ids)) - 1]) for start in range(0, len(ids), batch_size)]
        for low, high in ranges:
            rows = sorted(entities.filter(pk__gte=low, pk__lte=high).order_by().values_list(*ENTITY_COLUMNS),
                          key=itemgetter(0))
            if rows:
                yield rows
        return
    for start in range(0, len(wanted_ids), batch_size):
        chunk = wanted_ids[start : start + batch_size]
        rows = list(entities.filter(pk__in=chunk).order_by("pk").values_list(*ENTITY_COLUMNS))
        if rows:
            yield rows


def _policy_update(entity_id: int, errors: Any, failures: list[tuple[str, str]]) -> Entity | None:
    """The entity with its policy items brought up to date, or None when they already are."""
    current = errors if isinstance(errors, list) else []
    others = [item for item in current if not (isinstance(item, dict) and item.get("type") == POLICY_TYPE)]
    mine = [item for item in current if isinstance(item, dict) and item.get("type") == POLICY_TYPE]
    wanted = _policy_items(failures)
    if mine == wanted:
        return None
    merged = others + wanted
    return Entity(pk=entity_id, errors=merged, has_errors=bool(merged))


def _drop_out_of_scope(compiled: list[CompiledScorecard], matched: dict[int, set[int]],
                       wanted_ids: list[int] | None, thorough: bool = False) -> int:
    """Results of entities a scorecard no longer applies to (filter changed, orphaned), and their policies.

    After a full run, the entities with a stored level that the run did not evaluate are gone;
    ``thorough`` also sweeps rule results whose entity has no stored level at all (left by edits
    behind the evaluation's back), which reads every rule result of the scorecard.
    """
    deleted = 0
    for card in compiled:
        scorecard = card.scorecard
        kept = matched.get(scorecard.pk, set())
        if wanted_ids is None and thorough:
            in_scope = Entity.objects.filter(scorecard.entity_q()).values("pk")
            ScorecardResult.objects.filter(scorecard=scorecard).exclude(entity_id__in=in_scope).delete()
            deleted += RuleResult.objects.filter(rule__scorecard=scorecard).exclude(entity_id__in=in_scope).delete()[0]
            continue
        if wanted_ids is None:
            stored = ScorecardResult.objects.filter(scorecard=scorecard).values_list("entity_id", flat=True)
            gone = sorted(set(stored) - kept)
        else:
            gone = [entity_id for entity_id in wanted_ids if entity_id not in kept]
        for start in range(0, len(gone), 5000):
            chunk = gone[start : start + 5000]
            ScorecardResult.objects.filter(scorecard=scorecard, entity_id__in=chunk).delete()
            deleted += RuleResult.objects.filter(rule__scorecard=scorecard, entity_id__in=chunk).delete()[0]
    # Entities no scorecard applies to any more lose their policy items.
    unscored = Entity.objects.filter(has_errors=True).exclude(
        pk__in=ScorecardResult.objects.values("entity_id")
    )
    if wanted_ids is not None:
        unscored = unscored.filter(pk__in=wanted_ids)
    updates = []
    for entity_id, errors in unscored.values_list("pk", "errors"):
        entity = _policy_update(entity_id, errors, [])
        if entity is not None:
            updates.append(entity)
    if updates:
        Entity.objects.bulk_update(updates, ["errors", "has_errors"], batch_size=500)
    return deleted


def evaluate_refs(refs: Iterable[str], *, now: datetime | None = None) -> EvaluationReport:
    ids = list(Entity.objects.filter(ref__in=[ref.lower() for ref in refs]).values_list("pk", flat=True))
    return evaluate(ids, now=now)


# ---------------------------------------------------------------- history


def take_snapshots(day: date | None = None, scorecard_ids: Iterable[int] | None = None) -> int:
    """Record today's level counts and rule pass rates of every scorecard (replacing today's earlier ones)."""
    day = day or timezone.localdate()
    scorecards = Scorecard.objects.prefetch_related("levels", "rules")
    if scorecard_ids is not None:
        scorecards = scorecards.filter(pk__in=list(scorecard_ids))
    count = 0
    for scorecard in scorecards:
        by_level = dict(
            ScorecardResult.objects.filter(scorecard=scorecard).order_by().values_list("level_id")
            .annotate(n=Count("pk"))
        )
        level_counts = [[None, by_level.get(None, 0)]] + [
            [level.name, by_level.get(level.pk, 0)] for level in scorecard.levels.all()
        ]
        rates = {
            row["rule_id"]: row
            for row in RuleResult.objects.filter(rule__scorecard=scorecard).order_by().values("rule_id")
            .annotate(passed=Count("pk", filter=Q(passed=True)), evaluated=Count("pk"))
        }
        rule_rates = {
            str(rule.pk): {
                "name": rule.name,
                "passed": rates.get(rule.pk, {}).get("passed", 0),
                "evaluated": rates.get(rule.pk, {}).get("evaluated", 0),
            }
            for rule in scorecard.rules.all()
            if rule.state != Rule.State.DISABLED
        }
        ScorecardSnapshot.objects.update_or_create(
            scorecard=scorecard,
            date=day,
            defaults={
                "entity_count": sum(by_level.values()),
                "level_counts": level_counts,
                "rule_pass_rates": rule_rates,
                "created_at": timezone.now(),
            },
        )
        count += 1
    return count


def evaluate_all(now: datetime | None = None) -> EvaluationReport:
    report = evaluate(None, now=now)
    take_snapshots(timezone.localdate(now) if now else None)
    return report
