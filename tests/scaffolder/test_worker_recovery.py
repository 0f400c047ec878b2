"""A worker killed mid-run leaves its task failed with a clear message, never stuck "processing"."""

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from scaffolder import schedule
from scaffolder.execution import WORKER_STOPPED, execute_task, fail_stale_tasks
from scaffolder.models import Task, TaskStep
from scaffolder.tasks import fail_stale_tasks_task, run_task

pytestmark = pytest.mark.django_db


def running_task(user, started_ago: timedelta) -> Task:
    now = timezone.now()
    task = Task.objects.create(template_ref="template:default/x", template={"spec": {}}, created_by=user,
                               status=Task.Status.PROCESSING, started_at=now - started_ago,
                               last_heartbeat_at=now - started_ago)
    TaskStep.objects.create(task=task, position=0, step_id="a", name="A", action="debug:log",
                            status=TaskStep.Status.COMPLETED)
    TaskStep.objects.create(task=task, position=1, step_id="b", name="B", action="debug:wait",
                            status=TaskStep.Status.RUNNING, started_at=now - started_ago)
    TaskStep.objects.create(task=task, position=2, step_id="c", name="C", action="debug:log")
    return task


def test_a_task_processing_past_its_time_limit_is_marked_failed(alice, settings):
    settings.SCAFFOLDER_TASK_SECONDS = 60
    settings.SCAFFOLDER_STALE_GRACE_SECONDS = 30
    stale = running_task(alice, timedelta(seconds=120))
    fresh = running_task(alice, timedelta(seconds=30))
    assert fail_stale_tasks_task() == 1
    stale.refresh_from_db()
    fresh.refresh_from_db()
    assert stale.status == Task.Status.FAILED and stale.error == WORKER_STOPPED and stale.finished_at
    assert dict(stale.steps.values_list("step_id", "status")) == {"a": "completed", "b": "failed", "c": "skipped"}
    assert stale.log_lines.filter(message=f"Task failed: {WORKER_STOPPED}").exists()
    assert fresh.status == Task.Status.PROCESSING
    assert fail_stale_tasks() == 0  # idempotent


def test_the_task_page_explains_what_happened(client, alice, settings):
    settings.SCAFFOLDER_TASK_SECONDS = 1
    settings.SCAFFOLDER_STALE_GRACE_SECONDS = 0
    task = running_task(alice, timedelta(minutes=5))
    fail_stale_tasks()
    client.force_login(alice)
    body = client.get(reverse("scaffolder:task", args=[task.pk])).content.decode()
    assert WORKER_STOPPED in body and 'hx-trigger="every 1s"' not in body


def test_a_redelivered_message_for_a_running_task_fails_it_instead_of_running_twice(alice):
    task = running_task(alice, timedelta(seconds=5))
    assert execute_task(str(task.pk))["status"] == "failed"
    task.refresh_from_db()
    assert task.error == WORKER_STOPPED


def test_the_run_task_acknowledges_late_and_the_check_is_scheduled():
    assert run_task.acks_late is True
    entry = schedule.BEAT_SCHEDULE["scaffolder-fail-stale-tasks"]
    assert entry["task"] == "scaffolder.fail_stale_tasks" and entry["schedule"] > 0
    assert run_task.name == "scaffolder.run_task"


def test_a_missing_task_is_reported_not_raised():
    assert execute_task("00000000-0000-4000-8000-000000000000")["status"] == "missing"
