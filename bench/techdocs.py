"""TechDocs: build a generated 500-page site with our builder and with `mkdocs build`, then time page views.

    python bench/techdocs.py [--pages 500] [--requests 200] [--no-mkdocs]

Prints figures, asserts nothing. MkDocs is installed into this virtualenv the first time the benchmark
runs (it is no dependency of the portal); with --no-mkdocs, or when it cannot be installed, that
comparison is skipped. The page views run against a throwaway test database (DATABASE_URL selects it).
"""

import argparse
import importlib.util
import os
import posixpath
import random
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings")

SECTIONS = ("guides", "reference", "operations", "architecture", "tutorials")

CATALOG = """apiVersion: backstage.io/v1alpha1
kind: Component
metadata:
  name: bench-handbook
  annotations:
    backstage.io/techdocs-ref: dir:.
spec: {type: service, lifecycle: production, owner: team-bench}
"""

MKDOCS_YML = """site_name: Bench handbook
docs_dir: docs
markdown_extensions:
  - admonition
  - tables
  - toc:
      permalink: true
  - pymdownx.highlight
  - pymdownx.superfences
"""


def percentile(samples: list[float], fraction: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(round(fraction * (len(ordered) - 1))))]


def page_path(number: int) -> str:
    return f"{SECTIONS[number % len(SECTIONS)]}/part-{number % 10}/page-{number}.md" if number else "index.md"


def page_text(number: int, rng: random.Random) -> str:
    words = ["ledger", "settlement", "payment", "refund", "queue", "retry", "token", "schema", "deploy", "metric"]

    def sentence() -> str:
        return " ".join(rng.choice(words) for _ in range(14)).capitalize() + "."

    parts = [f"# Page {number}\n", " ".join(sentence() for _ in range(5)) + "\n"]
    for section in range(1, 5):
        parts.append(f"## Section {number}.{section}\n")
        parts.append(" ".join(sentence() for _ in range(6)) + "\n")
        parts.append(
            "```python\n"
            f"def handler_{number}_{section}(event: dict) -> dict:\n"
            "    total = sum(item['amount'] for item in event['items'])\n"
            "    return {'status': 'ok', 'total': total}\n"
            "```\n"
        )
        parts.append("| Field | Type | Meaning |\n| --- | --- | --- |\n" + "".join(
            f"| field_{row} | int | {sentence()} |\n" for row in range(5)))
        parts.append(f'!!! note "Note {section}"\n    {sentence()}\n')
    link = posixpath.relpath(page_path(number - 1), posixpath.dirname(page_path(number)))
    parts.append(f"See also [the previous page]({link}).\n")
    return "\n".join(parts)


def generate_site(root: Path, pages: int) -> None:
    rng = random.Random(42)
    (root / "catalog-info.yaml").write_text(CATALOG)
    (root / "mkdocs.yml").write_text(MKDOCS_YML)
    docs = root / "docs"
    docs.mkdir()
    (docs / "index.md").write_text("# Bench handbook\n\nA generated site.\n")
    for number in range(1, pages):
        target = docs / page_path(number)
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(page_text(number, rng))


def ensure_mkdocs() -> bool:
    if importlib.util.find_spec("mkdocs") is not None:
        return True
    print("installing mkdocs into this virtualenv for the comparison (not a portal dependency)…")
    completed = subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "mkdocs"],
                               capture_output=True, text=True, check=False)
    importlib.invalidate_caches()
    if completed.returncode != 0:
        print(completed.stderr.strip()[-500:])
    return completed.returncode == 0 and importlib.util.find_spec("mkdocs") is not None


def time_builders(root: Path, use_mkdocs: bool) -> None:
    from techdocs.builder import build_site

    started = time.perf_counter()
    result = build_site(root, ".")
    ours = time.perf_counter() - started
    print(f"our builder:   {ours:7.2f} s  ({len(result.pages)} pages, {len(result.errors)} errors)")
    if not use_mkdocs:
        print("mkdocs build:  skipped")
        return
    if not ensure_mkdocs():
        print("mkdocs build:  skipped (mkdocs could not be installed)")
        return
    with tempfile.TemporaryDirectory(prefix="bench-mkdocs-") as out:
        started = time.perf_counter()
        completed = subprocess.run(
            [sys.executable, "-m", "mkdocs", "build", "--quiet", "--config-file", str(root / "mkdocs.yml"),
             "--site-dir", out],
            capture_output=True, text=True, check=False,
        )
        theirs = time.perf_counter() - started
    if completed.returncode != 0:
        print(f"mkdocs build:  failed ({completed.stderr.strip()[-300:]})")
        return
    print(f"mkdocs build:  {theirs:7.2f} s  (writes themed HTML files; ours stores data only)")
    print(f"ratio:         {theirs / ours:7.2f}x  (mkdocs time / our time)")


def time_page_views(root: Path, requests: int) -> None:
    import django

    django.setup()
    from django.conf import settings
    from django.contrib.auth import get_user_model
    from django.db import connection
    from django.test import Client
    from django.test.utils import setup_test_environment

    from catalog.ingest import entities_changed, refresh_location
    from catalog.models import Entity, Location
    from techdocs.models import DocPage
    from techdocs.publish import build_entity_docs

    setup_test_environment()
    settings.CAUSEWAY_FILE_ROOTS = [str(root)]
    # Build explicitly below, to time it, rather than when the catalog reads the entity.
    entities_changed.disconnect(dispatch_uid="techdocs.build_changed_entities")
    old_name = connection.creation.create_test_db(verbosity=0, autoclobber=True)
    try:
        refresh_location(Location.objects.create(type="file", target=str(root / "catalog-info.yaml")))
        entity = Entity.objects.get(ref="component:default/bench-handbook")
        started = time.perf_counter()
        outcome = build_entity_docs(entity)
        print(f"build + store: {time.perf_counter() - started:7.2f} s  ({outcome.status}: {outcome.message})")
        started = time.perf_counter()
        outcome = build_entity_docs(entity)
        print(f"unchanged:     {time.perf_counter() - started:7.2f} s  ({outcome.status}, hash only)")

        user = get_user_model().objects.create_user("bench", password="bench-password-123")
        client = Client()
        client.force_login(user)
        pages = list(DocPage.objects.values_list("path", flat=True))
        rng = random.Random(7)
        base = "/docs/default/component/bench-handbook/"
        print(f"database: {connection.vendor}, requests: {requests}")
        for label, make_url in [
            ("docs page view", lambda: f"{base}{rng.choice(pages)}/"),
            ("docs search", lambda: f"/docs/?q={rng.choice(['ledger', 'settlement refund', 'handler'])}"),
        ]:
            client.get(make_url())  # warm-up
            samples = []
            for _ in range(requests):
                url = make_url()
                start = time.perf_counter()
                response = client.get(url)
                samples.append((time.perf_counter() - start) * 1000)
                if response.status_code != 200:
                    raise SystemExit(f"{url} answered {response.status_code}: figures would be meaningless")
            print(f"{label:15} p50 {statistics.median(samples):7.2f} ms   p95 {percentile(samples, 0.95):7.2f} ms")
    finally:
        connection.creation.destroy_test_db(old_name, verbosity=0)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--pages", type=int, default=500)
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--no-mkdocs", action="store_true")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-techdocs-") as folder:
        root = Path(folder)
        generate_site(root, args.pages)
        print(f"site: {args.pages} pages in {len(SECTIONS)} sections x 10 folders"
              " (headings, code blocks, tables, admonitions)")
        time_builders(root, not args.no_mkdocs)
        time_page_views(root, args.requests)


if __name__ == "__main__":
    main()
