"""``debug:log`` (message, workspace listing) and ``debug:wait`` (a bounded, cancellable pause)."""

from __future__ import annotations

import json
from typing import Any

from scaffolder.actions.registry import Action, ActionCancelled, ActionContext, ActionError

_MAX_LOGGED_FILE_CHARS = 20_000


def _log(ctx: ActionContext, data: dict[str, Any]) -> dict[str, Any]:
    if data.get("message") is not None:
        ctx.log(str(data["message"]))
    if data.get("extra") is not None:
        ctx.log(json.dumps(data["extra"], ensure_ascii=False, default=str))
    listing = data.get("listWorkspace")
    if listing:
        with_contents = listing == "with-contents"
        files = ctx.workspace.snapshot()
        ctx.log(f"Workspace holds {len(files)} files:")
        for item in files:
            ctx.log(f"  {item.path}")
            if with_contents:
                text = item.text if item.text is not None else "<binary file>"
                if len(text) > _MAX_LOGGED_FILE_CHARS:
                    text = text[:_MAX_LOGGED_FILE_CHARS] + "\n<... truncated>"
                for line in text.splitlines():
                    ctx.log(f"    {line}")
    return {}


def _wait(ctx: ActionContext, data: dict[str, Any]) -> dict[str, Any]:
    seconds = (
        float(data.get("minutes", 0)) * 60
        + float(data.get("seconds", 0))
        + float(data.get("milliseconds", 0)) / 1000
    )
    if seconds > ctx.max_wait_seconds:
        raise ActionError(f"debug:wait is limited to {ctx.max_wait_seconds:g} seconds, {seconds:g} were asked")
    ctx.log(f"Waiting {seconds:g} seconds")
    if not ctx.wait(seconds):
        raise ActionCancelled("debug:wait was interrupted: the step was cancelled or ran out of time")
    return {}


LOG = Action(
    id="debug:log",
    description="Writes a message, and optionally the workspace's files, to the task log.",
    input_schema={
        "type": "object",
        "properties": {
            "message": {"type": ["string", "number", "boolean", "null"]},
            "listWorkspace": {"oneOf": [{"type": "boolean"}, {"enum": ["with-filenames", "with-contents"]}]},
            "extra": {},
        },
    },
    handler=_log,
    supports_dry_run=True,
)

WAIT = Action(
    id="debug:wait",
    description="Waits for the given time (bounded by the task's settings); cancelling ends it.",
    input_schema={
        "type": "object",
        "properties": {
            "minutes": {"type": "number", "minimum": 0},
            "seconds": {"type": "number", "minimum": 0},
            "milliseconds": {"type": "number", "minimum": 0},
        },
    },
    handler=_wait,
    supports_dry_run=True,
)

ACTIONS = [LOG, WAIT]
