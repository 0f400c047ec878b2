"""Secret values (Secret fields, password widgets, API secrets) never reach a stored table."""

import pytest
from django.contrib.sessions.models import Session
from django.db import connection
from django.urls import reverse
from rest_framework.authtoken.models import Token

from scaffolder.models import Task

pytestmark = pytest.mark.django_db

FORM_SECRET = "form-secret-4f9a1c"
PASSWORD = "pass-word-77b3e2"
API_SECRET = "api-secret-c81d05"

TEMPLATE = """
type: service
parameters:
  - title: Access
    required: [name, token]
    properties:
      name: {type: string}
      token: {type: string, title: Token, ui:field: Secret}
      password: {type: string, title: Password, ui:widget: password}
steps:
  - id: echo
    action: debug:log
    input:
      message: "name=${{ parameters.name }} token=${{ parameters.token }} password=${{ parameters.password }}"
  - id: api
    action: debug:log
    input: {message: "api=${{ secrets.apiKey }}"}
output:
  text:
    - title: Leak attempt
      content: "token ${{ parameters.token }}"
"""


def every_stored_value() -> str:
    """Everything in every table of the database, as text."""
    chunks = []
    with connection.cursor() as cursor:
        for table in connection.introspection.table_names():
            cursor.execute(f"SELECT * FROM {connection.ops.quote_name(table)}")  # noqa: S608 - our own table names
            chunks.extend(repr(row) for row in cursor.fetchall())
    for session in Session.objects.all():
        chunks.append(repr(session.get_decoded()))
    return "\n".join(chunks)


@pytest.fixture
def template(add_template):
    return add_template("secretive", TEMPLATE)


def test_secrets_from_the_wizard_are_used_but_never_stored(alice_client, template):
    step = reverse("scaffolder:step", args=["default", "secretive", 0])
    alice_client.post(step, {"name": "svc", "token": FORM_SECRET, "password": PASSWORD})
    review = alice_client.get(reverse("scaffolder:review", args=["default", "secretive"])).content.decode()
    assert FORM_SECRET not in review and PASSWORD not in review
    alice_client.post(reverse("scaffolder:review", args=["default", "secretive"]), {"confirm": "1"})
    task = Task.objects.get()
    assert task.status == "completed", task.error
    assert task.parameters == {"name": "svc", "token": "***", "password": "***"}
    assert task.log_lines.filter(message="name=svc token=*** password=***").exists()
    assert task.output["text"][0]["content"] == "token ***"
    stored = every_stored_value()
    assert "name=svc token=*** password=***" in stored  # the scan does see the log
    assert FORM_SECRET not in stored and PASSWORD not in stored
    page = alice_client.get(task.get_absolute_url()).content.decode()
    assert FORM_SECRET not in page


def test_secrets_given_to_the_api_are_used_but_never_stored(client, template, alice):
    token = Token.objects.create(user=alice)
    response = client.post(
        "/api/scaffolder/v2/tasks",
        {"templateRef": "template:default/secretive",
         "values": {"name": "svc", "token": FORM_SECRET, "password": PASSWORD},
         "secrets": {"apiKey": API_SECRET}},
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Token {token.key}",
    )
    assert response.status_code == 201, response.content
    task = Task.objects.get(pk=response.json()["id"])
    assert task.status == "completed", task.error
    assert task.log_lines.filter(message="api=***").exists()
    events = client.get(f"/api/scaffolder/v2/tasks/{task.pk}/events", HTTP_AUTHORIZATION=f"Token {token.key}")
    assert API_SECRET not in events.content.decode() and FORM_SECRET not in events.content.decode()
    stored = every_stored_value()
    for secret in (FORM_SECRET, PASSWORD, API_SECRET):
        assert secret not in stored


def test_run_again_asks_for_the_secrets_again(alice_client, template):
    step = reverse("scaffolder:step", args=["default", "secretive", 0])
    alice_client.post(step, {"name": "svc", "token": FORM_SECRET})
    alice_client.post(reverse("scaffolder:review", args=["default", "secretive"]), {"confirm": "1"})
    task = Task.objects.get()
    response = alice_client.post(reverse("scaffolder:task-rerun", args=[task.pk]), follow=True)
    body = response.content.decode()
    assert "enter the secrets again" in body
    assert 'value="svc"' in body and "***" not in body and FORM_SECRET not in body
    response = alice_client.post(step, {"name": "svc"})
    assert response.status_code == 200  # the token is required again
    assert "This field is required" in response.content.decode()
