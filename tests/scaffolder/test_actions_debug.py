"""debug:log and debug:wait."""

import threading
import time

import pytest

from scaffolder.actions import (
    ActionCancelled,
    ActionContext,
    ActionError,
    ActionInputError,
    default_registry,
    validate_input,
)
from scaffolder.workspace import Workspace

REGISTRY = default_registry()


def run(ctx, action_id, data):
    action = REGISTRY.get(action_id)
    validate_input(action, data)
    return action.handler(ctx, data)


@pytest.fixture
def ctx(tmp_path):
    lines = []
    context = ActionContext(workspace=Workspace.create(parent=tmp_path), log_sink=lines.append, max_wait_seconds=5)
    context.lines = lines
    return context


def test_debug_log_writes_the_message(ctx):
    run(ctx, "debug:log", {"message": "hello"})
    assert ctx.lines == ["hello"]


def test_debug_log_lists_the_workspace_with_contents(ctx):
    ctx.workspace.write_text("a/b.txt", "line one\nline two")
    ctx.workspace.write_bytes("bin.dat", b"\xff\xfe")
    run(ctx, "debug:log", {"listWorkspace": "with-contents"})
    assert "  a/b.txt" in ctx.lines
    assert "    line two" in ctx.lines
    assert "    <binary file>" in ctx.lines


def test_debug_log_rejects_an_unknown_listing_mode(ctx):
    with pytest.raises(ActionInputError, match="listWorkspace"):
        run(ctx, "debug:log", {"listWorkspace": "everything"})


def test_debug_wait_waits(ctx):
    started = time.monotonic()
    run(ctx, "debug:wait", {"milliseconds": 100})
    assert time.monotonic() - started >= 0.09


def test_debug_wait_is_bounded(ctx):
    with pytest.raises(ActionError, match="limited to 5 seconds"):
        run(ctx, "debug:wait", {"minutes": 1})


def test_debug_wait_rejects_negative_times(ctx):
    with pytest.raises(ActionInputError, match="minimum"):
        run(ctx, "debug:wait", {"seconds": -1})


def test_debug_wait_stops_when_cancelled(ctx):
    threading.Timer(0.1, ctx.cancel_event.set).start()
    started = time.monotonic()
    with pytest.raises(ActionCancelled, match="cancelled"):
        run(ctx, "debug:wait", {"seconds": 4})
    assert time.monotonic() - started < 2
