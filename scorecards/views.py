"""Scorecard, initiative and DORA pages, and the Scorecard and DORA tabs of catalog entity pages."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import timedelta

from django.contrib import messages
from django.contrib.admin.views.decorators import staff_member_required
from django.core.cache import cache
from django.core.paginator import Paginator
from django.db.models import Count, Q
from django.http import HttpRequest
from django.shortcuts import get_object_or_404, redirect, render
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone
from django.utils.safestring import mark_safe
from django.views.decorators.http import require_POST

from catalog.models import Entity
from catalog.presentation import split_ref
from portal import audit

from . import charts, checks, conf, dora, dora_queries, evaluation, levels
from .models import (
    Deployment,
    Initiative,
    Level,
    Rule,
    RuleResult,
    Scorecard,
    ScorecardResult,
    ScorecardSnapshot,
)
from .presentation import hours_text, level_badge, percent_text

PAGE_SIZE = 50
HISTORY_DAYS = 180
NO_OWNER = "(no owner)"


# ---------------------------------------------------------------- shared pieces


@dataclass
class LevelCount:
    level_id: int | None
    name: str
    count: int
    colour: str

    @property
    def param(self) -> str:
        return "none" if self.level_id is None else str(self.level_id)


# Counts over every result of a scorecard are cached until an evaluation changes a result (or for
# this long, for results deleted with their entity or rule outside an evaluation).
RESULT_COUNTS_SECONDS = 600


def _cached_counts(kind: str, scorecard: Scorecard, count):
    key = f"scorecards:{kind}:{scorecard.pk}:{evaluation.results_version()}"
    found = cache.get(key)
    if found is None:
        found = count()
        cache.set(key, found, RESULT_COUNTS_SECONDS)
    return found


def level_counts(scorecard: Scorecard) -> list[LevelCount]:
    counts = _cached_counts("levels", scorecard, lambda: dict(
        ScorecardResult.objects.filter(scorecard=scorecard).order_by().values_list("level_id").annotate(n=Count("pk"))
    ))
    rows = [LevelCount(None, "No level", counts.get(None, 0), charts.NO_LEVEL_COLOUR)]
    rows += [LevelCount(level.pk, level.name, counts.get(level.pk, 0), level.display_colour)
             for level in scorecard.levels.all()]
    return rows


def distribution_svg(rows: list[LevelCount], **kwargs) -> str:
    return mark_safe(charts.stacked_bar([(row.name, row.count, row.colour) for row in rows], **kwargs))  # noqa: S308


@dataclass
class RuleRow:
    rule: Rule
    status: str
    passed: int
    evaluated: int
    broken: list[str]

    @property
    def rate(self) -> float | None:
        return self.passed / self.evaluated if self.evaluated else None

    @property
    def percent(self) -> int:
        return round((self.rate or 0) * 100)


def rule_rows(scorecard: Scorecard, now) -> list[RuleRow]:
    rates = _cached_counts("rates", scorecard, lambda: {
        row["rule_id"]: row
        for row in RuleResult.objects.filter(rule__scorecard=scorecard).order_by().values("rule_id")
        .annotate(passed=Count("pk", filter=Q(passed=True)), evaluated=Count("pk"))
    })
    rows = []
    for rule in scorecard.rules.select_related("level").order_by("level__order", "name"):
        status = rule.status(now)
        if status == "disabled":
            continue
        rate = rates.get(rule.pk, {})
        rows.append(RuleRow(rule, status, rate.get("passed", 0), rate.get("evaluated", 0),
                            checks.validate_check(rule.check_spec)))
    return rows


def history_svg(scorecard: Scorecard, today) -> str:
    snapshots = list(
        ScorecardSnapshot.objects.filter(scorecard=scorecard, date__gte=today - timedelta(days=HISTORY_DAYS))
        .order_by("date")
    )
    days = [snapshot.date for snapshot in snapshots]
    colours = {level.name: level.display_colour for level in scorecard.levels.all()}
    names: list[str | None] = [None, *colours]
    series = []
    for name in names:
        values = []
        for snapshot in snapshots:
            counts = {
                entry[0]: entry[1] for entry in snapshot.level_counts if isinstance(entry, list) and len(entry) == 2
            }
            values.append(float(counts.get(name, 0)))
        series.append((name or "No level", colours.get(name) if name else charts.NO_LEVEL_COLOUR, values))
    return mark_safe(charts.history_chart(days, series))  # noqa: S308


# ---------------------------------------------------------------- scorecard pages


def index(request: HttpRequest):
    scorecards = list(Scorecard.objects.prefetch_related("levels"))
    cards = []
    for scorecard in scorecards:
        rows = level_counts(scorecard)
        cards.append({"scorecard": scorecard, "levels": rows, "total": sum(r.count for r in rows),
                      "bar": distribution_svg(rows)})
    initiatives = Initiative.objects.select_related("scorecard", "target_level")
    return render(request, "scorecards/index.html", {
        "cards": cards,
        "initiatives": initiatives,
        "today": timezone.localdate(),
    })


def detail(request: HttpRequest, pk: int):
    scorecard = get_object_or_404(Scorecard.objects.prefetch_related("levels"), pk=pk)
    now = timezone.now()
    rows = level_counts(scorecard)
    owner = request.GET.get("owner", "").strip().lower()[:400]
    level = request.GET.get("level", "").strip()[:20]
    results = ScorecardResult.objects.filter(scorecard=scorecard).select_related("entity", "level")
    if owner:
        results = results.filter(entity__owner_ref="" if owner == "none" else owner)
    if level == "none":
        results = results.filter(level__isnull=True)
    elif level.isdigit():
        results = results.filter(level_id=int(level))
    page = Paginator(results.order_by("entity__ref"), PAGE_SIZE).get_page(request.GET.get("page"))
    entity_ids = [result.entity_id for result in page.object_list]
    failing = dict(
        RuleResult.objects.filter(entity_id__in=entity_ids, rule__scorecard=scorecard, passed=False)
        .exclude(rule__state=Rule.State.DISABLED).order_by().values_list("entity_id").annotate(n=Count("pk"))
    )
    entries = [{"result": result, "failing": failing.get(result.entity_id, 0)} for result in page.object_list]
    query = request.GET.copy()
    query.pop("page", None)
    context = {
        "scorecard": scorecard,
        "levels": rows,
        "total": sum(r.count for r in rows),
        "bar": distribution_svg(rows, height=26),
        "rules": rule_rows(scorecard, now),
        "history": history_svg(scorecard, timezone.localdate()),
        "page": page,
        "entries": entries,
        "owners": _owners(scorecard),
        "owner": owner,
        "level": level,
        "querystring": query.urlencode(),
        "initiatives": scorecard.initiatives.all(),
    }
    template = "scorecards/detail.html#entities" if request.htmx else "scorecards/detail.html"
    return render(request, template, context)


def _owners(scorecard: Scorecard) -> list[str]:
    return list(
        Entity.objects.filter(scorecard_results__scorecard=scorecard).exclude(owner_ref="")
        .order_by("owner_ref").values_list("owner_ref", flat=True).distinct()
    )


@staff_member_required
@require_POST
def evaluate_now(request: HttpRequest, pk: int):
    scorecard = get_object_or_404(Scorecard, pk=pk)
    report = evaluation.evaluate(None, scorecard_ids=[scorecard.pk], force=True)
    evaluation.take_snapshots(scorecard_ids=[scorecard.pk])
    summary = (f"Evaluated {report.entities} entities in {report.seconds:.1f} s: "
               f"{report.results_written} results changed.")
    audit.record(request.user, "scorecards.scorecard.evaluate", scorecard, message=summary, request=request)
    messages.success(request, summary)
    return redirect(scorecard)


def initiative_detail(request: HttpRequest, pk: int):
    initiative = get_object_or_404(Initiative.objects.select_related("scorecard", "target_level"), pk=pk)
    scorecard = initiative.scorecard
    now = timezone.now()
    chosen = list(initiative.rules.all())
    level_list = list(scorecard.levels.all())
    ladder_rules = [
        rule.ladder_rule() for rule in scorecard.rules.select_related("level")
        if rule.status(now) != "disabled" and not checks.validate_check(rule.check_spec)
    ]
    scope = Entity.objects.filter(initiative.entity_q() & scorecard.entity_q())
    refs = dict(scope.values_list("pk", "ref"))
    owners = dict(scope.values_list("pk", "owner_ref"))
    results_by_owner: dict[str, dict[str, dict[str, bool]]] = defaultdict(dict)
    for entity_id in refs:
        results_by_owner[owners[entity_id] or NO_OWNER][refs[entity_id]] = {}
    for entity_id, rule_id, passed in RuleResult.objects.filter(
        entity_id__in=scope.values("pk"), rule__scorecard=scorecard
    ).values_list("entity_id", "rule_id", "passed"):
        results_by_owner[owners[entity_id] or NO_OWNER][refs[entity_id]][str(rule_id)] = passed
    progress = None
    problem = ""
    try:
        progress = levels.initiative_progress(
            rule_keys=[rule.key for rule in chosen],
            deadline=initiative.deadline,
            results_by_owner=results_by_owner,
            now=now,
            target_level=initiative.target_level.name if initiative.target_level else None,
            levels=[level.name for level in level_list],
            rules=ladder_rules,
        )
    except levels.LevelError as exc:
        problem = str(exc)
    names = {str(rule.pk): rule.name for rule in scorecard.rules.all()}
    teams = []
    if progress:
        for team in progress.teams:
            teams.append({
                "team": team,
                "percent": round((team.rate or 0) * 100),
                "failing": [(names.get(key, key), count) for key, count in team.failing_rules.items()],
            })
    return render(request, "scorecards/initiative.html", {
        "initiative": initiative,
        "scorecard": scorecard,
        "rules": chosen,
        "progress": progress,
        "percent": round((progress.rate or 0) * 100) if progress else 0,
        "teams": teams,
        "problem": problem,
        "no_owner": NO_OWNER,
        "days_left": (initiative.deadline - timezone.localdate()).days,
        "days_past": (timezone.localdate() - initiative.deadline).days,
    })


# ---------------------------------------------------------------- DORA pages


def _days(request: HttpRequest) -> int:
    try:
        days = int(request.GET.get("days", dora_queries.DEFAULT_DAYS))
    except ValueError:
        return dora_queries.DEFAULT_DAYS
    return days if days in dora_queries.WINDOWS else dora_queries.DEFAULT_DAYS


def dora_panel(scope: dora_queries.Scope, days: int, now=None) -> dict:
    """Four cards (figure, level, trend chart) for one scope and window."""
    now = now or timezone.now()
    result, trend = dora_queries.dashboard(scope, days, now)
    level_of = result.levels()
    labels = [point.start.strftime("%b %d") for point in trend]

    def series(values):
        return list(zip(labels, values, strict=True))

    bucket = result.bucket or "no whole week in the window"
    cards = [
        {
            "title": "Deployment frequency",
            "value": f"{result.per_week:.1f} per week",
            "detail": f"{result.count} production deployment{'s' if result.count != 1 else ''} · {bucket}",
            "level": level_of["deployment_frequency_per_week"],
            "chart": charts.trend_chart(series([float(p.deployments) for p in trend]), kind="bar",
                                        title="Deployments per week"),
        },
        {
            "title": "Lead time for changes",
            "value": hours_text(result.lead_time_hours),
            "detail": "median from commit to production",
            "level": level_of["lead_time_hours"],
            "chart": charts.trend_chart(series([p.lead_time_hours for p in trend]), kind="line", unit="h",
                                        title="Median lead time per week"),
        },
        {
            "title": "Change failure rate",
            "value": percent_text(result.change_failure_rate),
            "detail": "deployments that caused an incident",
            "level": level_of["change_failure_rate"],
            "chart": charts.trend_chart(
                series([None if p.change_failure_rate is None else p.change_failure_rate * 100 for p in trend]),
                kind="bar", unit="%", title="Change failure rate per week"),
        },
        {
            "title": "Time to restore",
            "value": hours_text(result.time_to_restore_hours),
            "detail": "median from incident opened to resolved",
            "level": level_of["time_to_restore_hours"],
            "chart": charts.trend_chart(series([p.time_to_restore_hours for p in trend]), kind="line", unit="h",
                                        title="Median time to restore per week"),
        },
    ]
    for card in cards:
        card["badge"] = level_badge(card["level"])
        card["chart"] = mark_safe(card["chart"])  # noqa: S308 -- built by charts.py with escaped text
    return {"cards": cards, "days": days, "windows": dora_queries.WINDOWS, "table": result.table,
            "environment": conf.production_environment()}


TEAM_FIGURES = (
    ("deployment_frequency_per_week", lambda value: f"{value:.1f} per week"),
    ("lead_time_hours", hours_text),
    ("change_failure_rate", percent_text),
    ("time_to_restore_hours", hours_text),
)


def team_rows(days: int, now=None) -> list[dict]:
    """The organisation's "by team" table: each owning group's four figures and levels, by name."""
    window = dora_queries.Window.last(days, now or timezone.now())
    by_owner = dora_queries.figures_by_owner(window)
    table = conf.performance_table()
    known = {ref: title or name for ref, title, name in
             Entity.objects.filter(ref__in=list(by_owner)).values_list("ref", "title", "name")}
    rows = []
    for owner, figures in by_owner.items():
        kind, namespace, name = split_ref(owner)
        cells = []
        for figure, text in TEAM_FIGURES:
            value = figures[figure]
            level = dora.level_for(figure, value, table)
            cells.append({"text": "no data" if value is None else text(value), "level": level,
                          "badge": level_badge(level)})
        rows.append({
            "ref": owner,
            "label": known.get(owner) or (name if namespace == "default" else f"{namespace}/{name}"),
            # The group's DORA tab, when the catalog knows the group.
            "url": reverse("catalog:entity-tab", args=[namespace, kind, name, "dora"]) if owner in known else "",
            "cells": cells,
        })
    return sorted(rows, key=lambda row: (row["label"].lower(), row["ref"]))


def dora_index(request: HttpRequest):
    days = _days(request)
    group = request.GET.get("group", "").strip().lower()[:400]
    system = request.GET.get("system", "").strip().lower()[:400]
    if system:
        scope = dora_queries.Scope("system", system)
    elif group:
        scope = dora_queries.Scope("group", group)
    else:
        scope = dora_queries.Scope()
    groups = Entity.objects.filter(kind="group").order_by("name").values_list("ref", "title", "name")
    systems = Entity.objects.filter(kind="system").order_by("name").values_list("ref", "title", "name")
    context = {
        **dora_panel(scope, days),
        "scope": scope,
        "group": group,
        "system": system,
        "groups": [(ref, title or name) for ref, title, name in groups],
        "systems": [(ref, title or name) for ref, title, name in systems],
        "has_events": Deployment.objects.exists(),
        "teams": team_rows(days) if scope.kind == "organisation" else None,
    }
    template = "scorecards/dora_index.html#panel" if request.htmx else "scorecards/dora_index.html"
    return render(request, template, context)


# ---------------------------------------------------------------- catalog entity tabs


def entity_tabs(entity: Entity) -> list[tuple[str, str]]:
    tabs = []
    if ScorecardResult.objects.filter(entity=entity).exists() or (
        entity.kind == "group" and ScorecardResult.objects.filter(entity__owner_ref=entity.ref).exists()
    ):
        tabs.append(("scorecard", "Scorecard"))
    if _entity_scope(entity) is not None:
        tabs.append(("dora", "DORA"))
    return tabs


def _entity_scope(entity: Entity) -> dora_queries.Scope | None:
    if entity.kind == "group":
        scope = dora_queries.Scope("group", entity.ref)
    elif entity.kind == "system":
        scope = dora_queries.Scope("system", entity.ref)
    else:
        scope = dora_queries.Scope("entity", entity.ref)
    return scope if Deployment.objects.filter(scope.q()).exists() else None


def render_entity_tab(request: HttpRequest, entity: Entity, slug: str) -> str | None:
    if slug == "scorecard":
        return render_to_string("scorecards/entity_tab.html", scorecard_tab_context(entity), request=request)
    if slug == "dora":
        scope = _entity_scope(entity) or dora_queries.Scope("entity", entity.ref)
        context = {**dora_panel(scope, _days(request)), "entity": entity}
        return render_to_string("scorecards/dora_tab.html", context, request=request)
    return None


def scorecard_tab_context(entity: Entity) -> dict:
    now = timezone.now()
    results = list(ScorecardResult.objects.filter(entity=entity).select_related("scorecard", "level"))
    scorecard_ids = [result.scorecard_id for result in results]
    rule_results = {
        result.rule_id: result
        for result in RuleResult.objects.filter(entity=entity, rule__scorecard_id__in=scorecard_ids)
    }
    rules_by_card: dict[int, list[Rule]] = defaultdict(list)
    for rule in Rule.objects.filter(scorecard_id__in=scorecard_ids).select_related("level").order_by(
        "level__order", "name"
    ):
        rules_by_card[rule.scorecard_id].append(rule)
    levels_by_card: dict[int, list[Level]] = defaultdict(list)
    for level in Level.objects.filter(scorecard_id__in=scorecard_ids):
        levels_by_card[level.scorecard_id].append(level)
    cards = []
    for result in sorted(results, key=lambda r: r.scorecard.name):
        level_list = levels_by_card[result.scorecard_id]
        rows = []
        ladder_rules = []
        outcomes = {}
        for rule in rules_by_card[result.scorecard_id]:
            status = rule.status(now)
            if status == "disabled":
                continue
            outcome = rule_results.get(rule.pk)
            broken = checks.validate_check(rule.check_spec)
            if not broken:
                ladder_rules.append(rule.ladder_rule())
                if outcome is not None:
                    outcomes[rule.key] = outcome.passed
            rows.append({"rule": rule, "status": status, "result": outcome, "broken": broken,
                         "how_to_fix": mark_safe(rule.how_to_fix_html())})  # noqa: S308 -- cleaned by nh3
        ladder = levels.evaluate_ladder([level.name for level in level_list], ladder_rules, outcomes, now)
        cards.append({
            "scorecard": result.scorecard,
            "result": result,
            "level": result.level,
            "next_level": ladder.next_level,
            "blocking": len(ladder.blocking),
            "rows": rows,
            "levels": level_list,
        })
    return {"entity": entity, "cards": cards, "rollups": group_rollups(entity, now) if entity.kind == "group" else []}


def group_rollups(group: Entity, now) -> list[dict]:
    """For each scorecard, the team roll-up of the entities the group owns."""
    owned = Entity.objects.filter(owner_ref=group.ref, orphan=False)
    refs = dict(owned.values_list("pk", "ref"))
    if not refs:
        return []
    rollups = []
    scorecards = Scorecard.objects.filter(results__entity__owner_ref=group.ref).distinct().prefetch_related("levels")
    for scorecard in scorecards:
        rules = [
            rule for rule in scorecard.rules.select_related("level")
            if rule.status(now) != "disabled" and not checks.validate_check(rule.check_spec)
        ]
        scored = dict(
            ScorecardResult.objects.filter(scorecard=scorecard, entity__owner_ref=group.ref)
            .values_list("entity_id", "level__name")
        )
        results_per_entity: dict[str, dict[str, bool]] = {refs[entity_id]: {} for entity_id in scored if
                                                          entity_id in refs}
        for entity_id, rule_id, passed in RuleResult.objects.filter(
            entity_id__in=list(scored), rule__scorecard=scorecard
        ).values_list("entity_id", "rule_id", "passed"):
            if entity_id in refs:
                results_per_entity[refs[entity_id]][str(rule_id)] = passed
        level_list = list(scorecard.levels.all())
        rollup = levels.team_rollup([level.name for level in level_list], [rule.ladder_rule() for rule in rules],
                                    results_per_entity, now)
        colours = {level.name: level.display_colour for level in level_list}
        counts = [
            LevelCount(None, name or "No level", count, colours.get(name, charts.NO_LEVEL_COLOUR) if name
                       else charts.NO_LEVEL_COLOUR)
            for name, count in rollup.level_counts
        ]
        names = {rule.key: rule for rule in rules}
        rollups.append({
            "scorecard": scorecard,
            "entity_count": rollup.entity_count,
            "bar": distribution_svg(counts),
            "levels": counts,
            "rules": [
                {"rule": names[rate.key], "status": rate.status, "passed": rate.passed, "evaluated": rate.evaluated,
                 "percent": round((rate.rate or 0) * 100)}
                for rate in rollup.rules
            ],
            "entities": sorted(rollup.reached.items()),
        })
    return rollups

