"""The wizard: one page per parameter step, errors beside fields, a review, and nothing runs before Create."""

import re

import pytest
from django.urls import reverse

from portal.models import AuditEvent
from scaffolder.models import Task

pytestmark = pytest.mark.django_db

TWO_STEPS = """
owner: group:default/team-a
type: service
parameters:
  - title: Basics
    required: [name]
    properties:
      name: {type: string, title: Name, pattern: "^[a-z][a-z0-9-]*$", maxLength: 20}
      replicas: {type: integer, title: Replicas, minimum: 1, maximum: 5, default: 1}
      contact: {type: string, title: Contact, format: email}
  - title: Secrets and choices
    required: [token]
    properties:
      token: {type: string, title: Deploy token, ui:field: Secret}
      database: {type: string, title: Database, enum: [pg, none], enumNames: [PostgreSQL, None], default: none}
    dependencies:
      database:
        oneOf:
          - properties:
              database: {const: pg}
              size: {type: integer, title: Size in GB, minimum: 10}
            required: [size]
          - properties:
              database: {const: none}
steps:
  - id: log
    name: Say hello
    action: debug:log
    input: {message: "Hello ${{ parameters.name }}"}
"""


@pytest.fixture
def template(add_template):
    add_template("two-steps", TWO_STEPS)
    return ("default", "two-steps")


def step_url(index):
    return reverse("scaffolder:step", args=["default", "two-steps", index])


REVIEW = reverse("scaffolder:review", args=["default", "two-steps"])


def test_the_first_page_shows_the_first_step_and_the_progress(alice_client, template):
    response = alice_client.get(reverse("scaffolder:template", args=template))
    assert response.status_code == 200
    body = response.content.decode()
    assert "<h2>Basics</h2>" in body
    progress = re.search(r'<ol class="wizard-progress".*?</ol>', body, re.S).group(0)
    assert "Basics" in progress and "Secrets and choices" in progress and "Review" in progress
    assert 'aria-current="step"' in progress


def test_errors_are_shown_beside_their_fields_and_nothing_is_stored(alice_client, template):
    response = alice_client.post(step_url(0), {"name": "Bad Name!", "replicas": "9", "contact": "nope"})
    assert response.status_code == 200
    body = response.content.decode()
    for field, message in [("name", "Does not match the pattern"), ("replicas", "Must be at most 5"),
                           ("contact", "Must be a valid email address")]:
        row = re.search(rf'<div class="form-row has-error" data-field="{field}".*?</div>', body, re.S)
        assert row and message in row.group(0), field
    assert 'value="Bad Name!"' in body  # what was typed is shown again
    assert Task.objects.count() == 0
    assert alice_client.get(step_url(1)).status_code == 302  # not reachable before step 1 is valid


def test_a_missing_required_field_says_so(alice_client, template):
    response = alice_client.post(step_url(0), {"name": ""})
    row = re.search(r'data-field="name".*?</div>', response.content.decode(), re.S).group(0)
    assert "This field is required" in row


def test_hostile_input_is_escaped(alice_client, template):
    response = alice_client.post(step_url(0), {"name": '<script>alert(1)</script>', "contact": "x" * 5000})
    body = response.content.decode()
    assert "<script>alert(1)</script>" not in body
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in body


def test_the_wizard_reaches_the_review_and_runs_only_when_confirmed(alice_client, template):
    assert alice_client.post(step_url(0), {"name": "svc", "replicas": "2"})["Location"] == step_url(1)
    response = alice_client.post(step_url(1), {"token": "tok-123456", "database": "pg", "size": "20"})
    assert response["Location"] == REVIEW
    review = alice_client.get(REVIEW)
    body = review.content.decode()
    assert review.status_code == 200
    rows = dict((r.label, r.value) for r in review.context["rows"])
    assert rows["Name"] == "svc" and rows["Replicas"] == "2" and rows["Database"] == "PostgreSQL"
    assert rows["Size in GB"] == "20"
    assert rows["Deploy token"] == "••••••" and "tok-123456" not in body
    assert Task.objects.count() == 0  # nothing runs before the review is confirmed

    response = alice_client.post(REVIEW, {"confirm": "1"})
    task = Task.objects.get()
    assert response["Location"] == reverse("scaffolder:task", args=[task.pk])
    assert task.status == "completed"
    assert task.parameters == {"name": "svc", "replicas": 2, "token": "***", "database": "pg", "size": 20}
    assert task.log_lines.filter(message="Hello svc").exists()
    assert AuditEvent.objects.filter(action="scaffolder.task.create", object_id=str(task.pk)).exists()
    # the wizard starts afresh afterwards
    assert "scaffolder:wizard:template:default/two-steps" not in alice_client.session


def test_conditional_fields_are_redrawn_by_htmx(alice_client, template):
    alice_client.post(step_url(0), {"name": "svc"})
    response = alice_client.post(step_url(1), {"database": "pg", "_refresh": "1"}, HTTP_HX_REQUEST="true")
    body = response.content.decode()
    assert "<html" not in body and 'id="wizard-fields"' in body
    assert 'name="size"' in body
    assert "This field is required" not in body  # a redraw does not judge the input
    response = alice_client.post(step_url(1), {"database": "none", "_refresh": "1"}, HTTP_HX_REQUEST="true")
    assert 'name="size"' not in response.content.decode()
    page = alice_client.get(step_url(1)).content.decode()
    assert f'hx-post="{step_url(1)}"' in page


def test_a_hidden_branch_value_is_dropped_when_the_controlling_field_changes(alice_client, template):
    alice_client.post(step_url(0), {"name": "svc"})
    alice_client.post(step_url(1), {"token": "tok-1", "database": "pg", "size": "20"})
    alice_client.post(step_url(1), {"database": "none"})
    rows = {r.label for r in alice_client.get(REVIEW).context["rows"]}
    assert "Size in GB" not in rows


def test_back_keeps_what_was_typed(alice_client, template):
    alice_client.post(step_url(0), {"name": "svc"})
    response = alice_client.post(step_url(1), {"database": "pg", "_action": "back"})
    assert response["Location"] == step_url(0)
    page = alice_client.get(step_url(1)).content.decode()
    assert '<option value="pg" selected>' in page


def test_a_secret_entered_once_is_kept_until_the_run(alice_client, template):
    alice_client.post(step_url(0), {"name": "svc"})
    alice_client.post(step_url(1), {"token": "tok-kept", "database": "none"})
    page = alice_client.get(step_url(1)).content.decode()
    assert "tok-kept" not in page and "kept; type to replace" in page
    assert alice_client.post(step_url(1), {"database": "none"})["Location"] == REVIEW


def test_the_review_sends_back_to_a_step_whose_values_no_longer_fit(alice_client, template):
    alice_client.post(step_url(0), {"name": "svc"})
    alice_client.post(step_url(1), {"token": "tok", "database": "none"})
    session = alice_client.session
    key = "scaffolder:wizard:template:default/two-steps"
    state = session[key]
    state["values"]["name"] = "NOT VALID"
    session[key] = state
    session.save()
    response = alice_client.get(REVIEW, follow=True)
    assert response.redirect_chain[-1][0] == step_url(0)
    assert "Name: Does not match the pattern" in response.content.decode()


def test_start_over_forgets_the_values(alice_client, template):
    alice_client.post(step_url(0), {"name": "svc"})
    alice_client.get(step_url(0) + "?restart=1")
    assert alice_client.get(step_url(1)).status_code == 302


def test_an_unknown_template_is_a_404(alice_client, template):
    assert alice_client.get(reverse("scaffolder:template", args=["default", "nope"])).status_code == 404


def test_a_template_that_cannot_be_a_form_is_explained(alice_client, add_template):
    add_template("broken", """
type: service
parameters:
  - properties:
      name: {type: string, pattern: "(unclosed"}
steps: [{action: debug:log, input: {message: hi}}]
""")
    response = alice_client.get(reverse("scaffolder:template", args=["default", "broken"]))
    assert response.status_code == 200
    assert "cannot be shown as a form" in response.content.decode()
