"""publish:git (to local bare repositories) and publish:github / publish:gitlab (through a
local stand-in of their REST APIs on 127.0.0.1, pushing to local bare repositories)."""

import json
import os
import subprocess
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from scaffolder.actions import (
    ActionContext,
    ActionError,
    UserInfo,
    default_registry,
    git_hosts_from_settings,
    validate_input,
)
from scaffolder.actions.publish import PublishError
from scaffolder.workspace import Workspace

REGISTRY = default_registry()
ALICE = UserInfo(
    ref="user:default/alice",
    entity={"kind": "User", "metadata": {"name": "alice"},
            "spec": {"profile": {"displayName": "Alice Doe", "email": "alice@example.test"}}},
)


def git_out(*args, cwd=None):
    env = {"PATH": os.environ["PATH"], "GIT_CONFIG_GLOBAL": os.devnull, "GIT_CONFIG_NOSYSTEM": "1"}
    return subprocess.run(["git", *args], cwd=cwd, env=env, check=True, capture_output=True, text=True).stdout


def pushed_files(bare: Path, branch: str) -> list[str]:
    return git_out("--git-dir", str(bare), "ls-tree", "-r", "--name-only", branch).split()


def pushed_file(bare: Path, branch: str, path: str) -> str:
    return git_out("--git-dir", str(bare), "show", f"{branch}:{path}")


def commit_people(bare: Path, branch: str) -> str:
    return git_out("--git-dir", str(bare), "log", "-1", "--format=%an <%ae> / %cn <%ce>", branch).strip()


class ForgeStandIn:
    """A tiny GitHub/GitLab REST stand-in: creates bare repositories under ``root``."""

    def __init__(self, root: Path, organizations=("acme",), user="alice") -> None:
        self.root = root
        self.organizations = set(organizations)
        self.user = user
        self.requests: list[dict] = []
        stand_in = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def _answer(self, status, payload):
                body = json.dumps(payload).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def _record(self, body=None):
                headers = {k.lower(): v for k, v in self.headers.items()}
                stand_in.requests.append({"method": self.command, "path": self.path, "headers": headers, "body": body})

            def do_GET(self):
                self._record()
                parts = self.path.strip("/").split("/")
                if parts[0] == "users" and len(parts) == 2:
                    kind = "Organization" if parts[1] in stand_in.organizations else "User"
                    return self._answer(200, {"login": parts[1], "type": kind})
                if parts[0] == "namespaces" and len(parts) == 2:
                    if parts[1] in stand_in.organizations or parts[1] == stand_in.user:
                        return self._answer(200, {"id": 42, "full_path": parts[1]})
                    return self._answer(404, {"message": "404 Namespace Not Found"})
                return self._answer(404, {"message": "Not Found"})

            def do_POST(self):
                length = int(self.headers.get("Content-Length") or 0)
                body = json.loads(self.rfile.read(length) or b"{}")
                self._record(body)
                parts = self.path.strip("/").split("/")
                if parts == ["user", "repos"]:
                    owner = stand_in.user
                elif parts[0] == "orgs" and parts[2:] == ["repos"]:
                    owner = parts[1]
                elif parts == ["projects"]:
                    owner = "acme"
                else:
                    return self._answer(404, {"message": "Not Found"})
                bare = stand_in.root / owner / f"{body['name']}.git"
                if bare.exists():
                    return self._answer(422, {"message": "Repository creation failed.",
                                              "errors": [{"message": "name already exists on this account"}]})
                bare.parent.mkdir(parents=True, exist_ok=True)
                git_out("init", "-q", "--bare", str(bare))
                web = f"https://forge.example.test/{owner}/{body['name']}"
                return self._answer(201, {"clone_url": bare.as_uri(), "html_url": web,
                                          "http_url_to_repo": bare.as_uri(), "web_url": web})

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.server.shutdown()
        self.server.server_close()


def run(ctx, action_id, data):
    action = REGISTRY.get(action_id)
    validate_input(action, data)
    return action.handler(ctx, data)


@pytest.fixture
def bare_root(tmp_path):
    root = tmp_path / "remotes"
    root.mkdir()
    return root


@pytest.fixture
def ctx(tmp_path, bare_root):
    (tmp_path / "ws").mkdir()
    workspace = Workspace.create(parent=tmp_path / "ws")
    workspace.write_text("README.md", "# hello\n")
    workspace.write_text("src/app.py", "print('hi')\n")
    hosts = git_hosts_from_settings(
        {"localhost": {"remote_base": bare_root.as_uri(), "create_repos": True,
                       "committer_name": "Causeway Bot", "committer_email": "bot@causeway.test"}}
    )
    lines = []
    context = ActionContext(workspace=workspace, git_hosts=hosts, user=ALICE, log_sink=lines.append)
    context.lines = lines
    return context


def test_publish_git_pushes_the_workspace_with_the_user_as_author(ctx, bare_root):
    out = run(ctx, "publish:git", {"repoUrl": "localhost?owner=acme&repo=payments"})
    bare = bare_root / "acme" / "payments.git"
    assert out["remoteUrl"] == bare.as_uri()
    assert out["repoContentsUrl"] == f"{bare.as_uri()}/blob/main"
    assert sorted(pushed_files(bare, "main")) == ["README.md", "src/app.py"]
    assert pushed_file(bare, "main", "README.md") == "# hello\n"
    assert commit_people(bare, "main") == "Alice Doe <alice@example.test> / Causeway Bot <bot@causeway.test>"
    assert git_out("--git-dir", str(bare), "rev-parse", "main").strip() == out["commitHash"]


def test_publish_git_honours_branch_message_source_path_and_author_inputs(ctx, bare_root):
    out = run(ctx, "publish:git", {
        "repoUrl": "localhost?owner=acme&repo=lib", "defaultBranch": "trunk", "sourcePath": "src",
        "gitCommitMessage": "first!", "gitAuthorName": "Robot", "gitAuthorEmail": "robot@example.test",
    })
    bare = bare_root / "acme" / "lib.git"
    assert pushed_files(bare, "trunk") == ["app.py"]
    assert git_out("--git-dir", str(bare), "log", "-1", "--format=%s|%an", "trunk").strip() == "first!|Robot"
    assert out["repoContentsUrl"].endswith("/blob/trunk")


def test_publish_git_ignores_git_metadata_planted_in_the_workspace(ctx, bare_root, tmp_path):
    marker = tmp_path / "hook-ran"
    ctx.workspace.write_text(".git/hooks/pre-commit", f"#!/bin/sh\ntouch {marker}\n", mode=0o755)
    ctx.workspace.write_text(".git/hooks/post-commit", f"#!/bin/sh\ntouch {marker}\n", mode=0o755)
    ctx.workspace.write_text(".git/config", f"[core]\n\tfsmonitor = touch {marker}\n")
    run(ctx, "publish:git", {"repoUrl": "localhost?owner=acme&repo=safe"})
    assert not marker.exists()
    assert sorted(pushed_files(bare_root / "acme" / "safe.git", "main")) == ["README.md", "src/app.py"]


def test_publish_git_refuses_hosts_without_configuration_or_not_allowed(ctx):
    with pytest.raises(PublishError, match="no git host is configured for 'github.com'"):
        run(ctx, "publish:git", {"repoUrl": "github.com?owner=acme&repo=x"})
    with pytest.raises(PublishError, match="not in allowedHosts"):
        run(ctx, "publish:git", {"repoUrl": "localhost?owner=acme&repo=x", "allowedHosts": ["github.com"]})


@pytest.mark.parametrize("repo_url", [
    "localhost?owner=..&repo=x",
    "localhost?owner=acme&repo=../../etc",
    "localhost?owner=-u&repo=x",
    "localhost?owner=acme",
])
def test_publish_git_refuses_hostile_repository_names(ctx, repo_url, bare_root):
    with pytest.raises(PublishError):
        run(ctx, "publish:git", {"repoUrl": repo_url})
    assert list(bare_root.iterdir()) == []


def test_publish_git_refuses_a_hostile_branch(ctx):
    with pytest.raises(PublishError, match="invalid branch"):
        run(ctx, "publish:git", {"repoUrl": "localhost?owner=acme&repo=x", "defaultBranch": "--upload-pack=x"})


def test_publish_git_without_create_repos_needs_an_existing_remote(ctx, bare_root):
    ctx.git_hosts = git_hosts_from_settings({"localhost": {"remote_base": bare_root.as_uri()}})
    with pytest.raises(PublishError, match="git push failed"):
        run(ctx, "publish:git", {"repoUrl": "localhost?owner=acme&repo=missing"})
    (bare_root / "acme").mkdir()
    git_out("init", "-q", "--bare", str(bare_root / "acme" / "there.git"))
    run(ctx, "publish:git", {"repoUrl": "localhost?owner=acme&repo=there"})
    assert "README.md" in pushed_files(bare_root / "acme" / "there.git", "main")


def test_publish_git_reports_a_rejected_push(ctx, bare_root):
    run(ctx, "publish:git", {"repoUrl": "localhost?owner=acme&repo=twice"})
    ctx.workspace.write_text("README.md", "changed\n")
    with pytest.raises(PublishError, match="git push failed"):
        run(ctx, "publish:git", {"repoUrl": "localhost?owner=acme&repo=twice"})


def test_git_hosts_settings_reject_unknown_keys():
    with pytest.raises(ValueError, match="unknown settings"):
        git_hosts_from_settings({"x": {"remote_bsae": "file:///tmp"}})


def test_publish_github_creates_the_repository_then_pushes(ctx, tmp_path):
    with ForgeStandIn(tmp_path / "forge") as forge:
        ctx.git_hosts = git_hosts_from_settings(
            {"github.com": {"api_base_url": forge.url, "token": "ghp_secret", "committer_name": "Bot",
                            "committer_email": "bot@example.test"}}
        )
        out = run(ctx, "publish:github", {"repoUrl": "github.com?owner=acme&repo=web", "description": "Web",
                                          "allowedHosts": ["github.com"], "repoVisibility": "public"})
    bare = tmp_path / "forge" / "acme" / "web.git"
    assert out["remoteUrl"] == bare.as_uri()
    assert out["repoContentsUrl"] == "https://forge.example.test/acme/web/blob/master"
    assert sorted(pushed_files(bare, "master")) == ["README.md", "src/app.py"]
    assert commit_people(bare, "master") == "Alice Doe <alice@example.test> / Bot <bot@example.test>"
    create = next(r for r in forge.requests if r["method"] == "POST")
    assert create["path"] == "/orgs/acme/repos"
    assert create["body"] == {"name": "web", "private": False, "description": "Web"}
    assert create["headers"]["authorization"] == "Bearer ghp_secret"


def test_publish_github_uses_the_user_endpoint_for_personal_accounts(ctx, tmp_path):
    with ForgeStandIn(tmp_path / "forge") as forge:
        ctx.git_hosts = git_hosts_from_settings({"github.com": {"api_base_url": forge.url}})
        run(ctx, "publish:github", {"repoUrl": "github.com?owner=alice&repo=mine"})
    assert [r["path"] for r in forge.requests if r["method"] == "POST"] == ["/user/repos"]
    assert (tmp_path / "forge" / "alice" / "mine.git").is_dir()


def test_publish_github_reports_api_errors_clearly(ctx, tmp_path):
    with ForgeStandIn(tmp_path / "forge") as forge:
        ctx.git_hosts = git_hosts_from_settings({"github.com": {"api_base_url": forge.url}})
        run(ctx, "publish:github", {"repoUrl": "github.com?owner=acme&repo=dup"})
        with pytest.raises(PublishError, match="answered 422: Repository creation failed"):
            run(ctx, "publish:github", {"repoUrl": "github.com?owner=acme&repo=dup"})


def test_publish_github_reports_an_unreachable_api(ctx):
    ctx.git_hosts = git_hosts_from_settings({"github.com": {"api_base_url": "http://127.0.0.1:9"}})
    with pytest.raises(PublishError, match="unreachable"):
        run(ctx, "publish:github", {"repoUrl": "github.com?owner=acme&repo=x"})


def test_publish_gitlab_creates_the_project_then_pushes(ctx, tmp_path):
    with ForgeStandIn(tmp_path / "forge") as forge:
        ctx.git_hosts = git_hosts_from_settings({"gitlab.com": {"api_base_url": forge.url, "token": "glpat"}})
        out = run(ctx, "publish:gitlab", {"repoUrl": "gitlab.com?owner=acme&repo=api"})
        with pytest.raises(PublishError, match="404"):
            run(ctx, "publish:gitlab", {"repoUrl": "gitlab.com?owner=nobody&repo=api"})
    assert out["repoContentsUrl"] == "https://forge.example.test/acme/api/-/blob/master"
    create = next(r for r in forge.requests if r["method"] == "POST")
    assert create["body"]["namespace_id"] == 42
    assert create["body"]["visibility"] == "private"
    assert create["headers"]["private-token"] == "glpat"
    assert "README.md" in pushed_files(tmp_path / "forge" / "acme" / "api.git", "master")


def test_publish_actions_do_not_declare_dry_run_support():
    for action_id in ["publish:git", "publish:github", "publish:gitlab", "catalog:register"]:
        assert REGISTRY.get(action_id).supports_dry_run is False


def test_a_cancelled_step_stops_git(ctx):
    ctx.cancel_event.set()
    with pytest.raises(ActionError, match="cancelled"):
        run(ctx, "publish:git", {"repoUrl": "localhost?owner=acme&repo=stop"})
