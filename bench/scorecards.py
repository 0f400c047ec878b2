"""Scorecards and DORA benchmark (prints figures, asserts nothing).

    python bench/scorecards.py [--entities 10000] [--rules 20] [--deployments 100000] [--changes 300000]
                               [--incidents 1000] [--repeat 10]

The target sizes are 100,000 entities x 20 rules, and 1,000,000 deployments, 3,000,000
changes and 10,000 incidents (on PostgreSQL); the defaults are smaller so `make bench` stays
quick. Measures, in a throwaway database (DATABASE_URL selects PostgreSQL):
- evaluating every scorecard rule over every entity: the first run (every result written)
  and a second run over the unchanged catalog (nothing to write);
- the DORA figures (the four keys, the weekly trends, the dashboard and GET /api/dora/metrics)
  for one team and for the whole organisation, p50/p95 over --repeat runs.
Events are generated inside the database (generate_series on PostgreSQL, a recursive CTE on SQLite).
"""

import argparse
import json
import sys
import time
import uuid
from pathlib import Path

from _harness import ROOT, percentile, setup_django, throwaway_database

# This file is bench/scorecards.py: keep the bench folder off the path so `scorecards` is the app.
sys.path[:] = [str(ROOT)] + [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).resolve().parent]

GROUPS = 50
RULES = [
    {"type": "field_present", "path": "metadata.description"},
    {"type": "field_present", "path": "spec.lifecycle"},
    {"type": "field_equals", "path": "spec.lifecycle", "value": "production"},
    {"type": "field_matches", "path": "metadata.name", "pattern": "^[a-z][a-z0-9-]*$"},
    {"type": "field_in", "path": "spec.type", "values": ["service", "website", "library"]},
    {"type": "annotation_present", "key": "backstage.io/techdocs-ref"},
    {"type": "annotation_present", "key": "github.com/project-slug"},
    {"type": "relation_exists", "relation": "ownedBy"},
    {"type": "relation_exists", "relation": "partOf"},
    {"type": "owner_is_group"},
    {"type": "expression", "expression": "length(metadata.tags || `[]`) > `0`"},
    {"type": "expression", "expression": "metadata.links[?type=='runbook'] | length(@) > `0`"},
    {"type": "field_present", "path": "metadata.title"},
    {"type": "field_present", "path": "spec.system"},
    {"type": "field_matches", "path": "spec.owner", "pattern": "^team-"},
    {"type": "field_in", "path": "spec.lifecycle", "values": ["production", "experimental"]},
    {"type": "techdocs_built"},
    {"type": "dora_threshold", "figure": "lead_time_hours", "operator": "<", "value": 168},
    {"type": "field_present", "path": "metadata.annotations[\"backstage.io/source-location\"]"},
    {"type": "expression", "expression": "spec.type == 'service'"},
]


def make_entities(count: int) -> None:
    from django.utils import timezone

    from catalog.models import Entity, Relation
    from scorecards.evaluation import _insert

    now = timezone.now()
    columns = ["uid", "ref", "kind", "namespace", "name", "title", "description", "spec_type", "lifecycle",
               "owner_ref", "system_ref", "tags", "data", "etag", "source_location", "orphan", "errors", "has_errors",
               "search_text", "source_hash", "created_at", "updated_at"]
    postgres = _vendor() == "postgresql"

    def j(value):
        return json.dumps(value) if postgres else value

    rows, relations = [], []
    for index in range(GROUPS):
        name = f"team-{index}"
        data = {"apiVersion": "backstage.io/v1alpha1", "kind": "Group", "metadata": {"name": name},
                "spec": {"type": "team"}}
        rows.append((uuid.uuid4(), f"group:default/{name}", "group", "default", name, "", "", "team", "", "", "",
                     j([]), j(data), "x", "", False, j([]), False, name, "", now, now))
    for index in range(count):
        name = f"c-{index}"
        owner = f"team-{index % GROUPS}"
        annotations = {"backstage.io/techdocs-ref": "dir:."} if index % 3 else {}
        if index % 2:
            annotations["github.com/project-slug"] = f"acme/{name}"
        metadata = {"name": name, "annotations": annotations, "tags": ["python"] if index % 4 else []}
        if index % 5:
            metadata["description"] = f"Component number {index}"
        if index % 7 == 0:
            metadata["links"] = [{"url": "https://runbooks.example.com", "type": "runbook"}]
        spec = {"type": ("service", "website", "library")[index % 3],
                "lifecycle": ("production", "experimental", "deprecated")[index % 3], "owner": owner}
        if index % 2:
            spec["system"] = f"system-{index % 200}"
        data = {"apiVersion": "backstage.io/v1alpha1", "kind": "Component", "metadata": metadata, "spec": spec}
        ref = f"component:default/{name}"
        rows.append((uuid.uuid4(), ref, "component", "default", name, "", metadata.get("description", ""),
                     spec["type"], spec["lifecycle"], f"group:default/{owner}",
                     f"system:default/{spec['system']}" if "system" in spec else "", j(metadata["tags"]), j(data), "x",
                     "", False, j([]), False, name, "", now, now))
        relations.append((ref, "ownedBy", f"group:default/{owner}"))
        if "system" in spec:
            relations.append((ref, "partOf", f"system:default/{spec['system']}"))
    _insert(Entity, columns, rows)
    first = Entity.objects.order_by("pk").values_list("pk", flat=True).first()
    _insert(Relation, ["originating_id", "source_ref", "type", "target_ref"],
            [(first, source, kind, target) for source, kind, target in relations])


def _vendor() -> str:
    from django.db import connection

    return connection.vendor


def make_scorecard(rule_count: int):
    from scorecards.models import Level, Rule, Scorecard

    scorecard = Scorecard.objects.create(name="Bench", kinds=["component"])
    scorecard.ensure_default_levels()
    levels = list(Level.objects.filter(scorecard=scorecard))
    for index in range(rule_count):
        Rule.objects.create(scorecard=scorecard, level=levels[index % 3], name=f"rule {index}",
                            check_spec=RULES[index % len(RULES)])


def make_events(entities: int, deployments: int, changes: int, incidents: int) -> None:
    """Events for the first components, generated by the database itself."""
    from django.db import connection

    from scorecards import dora_events

    components = max(1, min(entities, 2000))
    per_deploy = max(1, round(changes / max(1, deployments)))
    postgres = connection.vendor == "postgresql"
    if postgres:
        series = "generate_series(1, {n}) AS {a}(g)"
        ago = "(now() - (random() * interval '365 days'))"
        hours_before = "{t} - (random() * interval '96 hours')"
        hours_after = "{t} + (random() * interval '30 hours')"
        rand_int = "(floor(random() * {n}) + 1)::int"
        concat = "||"
    else:
        series = "(WITH RECURSIVE r(g) AS (SELECT 1 UNION ALL SELECT g + 1 FROM r WHERE g < {n}) SELECT g FROM r) {a}"
        ago = "datetime('now', '-' || (abs(random()) % 31536000) || ' seconds')"
        hours_before = "datetime({t}, '-' || (abs(random()) % 345600) || ' seconds')"
        hours_after = "datetime({t}, '+' || (abs(random()) % 108000) || ' seconds')"
        rand_int = "(abs(random()) % {n} + 1)"
        concat = "||"
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO scorecards_deployment "  # noqa: S608 -- generated bench data, our own SQL
            "(external_id, entity_ref, environment, finished_at, status, received_at) "
            f"SELECT 'd' {concat} g, 'component:default/c-' {concat} (g % {components}), "
            "CASE WHEN g % 10 = 0 THEN 'staging' ELSE 'production' END, "
            f"{ago}, CASE WHEN g % 25 = 0 THEN 'failure' ELSE 'success' END, {ago} "
            f"FROM {series.format(n=deployments, a='s')}"
        )
        sha = f"'s' {concat} d.id {concat} '-' {concat} k.g"
        cursor.execute(
            "INSERT INTO scorecards_change (external_id, sha, entity_ref, committed_at, received_at) "  # noqa: S608
            f"SELECT {sha}, {sha}, d.entity_ref, {hours_before.format(t='d.finished_at')}, d.finished_at "
            f"FROM scorecards_deployment d CROSS JOIN {series.format(n=per_deploy, a='k')}"
        )
        # The commits a deployment shipped, written with their derived columns as the store path leaves them
        # (rebuilding below then rewrites nothing on PostgreSQL, where rows are millions).
        cursor.execute(
            "INSERT INTO scorecards_deploymentcommit "  # noqa: S608
            "(deployment_id, sha, entity_ref, environment, status, finished_at, committed_at) "
            "SELECT d.id, c.sha, d.entity_ref, d.environment, d.status, d.finished_at, c.committed_at "
            f"FROM scorecards_deployment d CROSS JOIN {series.format(n=per_deploy, a='k')} "
            f"JOIN scorecards_change c ON c.sha = {sha}"
        )
        cursor.execute(
            "INSERT INTO scorecards_incident (external_id, entity_ref, opened_at, resolved_at, caused_by_sha, "  # noqa: S608
            "caused_by_deployment, received_at) "
            f"SELECT 'i' {concat} g, 'component:default/c-' {concat} (g % {components}), {ago}, NULL, '', "
            f"'d' {concat} {rand_int.format(n=deployments)}, {ago} FROM {series.format(n=incidents, a='s')}"
        )
        cursor.execute(
            f"UPDATE scorecards_incident SET resolved_at = {hours_after.format(t='opened_at')} "  # noqa: S608
            "WHERE external_id NOT LIKE '%0'"
        )
    # Rows inserted in bulk skip the store path: derive what it would (here: which deployments caused an incident).
    started = time.perf_counter()
    written = dora_events.rebuild_derived()
    print(f"  derived DORA columns rebuilt in {time.perf_counter() - started:.1f} s ({written} rows written)")
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE" if postgres else "ANALYZE")


def phases(report) -> str:
    return ", ".join(f"{name} {seconds:.1f} s" for name, seconds in report.phases.items())


def timed(function, repeat: int) -> tuple[float, float]:
    samples = []
    for _ in range(repeat):
        started = time.perf_counter()
        function()
        samples.append(time.perf_counter() - started)
    return percentile(samples, 0.5) * 1000, percentile(samples, 0.95) * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--entities", type=int, default=10_000)
    parser.add_argument("--rules", type=int, default=20)
    parser.add_argument("--deployments", type=int, default=100_000)
    parser.add_argument("--changes", type=int, default=300_000)
    parser.add_argument("--incidents", type=int, default=1_000)
    parser.add_argument("--repeat", type=int, default=10)
    args = parser.parse_args()
    setup_django()
    from django.contrib.auth import get_user_model
    from django.test import Client
    from django.utils import timezone

    from scorecards import dora_queries, evaluation, views
    from scorecards.models import RuleResult

    with throwaway_database() as connection:
        print(f"database: {connection.vendor}")
        started = time.perf_counter()
        make_entities(args.entities)
        make_scorecard(args.rules)
        print(f"catalog: {args.entities} components, {GROUPS} groups in {time.perf_counter() - started:.1f} s")

        first = evaluation.evaluate()
        print(f"evaluate, first run: {first.entities} entities x {args.rules} rules = {first.evaluations} checks "
              f"in {first.seconds:.1f} s ({first.results_written} results written, "
              f"{first.evaluations / max(first.seconds, 1e-9):,.0f} checks/s)")
        print("  time per phase (main thread): " + phases(first))
        second = evaluation.evaluate()
        print(f"evaluate, unchanged catalog: {second.seconds:.1f} s ({second.results_written} results written)")
        print("  time per phase (main thread): " + phases(second))
        started = time.perf_counter()
        evaluation.take_snapshots()
        print(f"daily snapshot: {(time.perf_counter() - started) * 1000:.0f} ms; "
              f"{RuleResult.objects.count()} rule results stored")

        started = time.perf_counter()
        make_events(args.entities, args.deployments, args.changes, args.incidents)
        from scorecards.models import Change, Deployment, Incident

        print(f"events: {Deployment.objects.count()} deployments, {Change.objects.count()} changes, "
              f"{Incident.objects.count()} incidents generated in {time.perf_counter() - started:.1f} s")
        now = timezone.now()
        team = dora_queries.Scope("group", "group:default/team-1")
        org = dora_queries.Scope()
        user = get_user_model().objects.create_user("bench")
        client = Client()
        client.force_login(user)
        from scorecards.models import Scorecard

        scorecard_url = Scorecard.objects.get().get_absolute_url()
        cases = [
            ("scorecard page (levels, rules, history, entities)", lambda: client.get(scorecard_url)),
            ("Scorecard tab of one entity", lambda: client.get("/catalog/default/component/c-1/scorecard/")),
            ("Scorecard tab of a team (roll-up)", lambda: client.get("/catalog/default/group/team-1/scorecard/")),
            ("four keys, one team, 30 days", lambda: dora_queries.metrics(team, dora_queries.Window.last(30, now))),
            ("four keys, organisation, 30 days", lambda: dora_queries.metrics(org, dora_queries.Window.last(30, now))),
            ("four keys, organisation, 90 days", lambda: dora_queries.metrics(org, dora_queries.Window.last(90, now))),
            ("weekly trend, one team, 90 days", lambda: dora_queries.weekly_trend(team, 90, now)),
            ("weekly trend, organisation, 90 days", lambda: dora_queries.weekly_trend(org, 90, now)),
            ("dashboard, one team, 30 days", lambda: views.dora_panel(team, 30, now)),
            ("dashboard, organisation, 30 days", lambda: views.dora_panel(org, 30, now)),
            ("GET /api/dora/metrics?group=team-1", lambda: client.get("/api/dora/metrics", {"group": "team-1"})),
            ("GET /api/dora/metrics (organisation)", lambda: client.get("/api/dora/metrics")),
            ("figures per entity for checks, 30 days", lambda: dora_queries.figures_by_entity(None, 30, now)),
        ]
        for label, function in cases:
            p50, p95 = timed(function, args.repeat)
            print(f"{label}: p50 {p50:.0f} ms, p95 {p95:.0f} ms")


if __name__ == "__main__":
    main()
