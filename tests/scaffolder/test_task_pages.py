"""Task pages: the live log while running, output links and text at the end, lists, Run again."""

import pytest
from django.urls import reverse
from django.utils import timezone

from scaffolder.models import Task, TaskLogLine, TaskStep

pytestmark = pytest.mark.django_db

GREETING = """
type: service
parameters:
  - properties:
      who: {type: string, default: world}
      shout: {type: boolean, default: false}
steps:
  - {id: greet, name: Greet, action: debug:log, input: {message: "Hello ${{ parameters.who }}"}}
output:
  links:
    - {title: Dashboard, url: "https://dash.example/${{ parameters.who }}"}
    - {title: Weird, url: "javascript:alert(1)"}
  text:
    - title: Notes
      content: |
        **Bold** and <script>alert("x")</script> and [a link](https://example.com)
"""


@pytest.fixture
def greeting(add_template):
    return add_template("greeting", GREETING)


def run_greeting(client, who="ada"):
    client.post(reverse("scaffolder:step", args=["default", "greeting", 0]), {"who": who})
    client.post(reverse("scaffolder:review", args=["default", "greeting"]), {"confirm": "1"})
    return Task.objects.order_by("-created_at").first()


def test_a_finished_task_shows_steps_log_and_safe_output(alice_client, greeting):
    task = run_greeting(alice_client)
    body = alice_client.get(task.get_absolute_url()).content.decode()
    assert "Hello ada" in body and "Greet" in body
    assert 'href="https://dash.example/ada"' in body
    assert 'href="javascript:' not in body and "<code>javascript:alert(1)</code>" in body
    assert "<strong>Bold</strong>" in body and "<script>alert" not in body
    assert 'href="https://example.com"' in body
    assert 'hx-trigger="every 1s"' not in body  # nothing left to poll for


def test_a_running_task_polls_its_partial_every_second(alice_client, alice):
    task = Task.objects.create(template_ref="template:default/greeting", template={}, created_by=alice,
                               status=Task.Status.PROCESSING, started_at=timezone.now())
    TaskStep.objects.create(task=task, position=0, step_id="greet", name="Greet", action="debug:log",
                            status=TaskStep.Status.RUNNING, started_at=timezone.now())
    TaskLogLine.objects.create(task=task, seq=1, step_id="greet", message="Beginning step Greet")
    page = alice_client.get(task.get_absolute_url()).content.decode()
    assert 'hx-trigger="every 1s"' in page and 'data-testid="cancel"' in page
    partial = alice_client.get(task.get_absolute_url(), HTTP_HX_REQUEST="true").content.decode()
    assert "<html" not in partial and 'id="task-live"' in partial and "Beginning step Greet" in partial
    TaskLogLine.objects.create(task=task, seq=2, step_id="greet", message="Finished step Greet")
    Task.objects.filter(pk=task.pk).update(status=Task.Status.COMPLETED, finished_at=timezone.now())
    done = alice_client.get(task.get_absolute_url(), HTTP_HX_REQUEST="true").content.decode()
    assert "Finished step Greet" in done and 'hx-trigger="every 1s"' not in done


def test_people_see_their_own_tasks_and_staff_see_all(client, greeting, alice, charlie, sam):
    client.force_login(alice)
    task = run_greeting(client)
    assert task.get_absolute_url() in client.get(reverse("scaffolder:tasks")).content.decode()
    client.force_login(charlie)
    assert task.get_absolute_url() not in client.get(reverse("scaffolder:tasks")).content.decode()
    assert client.get(task.get_absolute_url()).status_code == 404
    client.force_login(sam)
    assert task.get_absolute_url() not in client.get(reverse("scaffolder:tasks")).content.decode()
    everyone = client.get(reverse("scaffolder:tasks") + "?scope=all").content.decode()
    assert task.get_absolute_url() in everyone and "alice" in everyone
    assert client.get(task.get_absolute_url()).status_code == 200


def test_the_task_list_filters_by_status(alice_client, greeting):
    task = run_greeting(alice_client)
    listed = alice_client.get(reverse("scaffolder:tasks") + "?status=failed").content.decode()
    assert task.get_absolute_url() not in listed
    listed = alice_client.get(reverse("scaffolder:tasks") + "?status=completed").content.decode()
    assert task.get_absolute_url() in listed


def test_run_again_fills_the_wizard_with_the_earlier_values(alice_client, greeting):
    task = run_greeting(alice_client, who="grace")
    response = alice_client.post(reverse("scaffolder:task-rerun", args=[task.pk]))
    assert response["Location"] == reverse("scaffolder:step", args=["default", "greeting", 0])
    page = alice_client.get(response["Location"]).content.decode()
    assert 'value="grace"' in page
    assert Task.objects.count() == 1  # nothing runs until the review is confirmed again


def test_run_again_when_the_template_is_gone_says_so(alice_client, alice):
    task = Task.objects.create(template_ref="template:default/vanished", template={}, created_by=alice,
                               status=Task.Status.COMPLETED)
    response = alice_client.post(reverse("scaffolder:task-rerun", args=[task.pk]), follow=True)
    assert "no longer in the catalog" in response.content.decode()
