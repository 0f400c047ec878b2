"""Evaluating scorecards: load what checks look at in batches, run them in Python, store what changed.

``evaluate(entity_ids=None)`` runs every scorecard over the catalog entities it applies to
(or over the given entities only) and stores, per entity, each rule's result and the level
reached. Results are rewritten only when they change, so a run over an unchanged catalog
writes almost nothing. Guardrail policies (blocking rules) are applied on the way: an entity
failing an active blocking rule gets a policy error item in its catalog errors, and loses it
when it passes again.

``take_snapshots(day)`` records each scorecard's level counts and rule pass rates for the day.

Each batch needs a handful of queries: the entities (``values_list``), their relations, their
TechDocs status (when the techdocs app is installed), their existing results; group refs and
DORA figures are loaded once per run.
"""

from __future__ import annotations

import json
import logging
import os
import time
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from django.apps import apps
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
    memo: dict = field(default_factory=dict)

    def __post_init__(self) -> None:
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
        else:
            self._input = None

    def run(self, facts: checks.EntityFacts, postgres: bool) -> tuple[checks.CheckResult, str | None]:
        """The result and its observed value as stored JSON text (see ``observed_text``)."""
        key = _NO_MEMO if self._input is None else self._input(facts)
        if key is _NO_MEMO:
            result = checks.evaluate(self.check, facts)
            return result, observed_text(result.observed, postgres)
        found = self.memo.get(key)
        if found is None:
            result = checks.evaluate(self.check, facts)
            found = (result, observed_text(result.observed, postgres))
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

    def level_reached(self, results: dict[str, checks.CheckResult], now: datetime) -> str | None:
        """The ladder depends only on which rules pass: entities with the same passes share the answer."""
        key = tuple(results[rule.key].passed for rule in self.rules)
        if key not in self.reached:
            self.reached[key] = levels.evaluate_ladder(self.level_names, self.ladder_rules, results, now).level
        return self.reached[key]


@dataclass
class EvaluationReport:
    entities: int = 0
    scorecards: int = 0
    evaluations: int = 0
    results_written: int = 0
    results_deleted: int = 0
    policy_changes: int = 0
    seconds: float = 0.0
    # Seconds spent loading entities, loading facts and old results, running checks, storing.
    phases: dict[str, float] = field(default_factory=lambda: dict.fromkeys(("load", "facts", "checks", "store"), 0.0))

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
            rules.append(CompiledRule(rule.pk, rule.key, rule.name, rule.check_spec, status, rule.blocking))
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


def techdocs_facts(entity_ids: list[int]) -> dict[int, dict]:
    model = techdocs_model()
    if model is None or not entity_ids:
        return {}
    facts: dict[int, dict] = {}
    try:
        rows = model.objects.filter(entity_id__in=entity_ids).values_list("entity_id", "status", "errors", "built_at")
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


def relations_of(refs: list[str]) -> dict[str, list[dict]]:
    found: dict[str, dict[tuple[str, str], dict]] = defaultdict(dict)
    for source, kind, target in Relation.objects.filter(source_ref__in=refs).values_list(
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
        table = connection.ops.quote_name(model._meta.db_table)
        names = ", ".join(connection.ops.quote_name(c) for c in columns)
        data = "".join("\t".join(map(_copy_value, row)) + "\n" for row in rows)
        with connection.cursor() as cursor:
            with cursor.cursor.copy(f"COPY {table} ({names}) FROM STDIN") as copy:  # noqa: S608 -- our names
                copy.write(data)
        return
    model.objects.bulk_create([model(**dict(zip(columns, row, strict=True))) for row in rows], batch_size=2000)


def _old_results(entity_ids: list[int], rule_ids: set[int], postgres: bool) -> dict[tuple[int, int], tuple]:
    """(entity, rule) -> (pk, passed, observed text, message), read without decoding the JSON."""
    if not entity_ids or not rule_ids:
        return {}
    query = RuleResult.objects.filter(entity_id__in=entity_ids, rule_id__in=rule_ids).values_list(
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


# ---------------------------------------------------------------- evaluation


ANALYZE_EVERY = 100_000
RESULT_COLUMNS = ["entity_id", "rule_id", "passed", "observed", "message", "evaluated_at"]
ENTITY_COLUMNS = ("pk", "ref", "kind", "spec_type", "lifecycle", "owner_ref", "tags", "orphan", "data", "errors")


def evaluate(
    entity_ids: Iterable[int] | None = None,
    *,
    now: datetime | None = None,
    scorecard_ids: Iterable[int] | None = None,
    batch_size: int | None = None,
) -> EvaluationReport:
    """Evaluate scorecards over ``entity_ids`` (None: the whole catalog) and store the results."""
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
    groups = group_refs() if needs_groups else frozenset()
    dora_days = conf.dora_window_days()
    dora_all = dora_queries.figures_by_entity(None, dora_days, now) if needs_dora and wanted_ids is None else None

    scope = Q()
    for card in compiled:
        scope |= card.scorecard.entity_q()
    entities = Entity.objects.filter(scope)
    matched: dict[int, set[int]] = defaultdict(set)  # scorecard id -> entity ids evaluated
    rule_ids = set().union(*(card.all_rule_ids for card in compiled))
    scorecard_ids_all = [card.scorecard.pk for card in compiled]

    postgres = connection.vendor == "postgresql"

    def run_batches(batches, report: EvaluationReport, matched: dict[int, set[int]]) -> None:
        clock = time.perf_counter()
        unanalysed = 0
        for rows in batches:
            report.phases["load"] += time.perf_counter() - clock
            clock = time.perf_counter()
            ids = [row[0] for row in rows]
            refs = [row[1] for row in rows]
            relations = relations_of(refs) if needs_relations else {}
            docs = techdocs_facts(ids) if needs_techdocs else {}
            if needs_dora:
                dora_figures = (
                    dora_all if dora_all is not None else dora_queries.figures_by_entity(refs, dora_days, now)
                )
            else:
                dora_figures = {}
            old_rules = _old_results(ids, rule_ids, postgres)
            old_levels = {
                (entity_id, scorecard_id): (pk, level_id)
                for pk, entity_id, scorecard_id, level_id in ScorecardResult.objects.filter(
                    entity_id__in=ids, scorecard_id__in=scorecard_ids_all
                ).values_list("pk", "entity_id", "scorecard_id", "level_id")
            }
            report.phases["facts"] += time.perf_counter() - clock
            clock = time.perf_counter()
            new_rules: list[tuple] = []
            new_levels: list[tuple] = []
            delete_rules: list[int] = []
            delete_levels: list[int] = []
            policy_updates: list[Entity] = []
            kept_rules: set[tuple[int, int]] = set()
            kept_levels: set[tuple[int, int]] = set()
            for entity_id, ref, kind, spec_type, lifecycle, owner_ref, tags, orphan, data, errors in rows:
                facts = checks.EntityFacts(
                    entity=data if isinstance(data, dict) else {},
                    relations=relations.get(ref, ()),
                    existing_group_refs=groups,
                    techdocs=docs.get(entity_id),
                    dora=dora_figures.get(ref) or dora_queries.no_figures(),
                )
                failures: list[tuple[str, str]] = []
                for card in compiled:
                    if not card.scorecard.matches(kind=kind, spec_type=spec_type, lifecycle=lifecycle,
                                                  owner_ref=owner_ref, tags=tags, orphan=orphan):
                        continue
                    matched[card.scorecard.pk].add(entity_id)
                    results: dict[str, checks.CheckResult] = {}
                    for rule in card.rules:
                        result, text = rule.run(facts, postgres)
                        results[rule.key] = result
                        report.evaluations += 1
                        key = (entity_id, rule.id)
                        kept_rules.add(key)
                        old = old_rules.get(key)
                        if old is not None:
                            if old[1] == result.passed and old[3] == result.message and old[2] == text:
                                continue
                            delete_rules.append(old[0])
                        observed = text if postgres else result.observed
                        new_rules.append((entity_id, rule.id, result.passed, observed, result.message, now))
                    for rule in card.rules:
                        if rule.blocking and rule.status == "active" and not results[rule.key].passed:
                            failures.append((rule.name, results[rule.key].message))
                    reached = card.level_reached(results, now)
                    level_id = card.level_ids.get(reached) if reached else None
                    key = (entity_id, card.scorecard.pk)
                    kept_levels.add(key)
                    old_level = old_levels.get(key)
                    if old_level is not None and old_level[1] == level_id:
                        continue
                    if old_level is not None:
                        delete_levels.append(old_level[0])
                    new_levels.append((entity_id, card.scorecard.pk, level_id, now))
                if blocking_anywhere or errors:
                    entity = _policy_update(entity_id, errors, failures)
                    if entity is not None:
                        policy_updates.append(entity)
            stale_rules = [pk for key, (pk, *_rest) in old_rules.items() if key not in kept_rules]
            delete_rules.extend(stale_rules)
            delete_levels.extend(pk for key, (pk, _level) in old_levels.items() if key not in kept_levels)
            report.phases["checks"] += time.perf_counter() - clock
            clock = time.perf_counter()
            with transaction.atomic():
                if delete_rules:
                    RuleResult.objects.filter(pk__in=delete_rules).delete()
                if delete_levels:
                    ScorecardResult.objects.filter(pk__in=delete_levels).delete()
                _insert(RuleResult, RESULT_COLUMNS, new_rules)
                _insert(ScorecardResult, ["entity_id", "scorecard_id", "level_id", "evaluated_at"], new_levels)
                if policy_updates:
                    Entity.objects.bulk_update(policy_updates, ["errors", "has_errors"], batch_size=500)
            report.entities += len(rows)
            report.results_written += len(new_rules)
            report.results_deleted += len(stale_rules)
            report.policy_changes += len(policy_updates)
            unanalysed += len(new_rules)
            if postgres and unanalysed >= ANALYZE_EVERY:
                # Fresh statistics, or the planner keeps scanning a results table it believes is small.
                with connection.cursor() as cursor:
                    cursor.execute("ANALYZE scorecards_ruleresult, scorecards_scorecardresult")
                unanalysed = 0
            report.phases["store"] += time.perf_counter() - clock
            clock = time.perf_counter()

    processes = _processes(wanted_ids)
    if processes > 1:
        _run_in_processes(entities, batch_size, processes, run_batches, report, matched)
    else:
        run_batches(_batches(entities, wanted_ids, batch_size), report, matched)

    report.results_deleted += _drop_out_of_scope(compiled, matched, wanted_ids)
    if wanted_ids is None:
        Scorecard.objects.filter(pk__in=scorecard_ids_all).update(last_evaluated_at=now)
    report.seconds = time.perf_counter() - started
    return report


def _processes(wanted_ids: list[int] | None) -> int:
    """Worker processes for this run: only full runs over a large catalog on PostgreSQL, outside a transaction."""
    wanted = conf.evaluation_processes()
    if wanted <= 1 or wanted_ids is not None or connection.vendor != "postgresql" or connection.in_atomic_block:
        return 1
    if Entity.objects.count() < conf.parallel_min_entities():
        return 1
    return wanted


def _run_in_processes(entities, batch_size: int, processes: int, run_batches, report: EvaluationReport,
                      matched: dict[int, set[int]]) -> None:
    """Split the entities into contiguous id ranges; forked children evaluate all but the first."""
    ids = list(entities.order_by("pk").values_list("pk", flat=True))
    size = -(-len(ids) // processes)
    ranges = [(ids[i], ids[min(i + size, len(ids)) - 1]) for i in range(0, len(ids), size)]
    connections.close_all()  # each process opens its own connection
    children = []
    for low, high in ranges[1:]:
        reader, writer = os.pipe()
        pid = os.fork()
        if pid == 0:  # pragma: no cover -- runs in the child
            status = 1
            try:
                os.close(reader)
                child = EvaluationReport()
                run_batches(_batches(entities.filter(pk__gte=low, pk__lte=high), None, batch_size), child,
                            defaultdict(set))
                with os.fdopen(writer, "w") as out:
                    out.write(json.dumps(child.as_dict()))
                status = 0
            except BaseException:
                log.exception("scorecard evaluation of entities %s to %s failed", low, high)
            finally:
                connections.close_all()
                os._exit(status)
        os.close(writer)
        children.append((pid, reader))
    failure = None
    try:
        if ranges:
            low, high = ranges[0]
            run_batches(_batches(entities.filter(pk__gte=low, pk__lte=high), None, batch_size), report, matched)
    except BaseException as exc:
        failure = exc
    for pid, reader in children:
        with os.fdopen(reader) as stream:
            text = stream.read()
        _, status = os.waitpid(pid, 0)
        if status != 0 or not text:
            failure = failure or RuntimeError("a scorecard evaluation process failed; see its log")
            continue
        for name, value in json.loads(text).items():
            if name == "phases":
                for phase, seconds in value.items():
                    report.phases[phase] += seconds
            elif name != "seconds":
                setattr(report, name, getattr(report, name) + value)
    if failure is not None:
        raise failure


def _batches(entities, wanted_ids: list[int] | None, batch_size: int):
    """Rows of ENTITY_COLUMNS in primary key order, ``batch_size`` at a time."""
    if wanted_ids is not None:
        for start in range(0, len(wanted_ids), batch_size):
            chunk = wanted_ids[start : start + batch_size]
            rows = list(entities.filter(pk__in=chunk).order_by("pk").values_list(*ENTITY_COLUMNS))
            if rows:
                yield rows
        return
    last = 0
    while True:
        rows = list(entities.filter(pk__gt=last).order_by("pk").values_list(*ENTITY_COLUMNS)[:batch_size])
        if not rows:
            return
        yield rows
        last = rows[-1][0]


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
                       wanted_ids: list[int] | None) -> int:
    """Results of entities a scorecard no longer applies to (filter changed, orphaned), and their policies."""
    deleted = 0
    for card in compiled:
        scorecard = card.scorecard
        if wanted_ids is None:
            in_scope = Entity.objects.filter(scorecard.entity_q()).values("pk")
            stale_levels = ScorecardResult.objects.filter(scorecard=scorecard).exclude(entity_id__in=in_scope)
            stale_rules = RuleResult.objects.filter(rule__scorecard=scorecard).exclude(entity_id__in=in_scope)
        else:
            kept = matched.get(scorecard.pk, set())
            gone = [entity_id for entity_id in wanted_ids if entity_id not in kept]
            if not gone:
                continue
            stale_levels = ScorecardResult.objects.filter(scorecard=scorecard, entity_id__in=gone)
            stale_rules = RuleResult.objects.filter(rule__scorecard=scorecard, entity_id__in=gone)
        deleted += stale_rules.delete()[0]
        stale_levels.delete()
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
