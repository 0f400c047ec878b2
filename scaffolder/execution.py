"""Running a stored Task with the engine: events into the database, cancellation from it.

``execute_task(task_id, secrets)`` is what the Celery task calls. It claims the task (open ->
processing) so a redelivered message never runs it twice, runs the template snapshot with
``scaffolder.runner.run_template`` and stores step status and log lines as they happen.
``fail_stale_tasks()`` marks tasks whose worker disappeared as failed.
"""

from __future__ import annotations

import json
import logging
import posixpath
import time
from collections.abc import Callable, Iterable
from datetime import timedelta
from pathlib import Path
from typing import Any

from django.db.models import Max
from django.utils import timezone

from catalog.ownership import user_entity

from . import conf, formschema
from .actions import GitCheckoutReader, LocalDirectoryReader, UserInfo
from .actions.registry import ReaderError
from .catalog_adapter import DjangoCatalog
from .models import Task, TaskLogLine, TaskStep
from .policies import guarded_registry, guardrails_for
from .runner import CancelToken, LogLine, RunOptions, StepRecord, run_template
from .template import TemplateError, parse_template

logger = logging.getLogger(__name__)

WORKER_STOPPED = "The worker running this task stopped."
FLUSH_SECONDS = 0.5
HEARTBEAT_SECONDS = 5.0
MAX_LOG_LINE = 10_000


def json_safe(value: Any) -> Any:
    return json.loads(json.dumps(value, default=str))


def log_level(message: str) -> str:
    lowered = message.lower()
    return "error" if " failed" in lowered or lowered.startswith(("error", "task failed")) else "info"


class TaskEvents:
    """RunEvents that store step status and log lines; log lines are written in small batches."""

    def __init__(self, task: Task) -> None:
        self.task = task
        self.seq = TaskLogLine.objects.filter(task=task).aggregate(n=Max("seq"))["n"] or 0
        self.buffer: list[TaskLogLine] = []
        self.last_flush = time.monotonic()
        self.last_heartbeat = 0.0

    def step_started(self, record: StepRecord) -> None:
        self.flush()
        TaskStep.objects.filter(task=self.task, step_id=record.id).update(
            status=TaskStep.Status.RUNNING, started_at=record.started_at or timezone.now()
        )

    def log(self, line: LogLine) -> None:
        self.seq += 1
        message = line.line if len(line.line) <= MAX_LOG_LINE else line.line[:MAX_LOG_LINE] + "…"
        self.buffer.append(TaskLogLine(
            task=self.task, step_id=line.step_id or "", seq=self.seq, created_at=line.at,
            level=log_level(message), message=message,
        ))
        if len(self.buffer) >= 200:
            self.flush()

    def step_finished(self, record: StepRecord) -> None:
        self.flush()
        TaskStep.objects.filter(task=self.task, step_id=record.id).update(
            status=str(record.status),
            started_at=record.started_at,
            finished_at=record.finished_at or timezone.now(),
            output=json_safe(record.output or {}),
            error=record.error or "",
        )

    def flush(self) -> None:
        if self.buffer:
            TaskLogLine.objects.bulk_create(self.buffer)
            self.buffer = []
        self.last_flush = time.monotonic()
        self.heartbeat()

    def heartbeat(self, force: bool = False) -> None:
        now = time.monotonic()
        if force or now - self.last_heartbeat >= HEARTBEAT_SECONDS:
            self.last_heartbeat = now
            Task.objects.filter(pk=self.task.pk).update(last_heartbeat_at=timezone.now())

    def poll(self) -> None:
        if self.buffer and time.monotonic() - self.last_flush >= FLUSH_SECONDS:
            self.flush()
        else:
            self.heartbeat()


class PollingCancelToken(CancelToken):
    """A cancel token whose check also runs housekeeping in the runner's thread.

    The runner reads ``cancelled`` between steps and about twenty times a second while a
    step runs, always in the thread that called run_template: the pollers given here (flush
    the log, serve catalog calls) run there, and ``should_cancel`` is asked at most once per
    ``interval`` seconds.
    """

    def __init__(
        self,
        pollers: Iterable[Callable[[], None]] = (),
        should_cancel: Callable[[], bool] | None = None,
        interval: float = 1.0,
    ) -> None:
        super().__init__()
        self.pollers = list(pollers)
        self.should_cancel = should_cancel
        self.interval = interval
        self._checked = 0.0

    @property
    def cancelled(self) -> bool:
        for poller in self.pollers:
            try:
                poller()
            except Exception:  # a failed flush must not stop the run; the next poll retries
                logger.exception("scaffolder: polling failed")
        if not self._event.is_set() and self.should_cancel is not None:
            now = time.monotonic()
            if now - self._checked >= self.interval:
                self._checked = now
                try:
                    if self.should_cancel():
                        self.cancel()
                except Exception:
                    logger.exception("scaffolder: reading the cancel flag failed")
        return self._event.is_set()


def reader_for(location: str):
    """A TemplateReader for the folder of the template file at ``location`` (or None)."""
    trees = conf.remote_trees()
    if location.startswith("file:"):
        path = Path(location[len("file:"):]).resolve()
        roots = conf.file_roots()
        if not any(path == root or root in path.parents for root in roots):
            raise ReaderError(f"{path} is outside the folders templates may be read from (CAUSEWAY_FILE_ROOTS)")
        return LocalDirectoryReader(path.parent, trees)
    if location.startswith("git:"):
        repo, _, rest = location[len("git:"):].rpartition("#")
        ref, _, path = rest.partition(":")
        return GitCheckoutReader(repo, ref or None, posixpath.dirname(path), trees)
    return None


def user_info(user) -> UserInfo:
    if user is None:
        return UserInfo()
    entity = user_entity(user)
    if entity is not None:
        return UserInfo(ref=entity.ref, entity=entity.data)
    name = user.get_username()
    profile = {"displayName": user.get_full_name() or name}
    if user.email:
        profile["email"] = user.email
    return UserInfo(
        ref=f"user:default/{name.lower()}",
        entity={"apiVersion": "backstage.io/v1alpha1", "kind": "User", "metadata": {"name": name},
                "spec": {"profile": profile}},
    )


def _finish(task_id, status: str, error: str = "", output: dict | None = None) -> None:
    now = timezone.now()
    Task.objects.filter(pk=task_id).update(
        status=status, error=error, finished_at=now, last_heartbeat_at=now, output=output or {}
    )
    leftover = TaskStep.Status.CANCELLED if status == Task.Status.CANCELLED else TaskStep.Status.SKIPPED
    TaskStep.objects.filter(task_id=task_id, status=TaskStep.Status.PENDING).update(status=leftover)
    TaskStep.objects.filter(task_id=task_id, status=TaskStep.Status.RUNNING).update(
        status=TaskStep.Status.FAILED if status == Task.Status.FAILED else leftover, finished_at=now
    )


def _append_log(task_id, message: str, level: str = "info") -> None:
    seq = (TaskLogLine.objects.filter(task_id=task_id).aggregate(n=Max("seq"))["n"] or 0) + 1
    TaskLogLine.objects.create(task_id=task_id, seq=seq, level=level, message=message)


def execute_task(task_id: str, secrets: dict[str, Any] | None = None) -> dict[str, Any]:
    """Run a stored task once. ``secrets``: {"parameters": {dotted name: value}, "secrets": {...}}."""
    secrets = secrets or {}
    task = Task.objects.filter(pk=task_id).select_related("created_by").first()
    if task is None:
        return {"id": str(task_id), "status": "missing"}
    now = timezone.now()
    claimed = Task.objects.filter(pk=task.pk, status=Task.Status.OPEN, cancel_requested_at__isnull=True).update(
        status=Task.Status.PROCESSING, started_at=now, last_heartbeat_at=now
    )
    if not claimed:
        task.refresh_from_db()
        if task.status == Task.Status.OPEN:  # cancelled before it started
            _finish(task.pk, Task.Status.CANCELLED, "The task was cancelled before it started.")
            _append_log(task.pk, "Task cancelled before it started")
        elif task.status == Task.Status.PROCESSING:
            # Only a redelivered message finds its task already running: its first worker is gone.
            _append_log(task.pk, f"Task failed: {WORKER_STOPPED}", "error")
            _finish(task.pk, Task.Status.FAILED, WORKER_STOPPED)
        task.refresh_from_db()
        return {"id": str(task.pk), "status": task.status}
    task.refresh_from_db()

    reader = None
    try:
        template = parse_template(task.template)
        parameters = json.loads(json.dumps(task.parameters))
        secret_parameters = secrets.get("parameters") or {}
        for name, value in secret_parameters.items():
            formschema.set_path(parameters, name, value)
        task_secrets = {str(k): str(v) for k, v in (secrets.get("secrets") or {}).items()}
        reader = reader_for(task.template_location)
        catalog = DjangoCatalog(user=task.created_by, task_id=str(task.pk))
        events = TaskEvents(task)
        guardrails = guardrails_for(task.created_by, task.template_ref)
        options = RunOptions(
            registry=guarded_registry(conf.action_registry(), guardrails),
            reader=reader,
            catalog=catalog,
            git_hosts=conf.git_hosts(),
            user=user_info(task.created_by),
            secrets=task_secrets,
            secret_values=[str(v) for v in secret_parameters.values() if isinstance(v, str | int | float) and str(v)],
            limits=conf.run_limits(),
            work_dir=conf.work_dir(),
        )
        cancel = PollingCancelToken(
            pollers=[catalog.pump, events.poll],
            should_cancel=lambda: Task.objects.filter(pk=task.pk, cancel_requested_at__isnull=False).exists(),
        )
        result = run_template(template, parameters, options, events=events, cancel=cancel)
        events.flush()
        _finish(task.pk, str(result.status), result.error or "", json_safe(result.output or {}))
    except (TemplateError, ReaderError) as exc:
        _append_log(task.pk, f"Task failed: {exc}", "error")
        _finish(task.pk, Task.Status.FAILED, str(exc))
    except Exception as exc:
        logger.exception("scaffolder task %s crashed", task.pk)
        message = f"internal error: {type(exc).__name__}"
        _append_log(task.pk, f"Task failed: {message}", "error")
        _finish(task.pk, Task.Status.FAILED, message)
    finally:
        close = getattr(reader, "close", None)
        if close is not None:
            close()
    task.refresh_from_db()
    return {"id": str(task.pk), "status": task.status}


def fail_stale_tasks(now=None) -> int:
    """Mark tasks processing for longer than the task time limit (plus grace) as failed."""
    now = now or timezone.now()
    cutoff = now - timedelta(seconds=conf.stale_after_seconds())
    stale = list(Task.objects.filter(status=Task.Status.PROCESSING, started_at__lt=cutoff).values_list("pk", flat=True))
    for task_id in stale:
        updated = Task.objects.filter(pk=task_id, status=Task.Status.PROCESSING).update(
            status=Task.Status.FAILED, error=WORKER_STOPPED, finished_at=now
        )
        if updated:
            TaskStep.objects.filter(task_id=task_id, status=TaskStep.Status.RUNNING).update(
                status=TaskStep.Status.FAILED, finished_at=now, error=WORKER_STOPPED
            )
            TaskStep.objects.filter(task_id=task_id, status=TaskStep.Status.PENDING).update(
                status=TaskStep.Status.SKIPPED
            )
            _append_log(task_id, f"Task failed: {WORKER_STOPPED}", "error")
    return len(stale)
