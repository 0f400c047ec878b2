"""Celery tasks of the scaffolder: thin wrappers around scaffolder.execution, safe to run twice."""

from celery import shared_task

from .execution import execute_task, fail_stale_tasks


@shared_task(name="scaffolder.run_task", acks_late=True)
def run_task(task_id: str, secrets: dict | None = None) -> dict:
    """Run one stored task. Secret values arrive here only, never from the database."""
    return execute_task(task_id, secrets or {})


@shared_task(name="scaffolder.fail_stale_tasks")
def fail_stale_tasks_task() -> int:
    """Mark tasks whose worker stopped (processing past the time limit plus grace) as failed."""
    return fail_stale_tasks()
