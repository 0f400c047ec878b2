"""The template editor: paste a template, see its form, dry-run it; nothing is published or registered."""

import pytest
from django.urls import reverse

from catalog.models import Entity, Location
from scaffolder.models import Task

pytestmark = pytest.mark.django_db

EDITOR = reverse("scaffolder:editor")

SMALL = """apiVersion: scaffolder.backstage.io/v1beta3
kind: Template
metadata: {name: small}
spec:
  type: service
  parameters:
    - title: Naming
      required: [name]
      properties:
        name: {type: string, pattern: "^[a-z]+$"}
        secret: {type: string, ui:field: Secret}
  steps:
    - {id: say, action: debug:log, input: {message: "Hi ${{ parameters.name }} ${{ parameters.secret }}"}}
"""


def test_a_catalog_template_can_be_opened_in_the_editor(alice_client, demo_templates):
    response = alice_client.get(EDITOR + "?template=default/django-service")
    body = response.content.decode()
    assert response.status_code == 200
    assert "name: django-service" in body and "managed-by-location" not in body
    assert '<option value="default/django-service" selected>' in body


def test_pasting_a_template_shows_its_form(alice_client, org):
    response = alice_client.post(EDITOR, {"template_yaml": SMALL, "_action": "preview"})
    body = response.content.decode()
    assert "<h2>Naming</h2>" in body and 'name="s0-name"' in body and 'name="s0-secret"' in body
    assert "This field is required" not in body


def test_bad_yaml_or_a_bad_template_is_explained(alice_client, org):
    for text, message in [("a: [unclosed", "not valid YAML"), ("kind: Component", "apiVersion must be"),
                          ("x" * 600_000, "larger than")]:
        response = alice_client.post(EDITOR, {"template_yaml": text, "_action": "preview"})
        assert response.status_code == 200
        assert message in response.content.decode()


def test_a_dry_run_shows_errors_beside_the_fields(alice_client, org):
    response = alice_client.post(EDITOR, {"template_yaml": SMALL, "_action": "dry-run", "s0-name": "NO"})
    body = response.content.decode()
    assert "Does not match the pattern" in body and 'data-testid="dry-run-result"' not in body


def test_a_dry_run_lists_the_files_and_the_log_and_changes_nothing(alice_client, demo_templates, scaffolder_env):
    text = alice_client.get(EDITOR + "?template=default/django-service").context["text"]
    locations, entities = Location.objects.count(), Entity.objects.count()
    response = alice_client.post(EDITOR, {
        "template_yaml": text, "source": "default/django-service", "_action": "dry-run",
        "s0-name": "dry-svc", "s0-owner": "group:default/team-a",
        "s1-python": "3.12", "s1-database": "sqlite",
        "s2-repoUrl_host": "localhost", "s2-repoUrl_owner": "team-a", "s2-repoUrl_repo": "dry-svc",
    })
    body = response.content.decode()
    result = response.context["result"]
    assert result["status"] == "completed", result
    paths = {f["path"] for f in result["files"]}
    assert {"catalog-info.yaml", "dry_svc/settings.py", "docs/index.md"} <= paths
    catalog_info = next(f for f in result["files"] if f["path"] == "catalog-info.yaml")
    assert "name: dry-svc" in catalog_info["text"]
    assert "Skipping because publish:git does not support dry-run" in body
    assert 'data-testid="dry-run-files"' in body
    assert not (scaffolder_env / "git").exists()
    assert (Location.objects.count(), Entity.objects.count(), Task.objects.count()) == (locations, entities, 0)


def test_secrets_in_a_dry_run_are_masked_in_its_log(alice_client, org):
    response = alice_client.post(EDITOR, {"template_yaml": SMALL, "_action": "dry-run", "s0-name": "ok",
                                          "s0-secret": "hush-hush-123"})
    log = "\n".join(line.line for line in response.context["result"]["log"])
    assert "Hi ok ***" in log and "hush-hush-123" not in response.content.decode()


def test_the_editor_redraws_conditional_fields(alice_client, org):
    text = SMALL.replace("        secret: {type: string, ui:field: Secret}\n", "") + ""
    text = text.replace("      required: [name]\n", """      required: [name]
      dependencies:
        name:
          properties:
            extra: {type: string, title: Extra}
""")
    response = alice_client.post(EDITOR, {"template_yaml": text, "_refresh": "1", "_step": "0", "s0-name": "x"},
                                 HTTP_HX_REQUEST="true")
    body = response.content.decode()
    assert 'id="step-0-fields"' in body and 'name="s0-extra"' in body and "<html" not in body
