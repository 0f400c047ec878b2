"""Catalog benchmark: ingestion and page/API latency at scale (prints figures, asserts nothing).

    python bench/catalog.py [--entities 10000] [--requests 200]

Generates a fictional company of N entities (groups, users, systems, components, APIs,
resources) as catalog files in a git repository, then measures, in one run:
- cold ingest, unchanged refresh and one-file-changed refresh of that repository;
- on PostgreSQL, loading the same rows with a raw COPY (the floor; the ratio is what counts);
- p50/p95 of /catalog/ with a facet filter, an entity page, GET /api/catalog/entities?limit=100
  and the global search.
Runs against DATABASE_URL in a throwaway test database.
"""

import argparse
import json
import os
import random
import shutil
import statistics
import subprocess
import tempfile
import time
from pathlib import Path

from _harness import percentile, setup_django, throwaway_database

ENTITIES_PER_FILE = 100
WORDS = ("billing ledger payments orders catalog search shipping tracking invoices pricing auth identity "
         "notifications inventory warehouse routing fleet analytics reports gateway").split()


def entity_docs(count: int, rng: random.Random) -> list[str]:
    """A realistic mix: 2% groups, 8% users, 2% systems, 60% components, 18% APIs, 10% resources."""
    groups = max(4, count // 50)
    users = max(8, count // 12)
    systems = max(2, count // 50)
    apis = max(4, count * 18 // 100)
    resources = max(2, count // 10)
    components = max(1, count - groups - users - systems - apis - resources)
    docs = []
    for i in range(groups):
        docs.append(f"apiVersion: backstage.io/v1alpha1\nkind: Group\nmetadata: {{name: team-{i}}}\n"
                    f"spec: {{type: team, children: []}}\n")
    for i in range(users):
        docs.append(f"apiVersion: backstage.io/v1alpha1\nkind: User\nmetadata: {{name: user-{i}}}\n"
                    f"spec: {{memberOf: [team-{i % groups}], profile: {{email: user-{i}@example.com}}}}\n")
    for i in range(systems):
        docs.append(f"apiVersion: backstage.io/v1alpha1\nkind: System\nmetadata: {{name: system-{i}}}\n"
                    f"spec: {{owner: team-{i % groups}}}\n")
    for i in range(apis):
        docs.append(f"apiVersion: backstage.io/v1alpha1\nkind: API\nmetadata: {{name: api-{i}}}\n"
                    f"spec: {{type: openapi, lifecycle: production, owner: team-{i % groups}, "
                    f"system: system-{i % systems}, definition: 'openapi: 3.0.0'}}\n")
    for i in range(resources):
        docs.append(f"apiVersion: backstage.io/v1alpha1\nkind: Resource\nmetadata: {{name: resource-{i}}}\n"
                    f"spec: {{type: database, owner: team-{i % groups}, system: system-{i % systems}}}\n")
    for i in range(components):
        word = rng.choice(WORDS)
        kind = rng.choice(["service", "service", "website", "library"])
        life = rng.choice(["production", "production", "experimental", "deprecated"])
        deps = f"dependsOn: [resource:resource-{rng.randrange(resources)}], " if rng.random() < .5 else ""
        docs.append(
            f"apiVersion: backstage.io/v1alpha1\nkind: Component\nmetadata:\n  name: {word}-{i}\n"
            f"  description: The {word} service number {i}\n  tags: [{word}, {kind}]\n"
            f"spec: {{type: {kind}, lifecycle: {life}, owner: team-{i % groups}, system: system-{i % systems}, "
            f"{deps}providesApis: [api-{i % apis}], consumesApis: [api-{(i * 7) % apis}]}}\n"
        )
    return docs


def git(cwd: Path, *args: str) -> str:
    env = dict(os.environ, GIT_AUTHOR_NAME="bench", GIT_AUTHOR_EMAIL="bench@example.com",
               GIT_COMMITTER_NAME="bench", GIT_COMMITTER_EMAIL="bench@example.com")
    return subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True, text=True, env=env).stdout


def make_repository(root: Path, docs: list[str]) -> tuple[Path, Path]:
    work, bare = root / "work", root / "catalog.git"
    git(root, "init", "-q", "--bare", "-b", "main", str(bare))
    git(root, "init", "-q", "-b", "main", str(work))
    targets = []
    for start in range(0, len(docs), ENTITIES_PER_FILE):
        name = f"entities/part-{start // ENTITIES_PER_FILE:05d}.yaml"
        path = work / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("---\n".join(docs[start:start + ENTITIES_PER_FILE]))
        targets.append(f"./{name}")
    (work / "catalog-info.yaml").write_text(
        "apiVersion: backstage.io/v1alpha1\nkind: Location\nmetadata: {name: bench}\n"
        "spec:\n  targets:\n" + "".join(f"    - {t}\n" for t in targets)
    )
    git(work, "add", ".")
    git(work, "commit", "-q", "-m", "catalog")
    git(work, "push", "-q", str(bare), "main")
    return work, bare


def timed(fn):
    start = time.perf_counter()
    result = fn()
    return time.perf_counter() - start, result


def copy_floor(connection) -> float | None:
    """Time to load the same entity and relation rows with COPY into scratch tables (PostgreSQL only)."""
    if connection.vendor != "postgresql":
        return None
    with connection.cursor() as cursor:
        cursor.execute("SELECT ref, kind, namespace, name, data::text FROM catalog_entity")
        entities = cursor.fetchall()
        cursor.execute("SELECT source_ref, type, target_ref FROM catalog_relation")
        relations = cursor.fetchall()
        cursor.execute("CREATE TEMP TABLE bench_entity (ref text, kind text, namespace text, name text, data jsonb)")
        cursor.execute("CREATE TEMP TABLE bench_relation (source_ref text, type text, target_ref text)")
    raw = connection.connection
    start = time.perf_counter()
    with raw.cursor() as cur:
        with cur.copy("COPY bench_entity FROM STDIN") as copy:
            for row in entities:
                copy.write_row(row)
        with cur.copy("COPY bench_relation FROM STDIN") as copy:
            for row in relations:
                copy.write_row(row)
    elapsed = time.perf_counter() - start
    with connection.cursor() as cursor:
        cursor.execute("DROP TABLE bench_entity; DROP TABLE bench_relation")
    return elapsed


def latency(client, url: str, requests: int) -> tuple[float, float, int]:
    status = client.get(url).status_code  # warm-up
    samples = []
    for _ in range(requests):
        start = time.perf_counter()
        status = client.get(url).status_code
        samples.append((time.perf_counter() - start) * 1000)
    return statistics.median(samples), percentile(samples, 0.95), status


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--entities", type=int, default=10_000)
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()

    setup_django()
    from django.conf import settings
    from django.contrib.auth import get_user_model
    from django.test import Client

    from catalog.ingest import refresh_location
    from catalog.models import Entity, Location, Relation

    rng = random.Random(args.seed)
    scratch = Path(tempfile.mkdtemp(prefix="causeway-bench-"))
    settings.CATALOG_GIT_CACHE_DIR = scratch / "git-cache"
    settings.CATALOG_MAX_FILES = max(settings.CATALOG_MAX_FILES, args.entities // ENTITIES_PER_FILE + 10)
    with throwaway_database() as connection:
        docs = entity_docs(args.entities, rng)
        work, bare = make_repository(scratch, docs)
        print(f"database: {connection.vendor}; entities: {len(docs):,} in {len(docs) // ENTITIES_PER_FILE + 1} files")

        location = Location.objects.create(type="git", target=str(bare), git_ref="main")
        cold, report = timed(lambda: refresh_location(location))
        print(f"cold ingest:            {cold:8.2f} s  ({report.summary()})")
        unchanged, report = timed(lambda: refresh_location(location))
        print(f"unchanged refresh:      {unchanged:8.2f} s  ({report.summary()})")

        last = sorted((work / "entities").glob("*.yaml"))[-1]
        last.write_text(last.read_text().replace("description: The ", "description: The renamed ", 1))
        git(work, "commit", "-q", "-am", "change one file")
        git(work, "push", "-q", str(bare), "main")
        one_file, report = timed(lambda: refresh_location(location))
        print(f"one-file-changed:       {one_file:8.2f} s  ({report.summary()})")

        floor = copy_floor(connection)
        if floor is not None:
            print(f"raw COPY of same rows:  {floor:8.2f} s  (cold ingest is {cold / floor:.1f}x the COPY floor)")
        else:
            print("raw COPY of same rows:  n/a (PostgreSQL only)")
        print(f"stored: {Entity.objects.count():,} entities, {Relation.objects.count():,} relations")

        user = get_user_model().objects.create_user("bench", password="bench-password-123")
        client = Client()
        client.force_login(user)
        component = Entity.objects.filter(kind="component").order_by("ref")[len(docs) // 3 // 2]
        probes = [
            ("/catalog/ kind+lifecycle facet", "/catalog/?kind=component&lifecycle=production"),
            ("entity page", component.get_absolute_url()),
            ("GET /api/catalog/entities?limit=100", "/api/catalog/entities?limit=100"),
            ("search 'ledger'", "/search/?q=ledger"),
        ]
        print(f"latency over {args.requests} requests each:")
        for label, url in probes:
            p50, p95, status = latency(client, url, args.requests)
            note = "" if status == 200 else f"  (status {status})"
            print(f"  {label:38} p50 {p50:7.1f} ms   p95 {p95:7.1f} ms{note}")
        print(json.dumps({"entities": len(docs), "cold_s": round(cold, 2), "unchanged_s": round(unchanged, 2),
                          "one_file_s": round(one_file, 2), "copy_s": floor and round(floor, 2)}))
    shutil.rmtree(scratch, ignore_errors=True)


if __name__ == "__main__":
    main()
