"""The scaffolder's REST API under /api/scaffolder/, with Backstage's routes and JSON shapes.

POST v2/tasks {templateRef, values, secrets} -> 201 {id}; GET v2/tasks (yours; staff: anyone's
with ``createdBy``); GET v2/tasks/<id>; POST v2/tasks/<id>/cancel; GET v2/tasks/<id>/events
(JSON, ``after``) and v2/tasks/<id>/eventstream (server-sent events: ``log`` events, then one
``completion``); POST v2/dry-run; GET v2/actions; GET v2/templates/<ns>/<kind>/<name>/parameter-schema.

Token- or session-authenticated like the catalog API, errors in Backstage's shape. Guardrails
are enforced as on the form; secrets are passed to the run and never stored or logged.
"""

from __future__ import annotations

import base64
import binascii
import json
import shutil
import tempfile
import time
from pathlib import Path, PurePosixPath
from typing import Any

from django.http import StreamingHttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import status
from rest_framework.exceptions import NotFound, PermissionDenied
from rest_framework.renderers import BaseRenderer, JSONRenderer
from rest_framework.response import Response

from catalog.api.views import CatalogAPIView, InputError
from scaffolder import conf, formschema
from scaffolder.actions import LocalDirectoryReader
from scaffolder.catalog_adapter import DjangoCatalog
from scaffolder.execution import PollingCancelToken, user_info
from scaffolder.launch import (
    LoadedTemplate,
    can_manage,
    cancel_task,
    create_task,
    load_template,
    template_entity,
    template_entity_by_ref,
    validation_errors,
)
from scaffolder.models import Task
from scaffolder.policies import guardrails_for
from scaffolder.runner import RunLimits, RunOptions, run_template
from scaffolder.template import TemplateError, parse_template

from . import serializers as s

STREAM_POLL_SECONDS = 1.0
STREAM_MAX_SECONDS = 15 * 60
MAX_DRY_RUN_FILES = 2000
MAX_DRY_RUN_BYTES = 20 * 1024 * 1024


class EventStreamRenderer(BaseRenderer):
    media_type = "text/event-stream"
    format = "event-stream"
    charset = "utf-8"

    def render(self, data, accepted_media_type=None, renderer_context=None):
        return json.dumps(data).encode()


def _iso(value) -> str | None:
    return value.isoformat().replace("+00:00", "Z") if value else None


def _user_ref(user) -> str | None:
    return user_info(user).ref if user is not None else None


def task_payload(task: Task) -> dict[str, Any]:
    template = task.template or {}
    spec = template.get("spec") or {}
    return {
        "id": str(task.pk),
        "spec": {
            "apiVersion": template.get("apiVersion"),
            "steps": spec.get("steps") or [],
            "output": spec.get("output") or {},
            "parameters": task.parameters,
            "user": {"ref": _user_ref(task.created_by)},
            "templateInfo": {
                "entityRef": task.template_ref,
                "baseUrl": task.template_location,
                "entity": {"metadata": template.get("metadata") or {}},
            },
        },
        "status": task.status,
        "createdAt": _iso(task.created_at),
        "lastHeartbeatAt": _iso(task.last_heartbeat_at),
        "createdBy": _user_ref(task.created_by),
        # Not in Backstage's task object, but handy for clients that do not read the events.
        "output": task.output,
        "error": task.error or None,
        "steps": [
            {"id": step.step_id, "name": step.name, "action": step.action, "status": step.status,
             "startedAt": _iso(step.started_at), "endedAt": _iso(step.finished_at)}
            for step in task.steps.all()
        ],
    }


def _step_status(message: str) -> str | None:
    if message.startswith("Beginning step"):
        return "processing"
    if message.startswith("Finished step"):
        return "completed"
    if message.startswith("Skipping"):
        return "skipped"
    if message.startswith("Step ") and " failed" in message:
        return "failed"
    if message.startswith("Step ") and "cancelled" in message:
        return "cancelled"
    return None


def task_events(task: Task, after: int = 0) -> list[dict[str, Any]]:
    events = []
    last = after
    for line in task.log_lines.filter(seq__gt=after).order_by("seq"):
        body: dict[str, Any] = {"message": line.message}
        if line.step_id:
            body["stepId"] = line.step_id
            state = _step_status(line.message)
            if state:
                body["status"] = state
        events.append({"id": line.seq, "taskId": str(task.pk), "type": "log", "body": body,
                       "createdAt": _iso(line.created_at)})
        last = line.seq
    if task.is_finished:
        events.append({
            "id": last + 1, "taskId": str(task.pk), "type": "completion",
            "body": {"message": f"Run completed with status: {task.status}", "status": task.status,
                     "output": task.output, **({"error": {"message": task.error}} if task.error else {})},
            "createdAt": _iso(task.finished_at),
        })
    return events


def _task_or_404(request, task_id) -> Task:
    task = Task.objects.select_related("created_by").filter(pk=task_id).first()
    if task is None or not can_manage(request.user, task):
        raise NotFound(f"Task {task_id} not found")
    return task


def _input_error(request, message: str, errors: dict[str, list[str]] | None = None) -> Response:
    body: dict[str, Any] = {
        "error": {"name": "InputError", "message": message},
        "request": {"method": request.method, "url": request.get_full_path()},
        "response": {"statusCode": 400},
    }
    if errors:
        body["errors"] = errors
    return Response(body, status=status.HTTP_400_BAD_REQUEST)


def _describe_errors(loaded: LoadedTemplate, errors: dict[str, list[str]]) -> str:
    labels = {spec.name: spec.label for step in loaded.steps for spec in step.all_fields}
    parts = []
    for name, messages in errors.items():
        label = name if name != formschema.NON_FIELD else ""
        for message in messages:
            parts.append(f"{label} ({labels.get(name, name)}): {message}" if label else message)
    return "Invalid values: " + "; ".join(parts)


ERRORS = {
    400: OpenApiResponse(description="InputError"),
    401: OpenApiResponse(description="AuthenticationError"),
    403: OpenApiResponse(description="NotAllowedError"),
    404: OpenApiResponse(description="NotFoundError"),
}


class TasksView(CatalogAPIView):
    @extend_schema(
        operation_id="scaffolder_tasks_create",
        summary="Run a template",
        description="Validates the values against the template's parameters and the guardrails, stores the task "
                    "(secrets masked) and queues it. `secrets` are available to steps as `${{ secrets.x }}`.",
        request=s.CreateTaskSerializer,
        responses={201: s.CreatedTaskDoc, **ERRORS},
    )
    def post(self, request):
        body = s.CreateTaskSerializer(data=request.data)
        if not body.is_valid():
            raise InputError(body.errors)
        data = body.validated_data
        entity = template_entity_by_ref(data["templateRef"])
        if entity is None:
            raise NotFound(f"Template {data['templateRef']} not found")
        try:
            loaded = load_template(entity)
        except (TemplateError, formschema.FormSchemaError) as exc:
            return _input_error(request, f"The template cannot be run: {exc}")
        guardrails = guardrails_for(request.user, entity.ref)
        if not guardrails.allowed:
            raise PermissionDenied(f"You may not run {entity.ref}. {guardrails.reason}")
        values = data.get("values") or {}
        errors = validation_errors(loaded, values, guardrails)
        if errors:
            return _input_error(request, _describe_errors(loaded, errors), errors)
        task = create_task(request.user, loaded, values, secrets=dict(data.get("secrets") or {}), request=request,
                           via="api")
        return Response({"id": str(task.pk)}, status=status.HTTP_201_CREATED)

    @extend_schema(
        operation_id="scaffolder_tasks_list",
        summary="List tasks",
        parameters=[
            OpenApiParameter("createdBy", OpenApiTypes.STR, description="A user ref (staff only for others)."),
            OpenApiParameter("status", OpenApiTypes.STR),
            OpenApiParameter("limit", OpenApiTypes.INT),
            OpenApiParameter("offset", OpenApiTypes.INT),
        ],
        responses={200: OpenApiResponse(description="{tasks: [...], totalTasks}"), **ERRORS},
    )
    def get(self, request):
        tasks = Task.objects.select_related("created_by").prefetch_related("steps").order_by("-created_at")
        created_by = request.query_params.get("createdBy", "").strip().lower()
        if not request.user.is_staff:
            tasks = tasks.filter(created_by=request.user)
        elif created_by:
            name = created_by.rsplit("/", 1)[-1].split(":")[-1]
            tasks = tasks.filter(created_by__username__iexact=name)
        if request.query_params.get("status"):
            tasks = tasks.filter(status=request.query_params["status"])
        try:
            limit = min(max(int(request.query_params.get("limit", 100)), 0), 1000)
            offset = max(int(request.query_params.get("offset", 0)), 0)
        except ValueError:
            raise InputError("limit and offset must be whole numbers")
        total = tasks.count()
        return Response({"tasks": [task_payload(t) for t in tasks[offset:offset + limit]], "totalTasks": total})


class TaskView(CatalogAPIView):
    @extend_schema(operation_id="scaffolder_task", summary="One task", responses={200: s.TaskDoc, **ERRORS})
    def get(self, request, task_id):
        return Response(task_payload(_task_or_404(request, task_id)))


class CancelView(CatalogAPIView):
    @extend_schema(operation_id="scaffolder_task_cancel", summary="Cancel a task", request=None,
                   responses={200: OpenApiResponse(description="{status}"), **ERRORS})
    def post(self, request, task_id):
        task = _task_or_404(request, task_id)
        message = cancel_task(request.user, task, request=request)
        task.refresh_from_db()
        return Response({"status": task.status, "message": message})


class EventsView(CatalogAPIView):
    @extend_schema(
        operation_id="scaffolder_task_events",
        summary="A task's events so far",
        parameters=[OpenApiParameter("after", OpenApiTypes.INT, description="Only events after this id.")],
        responses={200: s.TaskEventDoc(many=True), **ERRORS},
    )
    def get(self, request, task_id):
        task = _task_or_404(request, task_id)
        return Response(task_events(task, _after(request)))


def _after(request) -> int:
    raw = request.query_params.get("after") or "0"
    try:
        return max(int(raw), 0)
    except ValueError:
        raise InputError("after must be a whole number")


class EventStreamView(CatalogAPIView):
    renderer_classes = [JSONRenderer, EventStreamRenderer]

    @extend_schema(
        operation_id="scaffolder_task_eventstream",
        summary="A task's events as server-sent events",
        description="`event: log` for each log line, then one `event: completion` when the task has finished; "
                    "the stream then ends.",
        parameters=[OpenApiParameter("after", OpenApiTypes.INT)],
        responses={(200, "text/event-stream"): OpenApiTypes.STR, **ERRORS},
    )
    def get(self, request, task_id):
        task = _task_or_404(request, task_id)
        after = _after(request)

        def stream():
            nonlocal after
            deadline = time.monotonic() + STREAM_MAX_SECONDS
            while True:
                task.refresh_from_db()
                for event in task_events(task, after):
                    yield f"event: {event['type']}\ndata: {json.dumps(event)}\n\n"
                    if event["type"] == "log":
                        after = event["id"]
                    else:
                        return
                if time.monotonic() > deadline:
                    return
                yield ": keep-alive\n\n"
                time.sleep(STREAM_POLL_SECONDS)

        response = StreamingHttpResponse(stream(), content_type="text/event-stream")
        response["Cache-Control"] = "no-cache"
        response["X-Accel-Buffering"] = "no"
        return response


def _write_directory(root: Path, files: list[dict[str, Any]]) -> None:
    if len(files) > MAX_DRY_RUN_FILES:
        raise InputError(f"directoryContents may hold at most {MAX_DRY_RUN_FILES} files")
    total = 0
    for item in files:
        relative = PurePosixPath(item["path"].replace("\\", "/"))
        if relative.is_absolute() or ".." in relative.parts or not relative.parts:
            raise InputError(f"directoryContents: {item['path']!r} must be a relative path inside the template")
        try:
            content = base64.b64decode(item["base64Content"], validate=True)
        except (binascii.Error, ValueError):
            raise InputError(f"directoryContents: {item['path']!r} is not valid base64")
        total += len(content)
        if total > MAX_DRY_RUN_BYTES:
            raise InputError(f"directoryContents may hold at most {MAX_DRY_RUN_BYTES // (1024 * 1024)} MB")
        target = root.joinpath(*relative.parts)
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(content)
        if item.get("executable"):
            target.chmod(0o755)


class DryRunView(CatalogAPIView):
    @extend_schema(
        operation_id="scaffolder_dry_run",
        summary="Dry-run a template",
        description="Runs the template without publishing or registering anything; `directoryContents` are the "
                    "template's own files (e.g. its skeleton), base64-encoded. Answers the log, the files the "
                    "run produced, the steps and the output.",
        request=s.DryRunSerializer,
        responses={200: OpenApiResponse(description="{log, directoryContents, steps, output}"), **ERRORS},
    )
    def post(self, request):
        body = s.DryRunSerializer(data=request.data)
        if not body.is_valid():
            raise InputError(body.errors)
        data = body.validated_data
        try:
            template = parse_template(data["template"])
            steps = formschema.parameter_steps((data["template"].get("spec") or {}).get("parameters"))
        except (TemplateError, formschema.FormSchemaError) as exc:
            raise InputError(f"The template cannot be run: {exc}")
        values = data.get("values") or {}
        errors = formschema.validate_all(steps, values)
        if errors:
            return _input_error(request, "Invalid values: " + "; ".join(
                f"{name}: {m}" for name, messages in errors.items() for m in messages), errors)
        secrets = {str(k): str(v) for k, v in (data.get("secrets") or {}).items()}
        folder = Path(tempfile.mkdtemp(prefix="causeway-dry-run-"))
        try:
            _write_directory(folder, data.get("directoryContents") or [])
            limits = conf.run_limits()
            catalog = DjangoCatalog(user=request.user, readonly=True)
            secret_names = formschema.secret_fields(steps) | set(template.secret_parameter_names())
            secret_values = [str(values[n]) for n in secret_names if isinstance(values.get(n), str | int | float)]
            result = run_template(
                template, values,
                RunOptions(
                    registry=conf.action_registry(), reader=LocalDirectoryReader(folder, conf.remote_trees()),
                    catalog=catalog, git_hosts=conf.git_hosts(), user=user_info(request.user), secrets=secrets,
                    secret_values=secret_values, dry_run=True, work_dir=conf.work_dir(),
                    limits=RunLimits(task_seconds=min(limits.task_seconds, 120),
                                     step_seconds=min(limits.step_seconds, 60), workspace=limits.workspace,
                                     max_wait_seconds=5),
                ),
                cancel=PollingCancelToken(pollers=[catalog.pump]),
            )
        finally:
            shutil.rmtree(folder, ignore_errors=True)
        return Response({
            "log": [{"body": {"message": line.line, **({"stepId": line.step_id} if line.step_id else {})}}
                    for line in result.log],
            "directoryContents": [
                {"path": f.path, "base64Content": f.base64_content, "executable": f.executable}
                for f in result.files or []
            ],
            "steps": [{"id": r.id, "name": r.name, "action": r.action, "status": str(r.status)} for r in result.steps],
            "output": result.output,
            "status": str(result.status),
            "error": result.error,
        })


class ActionsView(CatalogAPIView):
    @extend_schema(operation_id="scaffolder_actions", summary="Installed actions",
                   responses={200: OpenApiResponse(description="[{id, description, schema: {input, output}}]")})
    def get(self, request):
        return Response([
            {"id": a.id, "description": a.description, "schema": {"input": a.input_schema,
                                                                   "output": a.output_schema or {}}}
            for a in conf.action_registry().list()
        ])


class ParameterSchemaView(CatalogAPIView):
    @extend_schema(operation_id="scaffolder_parameter_schema", summary="A template's form steps",
                   responses={200: OpenApiResponse(description="{title, description, steps: [{title, schema}]}"),
                              **ERRORS})
    def get(self, request, namespace, kind, name):
        entity = template_entity(namespace, name) if kind.lower() == "template" else None
        if entity is None:
            raise NotFound(f"Template {kind}:{namespace}/{name} not found")
        parameters = (entity.data.get("spec") or {}).get("parameters") or []
        pages = parameters if isinstance(parameters, list) else [parameters]
        return Response({
            "title": entity.title or entity.name,
            "description": entity.description,
            "steps": [{"title": page.get("title") or f"Step {i + 1}", "description": page.get("description"),
                       "schema": page} for i, page in enumerate(pages) if isinstance(page, dict)],
        })
