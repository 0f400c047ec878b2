"""Cancelling a task: queued ones stop at once, running ones at the runner's next check of the database."""

import time

import pytest
from django.urls import reverse
from django.utils import timezone

from portal.models import AuditEvent
from scaffolder import execution
from scaffolder.execution import execute_task
from scaffolder.models import Task, TaskStep

pytestmark = pytest.mark.django_db

WAITING = """
type: service
parameters: []
steps:
  - {id: hello, action: debug:log, input: {message: hi}}
  - {id: wait, action: debug:wait, input: {seconds: 20}}
  - {id: after, action: debug:log, input: {message: never}}
"""


@pytest.fixture
def waiting(add_template):
    add_template("waiting", WAITING)
    from scaffolder.launch import load_template, template_entity

    return load_template(template_entity("default", "waiting"))


def queued_task(loaded, user) -> Task:
    task = Task.objects.create(template_ref=loaded.ref, template=loaded.entity.data,
                               template_location=loaded.entity.source_location, created_by=user)
    for index, step in enumerate(loaded.template.steps):
        TaskStep.objects.create(task=task, position=index, step_id=step.id, name=step.name, action=step.action)
    return task


def test_a_running_task_stops_when_cancelled(waiting, alice, monkeypatch):
    task = queued_task(waiting, alice)
    original = execution.TaskEvents.step_started

    def cancel_when_waiting(self, record):
        original(self, record)
        if record.id == "wait":  # someone presses Cancel while the step runs
            Task.objects.filter(pk=task.pk).update(cancel_requested_at=timezone.now())

    monkeypatch.setattr(execution.TaskEvents, "step_started", cancel_when_waiting)
    started = time.monotonic()
    execute_task(str(task.pk))
    assert time.monotonic() - started < 10
    task.refresh_from_db()
    assert task.status == Task.Status.CANCELLED
    assert dict(task.steps.values_list("step_id", "status")) == {
        "hello": "completed", "wait": "cancelled", "after": "cancelled"}
    assert not task.log_lines.filter(message="never").exists()


def test_the_owner_cancels_a_queued_task(client, waiting, alice):
    task = queued_task(waiting, alice)
    client.force_login(alice)
    response = client.post(reverse("scaffolder:task-cancel", args=[task.pk]), follow=True)
    assert "The task was cancelled." in response.content.decode()
    task.refresh_from_db()
    assert task.status == Task.Status.CANCELLED and task.finished_at
    assert set(task.steps.values_list("status", flat=True)) == {"cancelled"}
    assert AuditEvent.objects.filter(action="scaffolder.task.cancel", object_id=str(task.pk)).exists()
    # a worker that picks the message up later leaves it alone
    assert execute_task(str(task.pk))["status"] == "cancelled"
    assert not task.log_lines.filter(message__startswith="Beginning").exists()


def test_cancelling_a_running_task_asks_it_to_stop(client, waiting, alice):
    task = queued_task(waiting, alice)
    Task.objects.filter(pk=task.pk).update(status=Task.Status.PROCESSING, started_at=timezone.now())
    client.force_login(alice)
    response = client.post(reverse("scaffolder:task-cancel", args=[task.pk]), follow=True)
    assert "Cancelling" in response.content.decode()
    task.refresh_from_db()
    assert task.status == Task.Status.PROCESSING and task.cancel_requested_at
    assert "cancelling…" in client.get(task.get_absolute_url()).content.decode()


def test_staff_may_cancel_anyones_task_and_strangers_may_not(client, waiting, alice, charlie, sam):
    task = queued_task(waiting, alice)
    client.force_login(charlie)
    assert client.post(reverse("scaffolder:task-cancel", args=[task.pk])).status_code == 404
    task.refresh_from_db()
    assert task.status == Task.Status.OPEN
    client.force_login(sam)
    client.post(reverse("scaffolder:task-cancel", args=[task.pk]))
    task.refresh_from_db()
    assert task.status == Task.Status.CANCELLED


def test_a_finished_task_cannot_be_cancelled(client, waiting, alice):
    task = queued_task(waiting, alice)
    Task.objects.filter(pk=task.pk).update(status=Task.Status.COMPLETED, finished_at=timezone.now())
    client.force_login(alice)
    response = client.post(reverse("scaffolder:task-cancel", args=[task.pk]), follow=True)
    assert "already completed" in response.content.decode()
    assert Task.objects.get(pk=task.pk).status == "completed"


def test_cancel_needs_a_post(client, waiting, alice):
    task = queued_task(waiting, alice)
    client.force_login(alice)
    assert client.get(reverse("scaffolder:task-cancel", args=[task.pk])).status_code == 405
