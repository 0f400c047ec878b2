"""From confirmed values to a queued Task, shared by the wizard and the API; and cancelling.

    loaded = load_template(entity)                 # TemplateError / FormSchemaError when unusable
    errors = validation_errors(loaded, values, guardrails)
    task = create_task(user, loaded, values, secrets={...}, request=request)

Secret values (Secret fields, password widgets, the API's ``secrets``) are kept out of the
database: the Task stores ``***`` in their place and the real values travel only to the
worker with the Celery message.
"""

from __future__ import annotations

import copy
import logging
import re
from dataclasses import dataclass
from typing import Any

from django.db import transaction
from django.utils import timezone

from catalog.models import Entity
from portal import audit

from . import conf, formschema
from .expressions import FilterArgumentError, parse_repo_url
from .models import REDACTED, Task, TaskLogLine, TaskStep
from .policies import Guardrails, publish_errors
from .template import Template, parse_template

logger = logging.getLogger(__name__)

# Kubernetes object names, which Backstage's EntityNamePicker enforces.
ENTITY_NAME = re.compile(r"^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$")


class LaunchError(Exception):
    def __init__(self, message: str, errors: dict[str, list[str]] | None = None):
        super().__init__(message)
        self.errors = errors or {}


@dataclass
class LoadedTemplate:
    entity: Entity
    template: Template
    steps: list[formschema.FormStep]

    @property
    def ref(self) -> str:
        return self.entity.ref

    @property
    def title(self) -> str:
        return self.template.title or self.entity.name

    def secret_names(self) -> set[str]:
        return formschema.secret_fields(self.steps) | set(self.template.secret_parameter_names())


def template_entity(namespace: str, name: str) -> Entity | None:
    return Entity.objects.filter(kind="template", namespace=namespace.lower(), name=name.lower()).first()


def template_entity_by_ref(ref: str) -> Entity | None:
    text = (ref or "").strip().lower()
    kind, _, rest = text.rpartition(":")
    if kind and kind != "template":
        return None
    namespace, _, name = rest.rpartition("/")
    return template_entity(namespace or "default", name) if name else None


def load_template(entity: Entity) -> LoadedTemplate:
    template = parse_template(entity.data)
    return LoadedTemplate(entity=entity, template=template, steps=formschema.parameter_steps(
        (entity.data.get("spec") or {}).get("parameters")))


def get_path(values: Any, name: str) -> Any:
    node = values
    for part in name.split("."):
        if not isinstance(node, dict) or part not in node:
            return None
        node = node[part]
    return node


def _has_path(values: Any, name: str) -> bool:
    node = values
    for part in name.split("."):
        if not isinstance(node, dict) or part not in node:
            return False
        node = node[part]
    return True


def split_secrets(values: dict[str, Any], names: set[str]) -> tuple[dict[str, Any], dict[str, Any]]:
    """(values with each secret replaced by ***, {dotted name: secret value})."""
    stored = copy.deepcopy(values)
    secrets: dict[str, Any] = {}
    for name in sorted(names):
        if _has_path(values, name):
            value = get_path(values, name)
            if value not in (None, ""):
                secrets[name] = value
            formschema.set_path(stored, name, REDACTED)
    return stored, secrets


def picker_errors(steps: list[formschema.FormStep], values: dict[str, Any]) -> dict[str, list[str]]:
    """What Backstage's pickers check in the browser, checked on the server."""
    errors: dict[str, list[str]] = {}
    for step in steps:
        for spec in formschema.fields_for(step, values):
            value = get_path(values, spec.name)
            if not isinstance(value, str) or not value:
                continue
            problem = None
            if spec.kind == "entity_name_picker" and (len(value) > 63 or not ENTITY_NAME.match(value)):
                problem = ("Use at most 63 letters, digits, '-', '_' or '.', starting and ending with a "
                           "letter or digit")
            elif spec.kind == "repo_url_picker":
                problem = repo_url_problem(value, spec.options)
            if problem:
                errors.setdefault(spec.name, []).append(problem)
    return errors


def repo_url_problem(value: str, options: dict[str, Any]) -> str | None:
    try:
        parsed = parse_repo_url(value)
    except FilterArgumentError:
        return "Choose a host and enter an owner and a repository name"
    hosts = options.get("allowedHosts")
    if isinstance(hosts, list) and hosts and parsed["host"] not in hosts:
        return f"Choose one of these hosts: {', '.join(map(str, hosts))}"
    owner = parsed.get("owner", "")
    owners = options.get("allowedOwners") or options.get("allowedOrganizations")
    if isinstance(owners, list) and owners and owner not in owners:
        return f"Choose one of these owners: {', '.join(map(str, owners))}"
    repos = options.get("allowedRepos")
    if isinstance(repos, list) and repos and parsed["repo"] not in repos:
        return f"Choose one of these repositories: {', '.join(map(str, repos))}"
    for label, part in (("owner", owner), ("repository name", parsed["repo"])):
        if part and not re.fullmatch(r"[A-Za-z0-9_][A-Za-z0-9._-]{0,99}", part):
            return f"The {label} may only hold letters, digits, '.', '-' and '_'"
    return None


def _merge(into: dict[str, list[str]], extra: dict[str, list[str]]) -> None:
    for name, messages in extra.items():
        bucket = into.setdefault(name, [])
        bucket.extend(m for m in messages if m not in bucket)


def validation_errors(loaded: LoadedTemplate, values: dict[str, Any], guardrails: Guardrails) -> dict[str, list[str]]:
    errors = formschema.validate_all(loaded.steps, values, guardrails.extra_constraints or None)
    _merge(errors, picker_errors(loaded.steps, values))
    _merge(errors, publish_errors(loaded.steps, values, guardrails))
    return errors


def create_task(
    user,
    loaded: LoadedTemplate,
    values: dict[str, Any],
    *,
    secrets: dict[str, str] | None = None,
    request=None,
    via: str = "form",
) -> Task:
    """Store the task (secrets masked), audit it and queue its run."""
    stored, secret_parameters = split_secrets(values, loaded.secret_names())
    entity = loaded.entity
    with transaction.atomic():
        task = Task.objects.create(
            template_ref=entity.ref,
            template_title=(loaded.template.title or entity.title or entity.name)[:255],
            template=entity.data,
            template_location=entity.source_location,
            parameters=stored,
            created_by=user if getattr(user, "is_authenticated", False) else None,
        )
        TaskStep.objects.bulk_create([
            TaskStep(task=task, position=index, step_id=step.id, name=step.name[:255], action=step.action[:200])
            for index, step in enumerate(loaded.template.steps)
        ])
        audit.record(
            user, "scaffolder.task.create", task, request=request,
            after={"template": entity.ref, "parameters": stored, "via": via,
                   "secrets": sorted((secrets or {}).keys())},
        )
    dispatch(task, secret_parameters, secrets or {})
    task.refresh_from_db()
    return task


def dispatch(task: Task, secret_parameters: dict[str, Any], secrets: dict[str, str]) -> None:
    from .tasks import run_task

    try:
        run_task.apply_async(
            args=[str(task.pk)],
            kwargs={"secrets": {"parameters": secret_parameters, "secrets": secrets}},
            kwargsrepr="{'secrets': '***'}",
            time_limit=conf.task_seconds() + 60,
        )
    except Exception as exc:  # the broker is unreachable: say so on the task instead of a 500
        logger.exception("scaffolder: could not queue task %s", task.pk)
        message = f"The task could not be queued: {type(exc).__name__}."
        Task.objects.filter(pk=task.pk, status=Task.Status.OPEN).update(
            status=Task.Status.FAILED, error=message, finished_at=timezone.now()
        )
        TaskLogLine.objects.create(task=task, seq=1, level="error", message=message)


def can_manage(user, task: Task) -> bool:
    return bool(getattr(user, "is_authenticated", False)) and (user.is_staff or task.created_by_id == user.pk)


def cancel_task(user, task: Task, request=None) -> str:
    """Ask a task to stop; returns a message for the person who asked."""
    if task.is_finished:
        return f"The task has already {task.status}."
    now = timezone.now()
    if task.status == Task.Status.OPEN:
        updated = Task.objects.filter(pk=task.pk, status=Task.Status.OPEN).update(
            status=Task.Status.CANCELLED, cancel_requested_at=now, finished_at=now,
            error="The task was cancelled before it started.",
        )
        if updated:
            TaskStep.objects.filter(task=task).update(status=TaskStep.Status.CANCELLED)
    if not Task.objects.filter(pk=task.pk, status=Task.Status.CANCELLED).exists():
        Task.objects.filter(pk=task.pk, cancel_requested_at__isnull=True).update(cancel_requested_at=now)
    audit.record(user, "scaffolder.task.cancel", task, request=request, before={"status": task.status})
    task.refresh_from_db()
    if task.status == Task.Status.CANCELLED:
        return "The task was cancelled."
    return "Cancelling: the task stops at its next checkpoint."
