"""Scaffolder benchmark: template runs against doing the same work by hand (prints figures, asserts nothing).

    python bench/scaffolder.py [--files 500] [--runs 5] [--tasks 30]

- Confirmed form to completed task, through the review page (Celery eager), for a template whose
  skeleton has N files: fetch:template, publish:git to a local bare repository, catalog:register.
- The same files copied by hand (shutil.copytree), and copied then committed and pushed with git:
  the ratios say what the scaffolder adds.
- Tasks per minute with eager execution, for that template and for a one-step template.
Runs against DATABASE_URL in a throwaway test database.
"""

import argparse
import os
import shutil
import statistics
import subprocess
import tempfile
import time
from pathlib import Path

from _harness import setup_django, throwaway_database

GIT_ENV = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "GIT_CONFIG_GLOBAL": os.devnull,
           "GIT_CONFIG_NOSYSTEM": "1", "GIT_AUTHOR_NAME": "b", "GIT_AUTHOR_EMAIL": "b@b",
           "GIT_COMMITTER_NAME": "b", "GIT_COMMITTER_EMAIL": "b@b"}

BIG = """apiVersion: scaffolder.backstage.io/v1beta3
kind: Template
metadata: {name: big}
spec:
  type: service
  parameters:
    - required: [name]
      properties:
        name: {type: string}
  steps:
    - {id: fetch, action: fetch:template, input: {url: ./skeleton, values: {name: "${{ parameters.name }}"}}}
    - {id: publish, action: publish:git, input: {repoUrl: "localhost?owner=bench&repo=${{ parameters.name }}"}}
    - id: register
      action: catalog:register
      input: {repoContentsUrl: "${{ steps.publish.output.repoContentsUrl }}", catalogInfoPath: /catalog-info.yaml}
"""

SMALL = """apiVersion: scaffolder.backstage.io/v1beta3
kind: Template
metadata: {name: small}
spec:
  type: service
  parameters: [{properties: {name: {type: string}}}]
  steps:
    - {id: say, action: debug:log, input: {message: "Hello ${{ parameters.name }}"}}
"""


def make_templates(root: Path, files: int) -> Path:
    big = root / "templates" / "big"
    skeleton = big / "skeleton"
    for i in range(files - 1):
        path = skeleton / f"pkg{i % 20}" / f"module_{i}.py"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(f'"""Module {i} of ${{{{ values.name }}}}."""\n\nVALUE = {i}\n' + "# filler\n" * 40)
    (skeleton / "catalog-info.yaml").write_text(
        "apiVersion: backstage.io/v1alpha1\nkind: Component\nmetadata: {name: ${{ values.name }}}\n"
        "spec: {type: service, lifecycle: experimental, owner: team-a}\n")
    (big / "template.yaml").write_text(BIG)
    small = root / "templates" / "small"
    small.mkdir(parents=True)
    (small / "template.yaml").write_text(SMALL)
    location = root / "templates" / "catalog-info.yaml"
    location.write_text("apiVersion: backstage.io/v1alpha1\nkind: Location\nmetadata: {name: bench}\n"
                        "spec: {targets: [./big/template.yaml, ./small/template.yaml]}\n")
    return location


def by_hand(skeleton: Path, work: Path, index: int, push: bool) -> float:
    started = time.perf_counter()
    target = work / f"copy-{index}"
    shutil.copytree(skeleton, target)
    if push:
        bare = work / f"bare-{index}.git"
        subprocess.run(["git", "init", "-q", "--bare", "-b", "main", str(bare)], env=GIT_ENV, check=True)
        subprocess.run(["git", "init", "-q", "-b", "main", str(target)], env=GIT_ENV, check=True)
        subprocess.run(["git", "-C", str(target), "add", "-A"], env=GIT_ENV, check=True)
        subprocess.run(["git", "-C", str(target), "commit", "-q", "-m", "copy"], env=GIT_ENV, check=True)
        subprocess.run(["git", "-C", str(target), "push", "-q", str(bare), "main"], env=GIT_ENV, check=True)
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--files", type=int, default=500)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--tasks", type=int, default=30)
    args = parser.parse_args()

    setup_django()
    from django.conf import settings
    from django.contrib.auth import get_user_model
    from django.test import Client
    from django.urls import reverse

    from catalog.ingest import refresh_location
    from catalog.models import Location
    from scaffolder.launch import create_task, load_template, template_entity
    from scaffolder.models import Task
    from scaffolder.wizard import WizardState

    root = Path(tempfile.mkdtemp(prefix="causeway-bench-scaffolder-"))
    settings.CAUSEWAY_FILE_ROOTS = [str(root)]
    settings.SCAFFOLDER_GIT_HOSTS = {"localhost": {"remote_base": (root / "git").as_uri(), "create_repos": True}}
    settings.CATALOG_GIT_CACHE_DIR = root / "git-cache"
    settings.CELERY_TASK_ALWAYS_EAGER = True
    try:
        with throwaway_database():
            location = Location.objects.create(type="file", target=str(make_templates(root, args.files)))
            refresh_location(location)
            user = get_user_model().objects.create_user("bench", "bench@example.com", "x")
            client = Client()
            client.force_login(user)
            big = template_entity("default", "big")
            review = reverse("scaffolder:review", args=["default", "big"])

            timings = []
            for run in range(args.runs):
                session = client.session
                state = WizardState(session, big.ref, big.etag)
                state.values, state.reached = {"name": f"svc-{run}"}, 1
                state.save()
                session.save()
                started = time.perf_counter()
                client.post(review, {"confirm": "1"})
                timings.append(time.perf_counter() - started)
            statuses = set(Task.objects.values_list("status", flat=True))

            skeleton = root / "templates" / "big" / "skeleton"
            work = root / "by-hand"
            work.mkdir()
            copies = [by_hand(skeleton, work, i, push=False) for i in range(args.runs)]
            pushes = [by_hand(skeleton, work, args.runs + i, push=True) for i in range(args.runs)]

            scaffold = statistics.median(timings)
            copy = statistics.median(copies)
            push = statistics.median(pushes)
            print(f"skeleton files:                         {args.files}")
            print(f"confirmed form -> completed task (p50): {scaffold * 1000:8.1f} ms   statuses: {sorted(statuses)}")
            print(f"plain copy of the files (p50):          {copy * 1000:8.1f} ms   ratio {scaffold / copy:6.1f}x")
            print(f"copy + git commit + push (p50):         {push * 1000:8.1f} ms   ratio {scaffold / push:6.1f}x")

            for entity_name, label, count in (("big", f"{args.files}-file template", max(args.tasks // 3, 1)),
                                              ("small", "one-step template", args.tasks)):
                loaded = load_template(template_entity("default", entity_name))
                started = time.perf_counter()
                for i in range(count):
                    create_task(user, loaded, {"name": f"rate-{entity_name}-{i}"})
                elapsed = time.perf_counter() - started
                print(f"tasks per minute, eager, {label + ':':<24} {count / elapsed * 60:8.1f}   ({count} tasks)")
    finally:
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
