"""Run a parsed template, step by step, in a temporary workspace.

Public API::

    result = run_template(
        template,                      # scaffolder.template.Template
        parameters,                    # the submitted form values (already validated by the caller)
        RunOptions(registry=default_registry(), reader=LocalDirectoryReader(folder),
                   catalog=..., git_hosts=..., user=UserInfo(ref=..., entity=...),
                   secrets={...}, secret_values=[...], limits=RunLimits(...), dry_run=False),
        events=my_sink,                # optional RunEvents: step_started / log / step_finished
        cancel=token,                  # optional CancelToken; token.cancel() from any thread
    )
    result.status                      # "completed" | "failed" | "cancelled"
    result.steps                       # list[StepRecord] (status, times, redacted input/output, error)
    result.output                      # rendered spec.output ({"links": [...], "text": [...]})
    result.log                         # list[LogLine]
    result.files                       # dry runs only: list[WorkspaceFile] with contents

Behaviour, as in Backstage's workflow runner:
- ``if`` is evaluated first (per iteration when the step has ``each``); false skips the step;
- ``each`` renders to a list (keys "0", "1", ...) or an object; every iteration's input is
  rendered with ``each.key``/``each.value``, validated, then run; outputs become lists;
- ``secrets`` are only in scope while rendering step inputs;
- in a dry run, actions that do not declare ``supports_dry_run`` are skipped and their
  ``steps.<id>.output`` is an example built from their output schema;
- the task stops at the first failed step; later steps are marked skipped.

Limits: a time limit per step and per task (a step that overruns is asked to stop, then
interrupted), workspace size limits (checked while writing and after every step), and a
bounded ``debug:wait``. Secret values (the caller's list, the template's Secret/password
parameters, task secrets, git host tokens) are replaced by ``***`` in every log line and
every recorded input and output. All callbacks run in the calling thread.
"""

from __future__ import annotations

import ctypes
import json
import queue
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from pathlib import Path
from typing import Any, Protocol

from scaffolder.actions.publish import GitHostConfig
from scaffolder.actions.registry import (
    Action,
    ActionCancelled,
    ActionContext,
    ActionError,
    ActionRegistry,
    CatalogAdapter,
    TemplateReader,
    UserInfo,
    validate_input,
)
from scaffolder.expressions import ExpressionEngine, ExpressionError
from scaffolder.template import Template, TemplateStep
from scaffolder.workspace import Workspace, WorkspaceError, WorkspaceFile, WorkspaceLimits

REDACTED = "***"


class StepStatus(StrEnum):
    PENDING = "pending"
    RUNNING = "running"
    COMPLETED = "completed"
    FAILED = "failed"
    SKIPPED = "skipped"
    CANCELLED = "cancelled"


class TaskStatus(StrEnum):
    COMPLETED = "completed"
    FAILED = "failed"
    CANCELLED = "cancelled"


@dataclass(frozen=True)
class RunLimits:
    task_seconds: float = 900.0
    step_seconds: float = 300.0
    max_wait_seconds: float = 600.0
    max_expression_output: int = 1_000_000
    # How long a step asked to stop may take before it is interrupted, then abandoned.
    stop_grace_seconds: float = 2.0
    workspace: WorkspaceLimits = field(default_factory=WorkspaceLimits)


@dataclass(frozen=True)
class LogLine:
    step_id: str | None
    line: str
    at: datetime


@dataclass
class StepRecord:
    id: str
    name: str
    action: str
    status: StepStatus = StepStatus.PENDING
    started_at: datetime | None = None
    finished_at: datetime | None = None
    input: Any = None
    output: dict[str, Any] = field(default_factory=dict)
    error: str | None = None


@dataclass
class TaskResult:
    status: TaskStatus
    steps: list[StepRecord]
    output: dict[str, Any]
    log: list[LogLine]
    error: str | None = None
    dry_run: bool = False
    files: list[WorkspaceFile] | None = None

    def step(self, step_id: str) -> StepRecord:
        return next(s for s in self.steps if s.id == step_id)


class RunEvents(Protocol):
    def step_started(self, record: StepRecord) -> None: ...
    def log(self, line: LogLine) -> None: ...
    def step_finished(self, record: StepRecord) -> None: ...


class RecordingEvents:
    """Keeps every event in lists; handy for tests and for batching writes."""

    def __init__(self) -> None:
        self.started: list[str] = []
        self.lines: list[LogLine] = []
        self.finished: list[tuple[str, StepStatus]] = []

    def step_started(self, record: StepRecord) -> None:
        self.started.append(record.id)

    def log(self, line: LogLine) -> None:
        self.lines.append(line)

    def step_finished(self, record: StepRecord) -> None:
        self.finished.append((record.id, record.status))


class CancelToken:
    """Thread-safe cancellation flag; the runner checks it between and inside steps."""

    def __init__(self) -> None:
        self._event = threading.Event()

    def cancel(self) -> None:
        self._event.set()

    @property
    def cancelled(self) -> bool:
        return self._event.is_set()


@dataclass
class RunOptions:
    registry: ActionRegistry
    reader: TemplateReader | None = None
    catalog: CatalogAdapter | None = None
    git_hosts: Mapping[str, GitHostConfig] = field(default_factory=dict)
    user: UserInfo = field(default_factory=UserInfo)
    secrets: Mapping[str, str] = field(default_factory=dict)
    secret_values: Sequence[str] = ()
    limits: RunLimits = field(default_factory=RunLimits)
    dry_run: bool = False
    work_dir: Path | None = None  # parent folder for workspaces; the system temp folder by default


class Redactor:
    def __init__(self, values: Sequence[str]) -> None:
        self.values = sorted({v for v in values if isinstance(v, str) and v}, key=len, reverse=True)

    def text(self, text: str) -> str:
        for value in self.values:
            text = text.replace(value, REDACTED)
        return text

    def data(self, value: Any) -> Any:
        if isinstance(value, str):
            return self.text(value)
        if isinstance(value, Mapping):
            return {self.text(str(k)): self.data(v) for k, v in value.items()}
        if isinstance(value, list | tuple):
            return [self.data(v) for v in value]
        return value


class _StepInterrupted(BaseException):
    """Raised inside a step's thread that ignored a request to stop."""


class _Skip(Exception):  # noqa: N818 - a control-flow signal, not an error
    def __init__(self, reason: str, output: dict[str, Any] | None = None) -> None:
        super().__init__(reason)
        self.output = output or {}


def _now() -> datetime:
    return datetime.now(UTC)


def example_output(schema: Any) -> Any:
    """A placeholder value shaped like an output schema (used for skipped dry-run steps)."""
    if not isinstance(schema, Mapping):
        return "<unknown>"
    examples = schema.get("examples")
    if isinstance(examples, list) and examples:
        return examples[0]
    kind = schema.get("type")
    if kind == "object":
        return {k: example_output(v) for k, v in (schema.get("properties") or {}).items()}
    if kind == "array":
        return [example_output(schema["items"])] if isinstance(schema.get("items"), Mapping) else []
    return {"string": "<example>", "number": 0, "integer": 0, "boolean": False}.get(kind, "<unknown>")


class _TaskRun:
    def __init__(
        self,
        template: Template,
        parameters: Mapping[str, Any],
        options: RunOptions,
        events: RunEvents | None,
        cancel: CancelToken | None,
    ) -> None:
        self.template = template
        self.options = options
        self.limits = options.limits
        self.events = events
        self.cancel = cancel or CancelToken()
        self.engine = ExpressionEngine(max_output=options.limits.max_expression_output)
        secret_values = [
            *options.secret_values,
            *template.secret_values(parameters),
            *options.secrets.values(),
            *(h.token for h in options.git_hosts.values() if h.token),
        ]
        self.redactor = Redactor(secret_values)
        self.context: dict[str, Any] = {
            "parameters": dict(parameters),
            "steps": {},
            "user": options.user.as_context(),
        }
        self.log_lines: list[LogLine] = []
        self.records = [StepRecord(id=s.id, name=s.name, action=s.action) for s in template.steps]
        self.pending_lines: queue.SimpleQueue[tuple[str | None, str]] = queue.SimpleQueue()

    # logging ------------------------------------------------------------------------------------
    def emit(self, step_id: str | None, line: str) -> None:
        entry = LogLine(step_id=step_id, line=self.redactor.text(str(line)), at=_now())
        self.log_lines.append(entry)
        if self.events:
            self.events.log(entry)

    def drain(self) -> None:
        while True:
            try:
                step_id, line = self.pending_lines.get_nowait()
            except queue.Empty:
                return
            self.emit(step_id, line)

    def finish(self, record: StepRecord, status: StepStatus, error: str | None = None) -> None:
        record.status = status
        record.finished_at = _now()
        record.error = self.redactor.text(error) if error else None
        if self.events:
            self.events.step_finished(record)

    # the run ------------------------------------------------------------------------------------
    def run(self) -> TaskResult:
        workspace = Workspace.create(self.limits.workspace, parent=self.options.work_dir)
        task_deadline = time.monotonic() + self.limits.task_seconds
        status, error = TaskStatus.COMPLETED, None
        files: list[WorkspaceFile] | None = None
        output: dict[str, Any] = {}
        try:
            self.emit(None, f"Starting task with {len(self.template.steps)} steps")
            for step, record in zip(self.template.steps, self.records, strict=True):
                if self.cancel.cancelled:
                    status, error = TaskStatus.CANCELLED, "the task was cancelled"
                    break
                if time.monotonic() >= task_deadline:
                    status = TaskStatus.FAILED
                    error = f"the task exceeded its time limit of {self.limits.task_seconds:g} seconds"
                    break
                step_status, step_error = self.run_step(step, record, workspace, task_deadline)
                if step_status == StepStatus.CANCELLED:
                    status, error = TaskStatus.CANCELLED, "the task was cancelled"
                    break
                if step_status == StepStatus.FAILED:
                    status, error = TaskStatus.FAILED, f"step {step.id!r} failed: {step_error}"
                    break
            for record in self.records:
                if record.status == StepStatus.PENDING:
                    leftover = StepStatus.CANCELLED if status == TaskStatus.CANCELLED else StepStatus.SKIPPED
                    self.finish(record, leftover)
            if status == TaskStatus.COMPLETED:
                try:
                    rendered = _call_with_deadline(
                        lambda: self.engine.render_value(self.template.output, self.context),
                        max(task_deadline - time.monotonic(), 1.0),
                        self.limits.stop_grace_seconds,
                    )
                    output = self.redactor.data(rendered or {})
                except (ExpressionError, TimeoutError) as exc:
                    status, error = TaskStatus.FAILED, f"could not render the template output: {exc}"
            if self.options.dry_run:
                files = workspace.snapshot()
        finally:
            workspace.remove()
        if error:
            self.emit(None, f"Task {status.value}: {error}")
        else:
            self.emit(None, "Task completed")
        return TaskResult(
            status=status,
            steps=self.records,
            output=output,
            log=self.log_lines,
            error=self.redactor.text(error) if error else None,
            dry_run=self.options.dry_run,
            files=files,
        )

    def run_step(
        self, step: TemplateStep, record: StepRecord, workspace: Workspace, task_deadline: float
    ) -> tuple[StepStatus, str | None]:
        record.status = StepStatus.RUNNING
        record.started_at = _now()
        if self.events:
            self.events.step_started(record)
        self.emit(step.id, f"Beginning step {step.name}")

        stop = threading.Event()
        outcome: dict[str, Any] = {}

        def work() -> None:
            try:
                outcome["result"] = self.execute(step, record, workspace, stop)
            except _StepInterrupted:
                outcome["error"] = ActionCancelled("the step was interrupted")
            except BaseException as exc:  # noqa: BLE001 - reported as the step's error
                outcome["error"] = exc

        worker = threading.Thread(target=work, name=f"scaffolder-step-{step.id}", daemon=True)
        step_deadline = min(time.monotonic() + self.limits.step_seconds, task_deadline)
        worker.start()
        reason: str | None = None
        stop_asked_at = 0.0
        interrupted = False
        while worker.is_alive():
            worker.join(0.05)
            self.drain()
            now = time.monotonic()
            if reason is None and self.cancel.cancelled:
                reason = "cancelled"
            elif reason is None and now >= step_deadline:
                reason = "task-timeout" if step_deadline >= task_deadline else "step-timeout"
            if reason is not None and not stop.is_set():
                stop.set()
                stop_asked_at = now
            if reason is not None and not interrupted and now - stop_asked_at > self.limits.stop_grace_seconds:
                _interrupt(worker)
                interrupted = True
            if interrupted and now - stop_asked_at > 3 * self.limits.stop_grace_seconds:
                self.emit(step.id, "The step did not stop; abandoning it")
                break
        self.drain()

        if reason == "cancelled":
            self.emit(step.id, f"Step {step.id} has been cancelled")
            self.finish(record, StepStatus.CANCELLED, "cancelled")
            return StepStatus.CANCELLED, "cancelled"
        if reason in ("step-timeout", "task-timeout"):
            message = (
                f"the step exceeded its time limit of {self.limits.step_seconds:g} seconds"
                if reason == "step-timeout"
                else f"the task exceeded its time limit of {self.limits.task_seconds:g} seconds"
            )
            self.emit(step.id, f"Step {step.id} failed: {message}")
            self.finish(record, StepStatus.FAILED, message)
            return StepStatus.FAILED, message
        if "error" in outcome:
            exc = outcome["error"]
            if isinstance(exc, _Skip):
                record.output = self.redactor.data(exc.output)
                self.emit(step.id, str(exc))
                self.finish(record, StepStatus.SKIPPED)
                return StepStatus.SKIPPED, None
            message = _describe(exc)
            self.emit(step.id, f"Step {step.id} failed: {message}")
            self.finish(record, StepStatus.FAILED, message)
            return StepStatus.FAILED, self.redactor.text(message)
        try:
            workspace.ensure_within_limits()
        except WorkspaceError as exc:
            self.emit(step.id, f"Step {step.id} failed: {exc}")
            self.finish(record, StepStatus.FAILED, str(exc))
            return StepStatus.FAILED, str(exc)
        self.emit(step.id, f"Finished step {step.name}")
        self.finish(record, StepStatus.COMPLETED)
        return StepStatus.COMPLETED, None

    # inside the step's thread -------------------------------------------------------------------
    def execute(self, step: TemplateStep, record: StepRecord, workspace: Workspace, stop: threading.Event) -> None:
        log = self._step_logger(step.id)
        if step.if_ is False or (
            isinstance(step.if_, str)
            and step.each is None
            and not self.engine.evaluate_condition(step.if_, self.context)
        ):
            self.context["steps"][step.id] = {"output": {}}
            raise _Skip(f"Skipping step {step.id} because its if condition was false")
        action = self.options.registry.get(step.action)
        input_context = {**self.context, "secrets": dict(self.options.secrets)}

        if self.options.dry_run:
            preview = None
            if step.each is None:
                preview = self.engine.render_value(step.input, {**self.context, "secrets": {}})
            if preview is not None:
                log(f"Running {action.id} in dry-run mode with inputs (secrets redacted): "
                    f"{json.dumps(self.redactor.data(preview), indent=2, default=str)}")
            if not action.supports_dry_run:
                example = example_output(action.output_schema) if action.output_schema else {}
                self.context["steps"][step.id] = {"output": example}
                raise _Skip(f"Skipping because {action.id} does not support dry-run", example)

        iterations: list[dict[str, Any]] = []
        if step.each is not None:
            each = self.engine.render_value(step.each, input_context)
            if isinstance(each, list):
                pairs = [(str(i), v) for i, v in enumerate(each)]
            elif isinstance(each, dict):
                pairs = list(each.items())
            else:
                raise ActionError(f"each of step {step.id!r} must resolve to a list or an object, got {each!r}")
            for key, value in pairs:
                scope = {**input_context, "each": {"key": key, "value": value}}
                should_run = not step.if_ or self.engine.evaluate_condition(step.if_, scope)
                iterations.append({"each": scope["each"], "run": should_run,
                                   "input": self.engine.render_value(step.input, scope) or {}})
        else:
            iterations.append({"each": None, "run": True,
                               "input": self.engine.render_value(step.input, input_context) or {}})

        record.input = self.redactor.data(
            [i["input"] for i in iterations] if step.each is not None else iterations[0]["input"]
        )
        for item in iterations:
            if item["run"]:
                validate_input(action, item["input"])

        outputs: dict[str, Any] = {}
        for item in iterations:
            if stop.is_set():
                raise ActionCancelled("the step was stopped")
            if item["each"] is not None:
                verb = "Running" if item["run"] else "Skipping"
                log(f"{verb} step each: {json.dumps(item['each'], default=str)}")
            if not item["run"]:
                continue
            produced = self._run_action(action, step, item["input"], workspace, stop, log)
            for name, value in produced.items():
                if step.each is not None:
                    outputs.setdefault(name, []).append(value)
                else:
                    outputs[name] = value
        self.context["steps"][step.id] = {"output": outputs}
        record.output = self.redactor.data(outputs)

    def _run_action(
        self,
        action: Action,
        step: TemplateStep,
        data: dict[str, Any],
        workspace: Workspace,
        stop: threading.Event,
        log: Callable[[str], None],
    ) -> dict[str, Any]:
        ctx = ActionContext(
            workspace=workspace,
            step_id=step.id,
            reader=self.options.reader,
            catalog=self.options.catalog,
            git_hosts=self.options.git_hosts,
            user=self.options.user,
            secrets=self.options.secrets,
            dry_run=self.options.dry_run,
            engine=self.engine,
            max_wait_seconds=self.limits.max_wait_seconds,
            log_sink=log,
            cancel_event=stop,
        )
        returned = action.handler(ctx, data)
        produced = dict(ctx.outputs)
        if isinstance(returned, Mapping):
            produced.update(returned)
        return produced

    def _step_logger(self, step_id: str) -> Callable[[str], None]:
        def log(line: str) -> None:
            for part in str(line).splitlines() or [""]:
                self.pending_lines.put((step_id, part))

        return log


def _interrupt(thread: threading.Thread) -> None:
    """Raise _StepInterrupted inside ``thread`` (takes effect at its next Python instruction)."""
    if thread.ident is not None:
        ctypes.pythonapi.PyThreadState_SetAsyncExc(ctypes.c_ulong(thread.ident), ctypes.py_object(_StepInterrupted))


def _call_with_deadline(function: Callable[[], Any], seconds: float, grace: float) -> Any:
    """Run ``function`` in a thread; interrupt it and raise TimeoutError when it overruns."""
    outcome: dict[str, Any] = {}

    def work() -> None:
        try:
            outcome["value"] = function()
        except _StepInterrupted:
            outcome["error"] = TimeoutError(f"it took longer than {seconds:.0f} seconds")
        except BaseException as exc:  # noqa: BLE001 - re-raised in the caller's thread
            outcome["error"] = exc

    worker = threading.Thread(target=work, name="scaffolder-render", daemon=True)
    worker.start()
    worker.join(seconds)
    if worker.is_alive():
        _interrupt(worker)
        worker.join(grace)
        raise TimeoutError(f"it took longer than {seconds:.0f} seconds")
    if "error" in outcome:
        raise outcome["error"]
    return outcome.get("value")


def _describe(exc: BaseException) -> str:
    if isinstance(exc, ActionError | ExpressionError | WorkspaceError):
        return str(exc)
    return f"unexpected error: {type(exc).__name__}: {exc}"


def run_template(
    template: Template,
    parameters: Mapping[str, Any],
    options: RunOptions,
    events: RunEvents | None = None,
    cancel: CancelToken | None = None,
) -> TaskResult:
    """Run every step of ``template`` with ``parameters``; never raises for step failures."""
    return _TaskRun(template, parameters, options, events, cancel).run()
