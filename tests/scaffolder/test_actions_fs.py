"""The workspace and the fs:* actions."""

import os

import pytest

from scaffolder.actions import ActionContext, ActionError, ActionInputError, default_registry, validate_input
from scaffolder.actions.fs import match_glob
from scaffolder.workspace import Workspace, WorkspaceLimitError, WorkspaceLimits, WorkspacePathError

REGISTRY = default_registry()


def run(ctx, action_id, data):
    action = REGISTRY.get(action_id)
    validate_input(action, data)
    return action.handler(ctx, data)


@pytest.fixture
def workspace(tmp_path):
    (tmp_path / "ws").mkdir()
    return Workspace.create(parent=tmp_path / "ws")


@pytest.fixture
def ctx(workspace):
    return ActionContext(workspace=workspace, log_sink=lambda line: None)


@pytest.mark.parametrize("path", ["../x", "/etc/passwd", "a/../../x", "a/b/../../../x", "..", "x\x00y"])
def test_the_workspace_refuses_paths_that_escape(workspace, path):
    with pytest.raises(WorkspacePathError):
        workspace.resolve(path)


def test_the_workspace_allows_paths_inside(workspace):
    assert workspace.resolve("a/b/../c.txt") == workspace.root / "a" / "c.txt"
    assert workspace.resolve(".") == workspace.root


def test_the_workspace_refuses_a_symlink_leading_out(workspace, tmp_path):
    os.symlink(tmp_path, workspace.root / "link")
    with pytest.raises(WorkspacePathError, match="symbolic link"):
        workspace.resolve("link/file.txt")
    with pytest.raises(WorkspacePathError):
        workspace.write_text("link/file.txt", "x")


def test_the_workspace_counts_bytes_and_files(tmp_path):
    ws = Workspace.create(limits=WorkspaceLimits(max_bytes=10, max_files=2, max_file_bytes=8), parent=tmp_path)
    ws.write_text("a.txt", "12345")
    with pytest.raises(WorkspaceLimitError, match="over the limit of 8 bytes"):
        ws.write_text("big.txt", "123456789")
    with pytest.raises(WorkspaceLimitError, match="over the limit of 10 bytes"):
        ws.write_text("b.txt", "1234567")
    ws.write_text("a.txt", "1234567")  # overwriting counts the new size only
    ws.write_text("c.txt", "123")
    with pytest.raises(WorkspaceLimitError, match="over the limit of 2"):
        ws.write_text("d.txt", "")
    assert ws.usage().files == 2


def test_ensure_within_limits_catches_files_written_around_the_workspace(tmp_path):
    ws = Workspace.create(limits=WorkspaceLimits(max_bytes=100, max_files=5, max_file_bytes=50), parent=tmp_path)
    (ws.root / "sneaky.bin").write_bytes(b"x" * 60)
    with pytest.raises(WorkspaceLimitError, match="sneaky.bin"):
        ws.ensure_within_limits()


def test_snapshot_returns_files_with_contents(workspace):
    workspace.write_text("b/readme.md", "hello")
    workspace.write_bytes("a.bin", b"\xff\x00", mode=0o755)
    snapshot = {f.path: f for f in workspace.snapshot()}
    assert snapshot["b/readme.md"].text == "hello"
    assert snapshot["a.bin"].text is None
    assert snapshot["a.bin"].executable is True
    assert list(snapshot) == ["a.bin", "b/readme.md"]


def test_remove_deletes_the_folder(workspace):
    workspace.write_text("x", "y")
    workspace.remove()
    assert not workspace.root.exists()


@pytest.mark.parametrize(
    "path, pattern, expected",
    [
        (".github/workflows/ci.yml", ".github/workflows/*", True),
        (".github/workflows/sub/ci.yml", ".github/workflows/*", False),
        (".github/workflows/sub/ci.yml", ".github/**", True),
        ("a/b/c.md", "**/*.md", True),
        ("c.md", "**/*.md", True),
        ("c.txt", "*.{md,txt}", True),
        ("c.py", "*.{md,txt}", False),
        ("docs/", "docs", True),
        ("./x.txt", "x.txt", False),
    ],
)
def test_globs_match_like_globby(path, pattern, expected):
    assert match_glob(path, pattern) is expected


def test_fs_delete_removes_files_and_globs(ctx, workspace):
    for name in ["keep.txt", "a.log", "logs/b.log", "dir/x.txt"]:
        workspace.write_text(name, "x")
    result = run(ctx, "fs:delete", {"files": ["**/*.log", "dir"]})
    assert sorted(result["deleted"]) == ["a.log", "dir", "logs/b.log"]
    assert sorted(p.name for p in workspace.root.iterdir()) == ["keep.txt", "logs"]


def test_fs_delete_refuses_paths_outside(ctx, tmp_path):
    victim = tmp_path / "victim.txt"
    victim.write_text("x")
    with pytest.raises(WorkspacePathError):
        run(ctx, "fs:delete", {"files": ["../../victim.txt"]})
    with pytest.raises(WorkspacePathError):
        run(ctx, "fs:delete", {"files": ["../../*.txt"]})
    assert victim.exists()


def test_fs_delete_removes_a_link_not_its_target(ctx, workspace, tmp_path):
    target = tmp_path / "target.txt"
    target.write_text("x")
    os.symlink(target, workspace.root / "link")
    run(ctx, "fs:delete", {"files": ["link"]})
    assert target.exists()
    assert not os.path.lexists(workspace.root / "link")


def test_fs_delete_refuses_the_workspace_itself(ctx):
    with pytest.raises(ActionError, match="whole workspace"):
        run(ctx, "fs:delete", {"files": ["."]})


def test_fs_rename_moves_files(ctx, workspace):
    workspace.write_text("a.txt", "a")
    run(ctx, "fs:rename", {"files": [{"from": "a.txt", "to": "sub/b.txt"}]})
    assert (workspace.root / "sub" / "b.txt").read_text() == "a"


def test_fs_rename_needs_overwrite_to_replace(ctx, workspace):
    workspace.write_text("a.txt", "a")
    workspace.write_text("b.txt", "b")
    with pytest.raises(ActionError, match="already exists"):
        run(ctx, "fs:rename", {"files": [{"from": "a.txt", "to": "b.txt"}]})
    run(ctx, "fs:rename", {"files": [{"from": "a.txt", "to": "b.txt", "overwrite": True}]})
    assert (workspace.root / "b.txt").read_text() == "a"


def test_fs_rename_refuses_escaping_and_missing_paths(ctx, workspace):
    workspace.write_text("a.txt", "a")
    with pytest.raises(WorkspacePathError):
        run(ctx, "fs:rename", {"files": [{"from": "a.txt", "to": "../../a.txt"}]})
    with pytest.raises(ActionError, match="does not exist"):
        run(ctx, "fs:rename", {"files": [{"from": "missing", "to": "x"}]})
    with pytest.raises(ActionInputError, match=r"input\.files\[0\]: 'to' is required"):
        run(ctx, "fs:rename", {"files": [{"from": "a.txt"}]})
