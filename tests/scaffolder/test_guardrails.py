"""Guardrails staff set in admin: who may run a template, tighter fields, where tasks may publish."""

import json

import pytest
from django.urls import reverse
from rest_framework.authtoken.models import Token

from portal.models import AuditEvent
from scaffolder.models import Task, TemplatePolicy
from scaffolder.policies import guardrails_for

pytestmark = pytest.mark.django_db

PUBLISHING = """
type: service
parameters:
  - title: Where
    required: [name, repoUrl]
    properties:
      name: {type: string}
      repoUrl: {type: string, ui:field: RepoUrlPicker}
steps:
  - {id: publish, action: publish:git, input: {repoUrl: "${{ parameters.repoUrl }}"}}
"""


@pytest.fixture
def publishing(add_template):
    return add_template("publishing", PUBLISHING)


def policy(**fields) -> TemplatePolicy:
    return TemplatePolicy.objects.create(name=fields.pop("name", "Guardrail"), **fields)


STEP = reverse("scaffolder:step", args=["default", "publishing", 0])
REVIEW = reverse("scaffolder:review", args=["default", "publishing"])


def api_post(client, user, values):
    token, _ = Token.objects.get_or_create(user=user)
    return client.post("/api/scaffolder/v2/tasks", json.dumps({"templateRef": "template:default/publishing",
                                                                "values": values}),
                       content_type="application/json", HTTP_AUTHORIZATION=f"Token {token.key}")


def test_without_a_policy_everyone_may_run_a_template(charlie, publishing):
    assert guardrails_for(charlie, "template:default/publishing").allowed


def test_a_group_policy_turns_strangers_away_on_the_form(client, charlie, publishing):
    policy(name="Team A only", template_pattern="template:default/pub*", allowed_groups=["group:default/team-a"])
    client.force_login(charlie)
    response = client.get(STEP)
    assert response.status_code == 403
    body = response.content.decode()
    assert "You may not run this template" in body and "Team A only" in body
    assert client.post(REVIEW, {"confirm": "1"}).status_code == 403
    assert Task.objects.count() == 0
    assert 'restricted' in client.get(reverse("scaffolder:index")).content.decode()


def test_a_group_policy_turns_strangers_away_in_the_api(client, charlie, bob, publishing):
    policy(template_pattern="template:default/*", allowed_groups=["group:default/team-a"])
    response = api_post(client, charlie, {"name": "x", "repoUrl": "localhost?owner=o&repo=x"})
    assert response.status_code == 403 and response.json()["error"]["name"] == "NotAllowedError"
    assert Task.objects.count() == 0
    assert api_post(client, bob, {"name": "x", "repoUrl": "localhost?owner=o&repo=x"}).status_code == 201


def test_portal_groups_count_as_group_refs(client, charlie, publishing):
    from django.contrib.auth.models import Group

    Group.objects.create(name="Release-Managers").user_set.add(charlie)
    policy(template_pattern="template:default/publishing", allowed_groups=["group:default/release-managers"])
    client.force_login(charlie)
    assert client.get(STEP).status_code == 200


def test_a_disabled_or_unrelated_policy_does_not_apply(client, charlie, publishing):
    policy(template_pattern="template:default/publishing", allowed_groups=["group:default/team-a"], enabled=False)
    policy(template_pattern="template:default/other", allowed_groups=["group:default/team-a"])
    client.force_login(charlie)
    assert client.get(STEP).status_code == 200


def test_extra_constraints_add_to_the_form_and_the_api(alice_client, alice, client, publishing):
    policy(template_pattern="template:default/publishing",
           extra_constraints={"name": {"pattern": "^svc-", "maxLength": 10}})
    response = alice_client.post(STEP, {"name": "payments", "repoUrl_host": "localhost", "repoUrl_owner": "o",
                                        "repoUrl_repo": "payments"})
    assert response.status_code == 200
    assert "Does not match the pattern ^svc-" in response.content.decode()
    api = api_post(client, alice, {"name": "payments", "repoUrl": "localhost?owner=o&repo=p"})
    assert api.status_code == 400 and "^svc-" in api.json()["error"]["message"]
    assert Task.objects.count() == 0


def test_allowed_hosts_and_owners_are_enforced(alice_client, alice, client, publishing):
    policy(template_pattern="template:default/*", allowed_hosts=["localhost"], allowed_owners=["team-a"])
    response = alice_client.post(STEP, {"name": "x", "repoUrl_host": "localhost", "repoUrl_owner": "mallory",
                                        "repoUrl_repo": "x"})
    assert "Publishing under the owner &#x27;mallory&#x27; is not allowed" in response.content.decode()
    api = api_post(client, alice, {"name": "x", "repoUrl": "github.com?owner=team-a&repo=x"})
    assert api.status_code == 400 and "Publishing to github.com is not allowed" in api.json()["error"]["message"]
    assert Task.objects.count() == 0
    assert api_post(client, alice, {"name": "x", "repoUrl": "localhost?owner=team-a&repo=x"}).status_code == 201


def test_publishing_is_checked_again_while_the_task_runs(alice_client, add_template):
    add_template("sneaky", """
type: service
parameters: []
steps:
  - {id: publish, action: publish:git, input: {repoUrl: "localhost?owner=mallory&repo=x"}}
""")
    policy(template_pattern="template:default/sneaky", allowed_owners=["team-a"])
    alice_client.post(reverse("scaffolder:review", args=["default", "sneaky"]), {"confirm": "1"})
    task = Task.objects.get()
    assert task.status == "failed" and "not allowed" in task.error


def test_policies_combine(alice, publishing):
    policy(template_pattern="template:default/*", extra_constraints={"name": {"minLength": 3}},
           allowed_hosts=["localhost", "github.com"])
    policy(template_pattern="template:default/publishing", extra_constraints={"name": {"required": True,
                                                                                      "maxLength": 5}},
           allowed_hosts=["localhost"])
    rails = guardrails_for(alice, "template:default/publishing")
    assert rails.hosts == {"localhost"}
    assert rails.extra_constraints["name"]["required"] is True
    assert rails.extra_constraints["name"]["allOf"] == [{"minLength": 3}, {"maxLength": 5}]


def test_staff_edit_policies_in_admin_with_validation_and_an_audit_trail(staff_client):
    add = reverse("admin:scaffolder_templatepolicy_add")
    bad = staff_client.post(add, {"name": "Bad", "template_pattern": "template:default/*", "enabled": "on",
                                  "allowed_groups": "[]", "extra_constraints": '{"name": {"type": "nonsense"}}',
                                  "allowed_hosts": "[]", "allowed_owners": "[]"})
    assert bad.status_code == 200 and "is not valid JSON Schema" in bad.content.decode()
    assert TemplatePolicy.objects.count() == 0
    good = staff_client.post(add, {"name": "Team A", "template_pattern": "django-service", "enabled": "on",
                                   "allowed_groups": '["team-a"]', "extra_constraints": "{}",
                                   "allowed_hosts": '["localhost"]', "allowed_owners": "[]"})
    assert good.status_code == 302, good.content.decode()
    saved = TemplatePolicy.objects.get()
    assert saved.template_pattern == "template:default/django-service"
    assert saved.allowed_groups == ["group:default/team-a"]
    assert AuditEvent.objects.filter(action="scaffolder.templatepolicy.add", object_id=str(saved.pk)).exists()
