"""From a filled form to a registered entity: fetch the skeleton, publish to a bare repository, register it."""

import os
import subprocess

import pytest
from django.urls import reverse

from catalog.models import Entity, Location
from portal.models import AuditEvent
from scaffolder.models import Task, TaskStep

pytestmark = pytest.mark.django_db


def git(*args):
    env = {"PATH": os.environ["PATH"], "GIT_CONFIG_GLOBAL": os.devnull, "GIT_CONFIG_NOSYSTEM": "1"}
    return subprocess.run(["git", *args], env=env, check=True, capture_output=True, text=True).stdout


def fill_django_service(client, name="orders-api", owner="team-a"):
    base = ("default", "django-service")
    step = lambda i: reverse("scaffolder:step", args=[*base, i])  # noqa: E731
    first = {"name": name, "description": "Takes orders: fast", "owner": "group:default/team-a",
             "system": "system:default/payments"}
    assert client.post(step(0), first).status_code == 302
    assert client.post(step(1), {"python": "3.12", "database": "sqlite", "healthcheck": "on"}).status_code == 302
    response = client.post(step(2), {"repoUrl_host": "localhost", "repoUrl_owner": owner, "repoUrl_repo": name})
    assert response.status_code == 302, response.content.decode()
    return client.post(reverse("scaffolder:review", args=base), {"confirm": "1"})


def test_a_confirmed_form_publishes_a_repository_and_registers_the_entity(alice_client, demo_templates,
                                                                           scaffolder_env, alice):
    response = fill_django_service(alice_client)
    task = Task.objects.get()
    assert task.status == Task.Status.COMPLETED, task.error
    assert task.created_by == alice and task.template_ref == "template:default/django-service"
    assert task.started_at and task.finished_at and task.last_heartbeat_at

    repo = scaffolder_env / "git" / "team-a" / "orders-api.git"
    assert (repo / "HEAD").is_file()
    files = set(git("--git-dir", str(repo), "ls-tree", "-r", "--name-only", "main").split())
    assert {"catalog-info.yaml", "mkdocs.yml", "docs/index.md", ".github/workflows/ci.yml", "manage.py",
            "orders_api/settings.py", "orders_api/urls.py", "pyproject.toml"} <= files
    ci = git("--git-dir", str(repo), "show", "main:.github/workflows/ci.yml")
    assert "${{ secrets.SECRET_KEY }}" in ci  # copied without templating
    settings_py = git("--git-dir", str(repo), "show", "main:orders_api/settings.py")
    assert "sqlite3" in settings_py and "postgresql" not in settings_py
    author = git("--git-dir", str(repo), "log", "-1", "--format=%an <%ae>", "main")
    assert author.strip() == "Alice <alice@example.com>"

    entity = Entity.objects.get(ref="component:default/orders-api")
    assert entity.owner_ref == "group:default/team-a" and entity.system_ref == "system:default/payments"
    assert entity.description == "Takes orders: fast"
    location = entity.location
    assert (location.type, location.target, location.git_ref, location.git_path) == (
        "git", repo.as_uri(), "main", "catalog-info.yaml")
    assert location.created_by == alice
    assert AuditEvent.objects.filter(action="catalog.location.register", object_id=str(location.pk)).exists()

    assert [s.status for s in task.steps.all()] == ["completed"] * 3
    assert all(s.started_at and s.finished_at for s in task.steps.all())
    assert task.steps.get(step_id="register").output["entityRef"] == "component:default/orders-api"

    page = alice_client.get(response["Location"])
    body = page.content.decode()
    assert 'href="/catalog/default/component/orders-api/"' in body
    assert "Open in catalog" in body and "<strong>orders-api</strong> is ready" in body
    assert alice_client.get("/catalog/default/component/orders-api/").status_code == 200


def test_a_failing_step_fails_the_task_and_skips_the_rest(alice_client, add_template):
    add_template("unpublishable", """
type: service
parameters: []
steps:
  - {id: hello, action: debug:log, input: {message: hi}}
  - {id: publish, action: publish:git, input: {repoUrl: "nowhere.example?owner=o&repo=r"}}
  - {id: register, action: catalog:register, input: {catalogInfoUrl: "/nope/catalog-info.yaml"}}
""")
    alice_client.post(reverse("scaffolder:review", args=["default", "unpublishable"]), {"confirm": "1"})
    task = Task.objects.get()
    assert task.status == Task.Status.FAILED
    assert "no git host is configured for 'nowhere.example'" in task.error
    statuses = dict(task.steps.values_list("step_id", "status"))
    assert statuses == {"hello": "completed", "publish": "failed", "register": "skipped"}
    assert task.log_lines.filter(level="error").exists()
    body = alice_client.get(task.get_absolute_url()).content.decode()
    assert "no git host is configured" in body


def test_registering_a_location_the_catalog_may_not_read_fails_clearly(alice_client, add_template, settings):
    add_template("outside", """
type: service
parameters: []
steps:
  - {id: register, action: catalog:register, input: {catalogInfoUrl: "/etc/catalog-info.yaml"}}
""")
    alice_client.post(reverse("scaffolder:review", args=["default", "outside"]), {"confirm": "1"})
    task = Task.objects.get()
    assert task.status == Task.Status.FAILED and "outside the folders" in task.error
    assert not Location.objects.filter(target="/etc/catalog-info.yaml").exists()


def test_a_template_in_a_git_repository_reads_its_skeleton_from_there(alice_client, org, scaffolder_env):
    source = scaffolder_env / "src"
    (source / "tpl" / "skeleton").mkdir(parents=True)
    (source / "tpl" / "skeleton" / "hello.txt").write_text("Hello ${{ values.who }}")
    (source / "tpl" / "template.yaml").write_text("""
apiVersion: scaffolder.backstage.io/v1beta3
kind: Template
metadata: {name: from-git}
spec:
  type: service
  parameters: [{properties: {who: {type: string, default: world}}}]
  steps:
    - {id: fetch, action: fetch:template, input: {url: ./skeleton, values: {who: "${{ parameters.who }}"}}}
    - {id: show, action: debug:log, input: {listWorkspace: true}}
""")
    git("init", "-q", "-b", "main", str(source))
    git("-C", str(source), "add", ".")
    git("-C", str(source), "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-q", "-m", "t")
    location = Location.objects.create(type="git", target=source.as_uri(), git_ref="main", git_path="tpl/template.yaml")
    from catalog.ingest import refresh_location

    assert refresh_location(location).status == "updated"
    alice_client.post(reverse("scaffolder:step", args=["default", "from-git", 0]), {"who": "git"})
    alice_client.post(reverse("scaffolder:review", args=["default", "from-git"]), {"confirm": "1"})
    task = Task.objects.get()
    assert task.status == "completed", task.error
    assert task.log_lines.filter(message__contains="hello.txt").exists()


def test_task_steps_are_created_with_the_task(alice_client, add_template):
    add_template("three", """
type: service
parameters: []
steps:
  - {id: a, name: First, action: debug:log, input: {message: one}}
  - {id: b, name: Second, action: debug:log, input: {message: two}, if: false}
  - {id: c, name: Third, action: debug:log, input: {message: three}}
""")
    alice_client.post(reverse("scaffolder:review", args=["default", "three"]), {"confirm": "1"})
    steps = list(TaskStep.objects.values_list("position", "step_id", "name", "action", "status"))
    assert steps == [(0, "a", "First", "debug:log", "completed"), (1, "b", "Second", "debug:log", "skipped"),
                     (2, "c", "Third", "debug:log", "completed")]


@pytest.mark.parametrize("template, values, expected_files", [
    ("python-library",
     {"name": "money-utils", "description": "Sums: and more", "owner": "group:default/team-a",
      "tags": ["money", "maths"], "license": "Apache-2.0", "python": "3.12", "typed": False,
      "repoUrl": "localhost?owner=team-a&repo=money-utils"},
     {"pyproject.toml", "src/money_utils/__init__.py", "tests/test_import.py", "LICENSE", "mkdocs.yml"}),
    ("docs-site",
     {"name": "handbook", "title": "Team handbook", "owner": "group:default/team-a",
      "audience": ["engineers", "support"], "repoUrl": "localhost?owner=team-a&repo=handbook"},
     {"mkdocs.yml", "docs/index.md", "docs/getting-started.md", "catalog-info.yaml"}),
])
def test_every_golden_path_template_runs_end_to_end(demo_templates, scaffolder_env, alice, template, values,
                                                    expected_files):
    from scaffolder.launch import create_task, load_template, template_entity, validation_errors
    from scaffolder.policies import Guardrails

    loaded = load_template(template_entity("default", template))
    assert validation_errors(loaded, values, Guardrails()) == {}
    task = create_task(alice, loaded, values)
    assert task.status == "completed", task.error
    repo = scaffolder_env / "git" / "team-a" / f"{values['name']}.git"
    files = set(git("--git-dir", str(repo), "ls-tree", "-r", "--name-only", "main").split())
    assert expected_files <= files
    assert not any(name.endswith(".njk") for name in files)
    entity = Entity.objects.get(ref=f"component:default/{values['name']}")
    assert entity.owner_ref == "group:default/team-a"
    if template == "python-library":
        assert "src/money_utils/py.typed" not in files  # typed: false drops it
        assert set(entity.tags) == {"python", "money", "maths"}
        assert "Apache License" in git("--git-dir", str(repo), "show", "main:LICENSE")
    else:
        assert entity.title == "Team handbook"
        assert "Written for: engineers, support." in git("--git-dir", str(repo), "show", "main:docs/index.md")
