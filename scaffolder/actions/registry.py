"""Actions: small objects with an id, a JSON Schema for their input, and a handler.

Public API::

    registry = ActionRegistry()
    registry.register(Action(id="debug:log", description=..., input_schema={...}, handler=fn))
    registry.get("debug:log")            # UnsupportedActionError("unsupported action 'x'") when unknown
    validate_input(action, data)         # ActionInputError naming the field

    def handler(ctx: ActionContext, data: dict) -> dict | None: ...

An ActionContext is what a handler may touch: the workspace, a logger (``ctx.log``), the
template reader (for ``./skeleton`` style URLs), the catalog adapter, the git hosts
configuration, the user, secrets, the dry-run flag, cancellation (``ctx.is_cancelled()``,
``ctx.wait(seconds)``), outputs (``ctx.output(name, value)`` or the returned dict) and
``ctx.run_command(...)`` for subprocesses that must stop when the step is cancelled.
"""

from __future__ import annotations

import os
import subprocess
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

import jsonschema
from jsonschema.exceptions import best_match

from scaffolder.expressions import ExpressionEngine
from scaffolder.workspace import Workspace

if TYPE_CHECKING:
    from scaffolder.actions.publish import GitHostConfig


class ActionError(Exception):
    """An action failed for a reason the user can act on; the message goes to the task log."""


class ActionInputError(ActionError):
    """The rendered input does not match the action's input schema."""


class UnsupportedActionError(ActionError):
    def __init__(self, action_id: str) -> None:
        super().__init__(f"unsupported action {action_id!r}")
        self.action_id = action_id


class ActionCancelled(ActionError):
    """The step was cancelled or ran out of time while the action was running."""


class ReaderError(ActionError):
    """A template URL could not be read."""


class TemplateReader(Protocol):
    """Reads the files a template refers to (``./skeleton``), wherever the template lives."""

    def directory(self, url: str) -> Path:
        """A local folder holding the tree at ``url`` (read only; do not modify it)."""
        ...

    def read_file(self, url: str) -> bytes: ...


class CatalogAdapter(Protocol):
    """What catalog actions need from the catalog; the Django layer implements it."""

    def register_location(self, url: str) -> dict[str, Any]:
        """Register ``url`` as a location; returns {"entities": [entity envelopes ...]}."""
        ...

    def fetch_entity(self, ref: str) -> dict[str, Any] | None:
        """The entity for a full ref ``kind:namespace/name`` or None."""
        ...


@dataclass(frozen=True)
class UserInfo:
    ref: str | None = None
    entity: dict[str, Any] | None = None

    def as_context(self) -> dict[str, Any]:
        return {"ref": self.ref, "entity": self.entity}

    @property
    def display_name(self) -> str | None:
        profile = _profile(self.entity)
        name = profile.get("displayName") or ((self.entity or {}).get("metadata") or {}).get("name")
        if name:
            return str(name)
        if self.ref:
            return self.ref.split("/")[-1]
        return None

    @property
    def email(self) -> str | None:
        email = _profile(self.entity).get("email")
        return str(email) if email else None


def _profile(entity: dict[str, Any] | None) -> dict[str, Any]:
    spec = (entity or {}).get("spec") or {}
    profile = spec.get("profile") if isinstance(spec, dict) else None
    return profile if isinstance(profile, dict) else {}


Handler = Callable[["ActionContext", dict[str, Any]], "dict[str, Any] | None"]


@dataclass(frozen=True)
class Action:
    id: str
    description: str
    input_schema: dict[str, Any]
    handler: Handler
    output_schema: dict[str, Any] | None = None
    supports_dry_run: bool = False


@dataclass
class ActionContext:
    workspace: Workspace
    step_id: str = "step"
    reader: TemplateReader | None = None
    catalog: CatalogAdapter | None = None
    git_hosts: Mapping[str, GitHostConfig] = field(default_factory=dict)
    user: UserInfo = field(default_factory=UserInfo)
    secrets: Mapping[str, str] = field(default_factory=dict)
    dry_run: bool = False
    engine: ExpressionEngine = field(default_factory=ExpressionEngine)
    max_wait_seconds: float = 600.0
    log_sink: Callable[[str], None] = print
    cancel_event: threading.Event = field(default_factory=threading.Event)
    outputs: dict[str, Any] = field(default_factory=dict)

    def log(self, line: str) -> None:
        self.log_sink(str(line))

    def output(self, name: str, value: Any) -> None:
        self.outputs[name] = value

    def is_cancelled(self) -> bool:
        return self.cancel_event.is_set()

    def check_cancelled(self) -> None:
        if self.cancel_event.is_set():
            raise ActionCancelled("the step was cancelled")

    def wait(self, seconds: float) -> bool:
        """Sleep up to ``seconds``; False if the step was cancelled meanwhile."""
        return not self.cancel_event.wait(max(0.0, seconds))

    def require_reader(self) -> TemplateReader:
        if self.reader is None:
            raise ActionError("this task has no template location to read files from")
        return self.reader

    def run_command(
        self,
        args: Sequence[str],
        *,
        cwd: Path | None = None,
        env: Mapping[str, str] | None = None,
        timeout: float = 300.0,
    ) -> subprocess.CompletedProcess[str]:
        """Run a program, killing it when the step is cancelled or ``timeout`` passes."""
        self.check_cancelled()
        process = subprocess.Popen(
            list(args),
            cwd=str(cwd) if cwd else None,
            env=dict(env) if env is not None else None,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        deadline = time.monotonic() + timeout
        while True:
            try:
                out, err = process.communicate(timeout=0.1)
                return subprocess.CompletedProcess(process.args, process.returncode, out, err)
            except subprocess.TimeoutExpired:
                if self.cancel_event.is_set() or time.monotonic() > deadline:
                    process.kill()
                    process.communicate()
                    if self.cancel_event.is_set():
                        raise ActionCancelled(f"{os.path.basename(args[0])} was stopped: the step was cancelled")
                    raise ActionError(f"{os.path.basename(args[0])} took longer than {timeout:.0f} s") from None


class ActionRegistry:
    """The actions a runner may use, by id. No global instance: build one per runner."""

    def __init__(self, actions: Sequence[Action] = ()) -> None:
        self._actions: dict[str, Action] = {}
        for action in actions:
            self.register(action)

    def register(self, action: Action) -> None:
        if not action.id or not isinstance(action.id, str):
            raise ValueError("an action needs a text id")
        if action.id in self._actions:
            raise ValueError(f"action {action.id!r} is already registered")
        jsonschema.Draft7Validator.check_schema(action.input_schema)
        self._actions[action.id] = action

    def get(self, action_id: str) -> Action:
        try:
            return self._actions[action_id]
        except KeyError:
            raise UnsupportedActionError(action_id) from None

    def __contains__(self, action_id: object) -> bool:
        return action_id in self._actions

    def ids(self) -> list[str]:
        return sorted(self._actions)

    def list(self) -> list[Action]:
        return [self._actions[i] for i in self.ids()]


def validate_input(action: Action, data: Any) -> None:
    """Raise ActionInputError naming the first offending field of ``data``."""
    validator = jsonschema.Draft7Validator(action.input_schema)
    error = best_match(validator.iter_errors(data))
    if error is None:
        return
    location = "input" + "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in error.absolute_path)
    if error.validator == "required":
        message = error.message.replace(" is a required property", " is required")
    elif error.validator == "additionalProperties":
        message = error.message
    else:
        message = error.message if len(error.message) < 300 else error.message[:300] + "..."
    raise ActionInputError(f"invalid input for action {action.id!r}: {location}: {message}")
