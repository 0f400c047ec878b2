"""``publish:git``, ``publish:github`` and ``publish:gitlab``: commit the workspace and push it.

Where to push comes from the ``git_hosts`` configuration, keyed by the host of the
``repoUrl`` input (``host?owner=o&repo=r``, the RepoUrlPicker format)::

    git_hosts = git_hosts_from_settings({
        "localhost": {"remote_base": "file:///srv/git", "create_repos": True},
        "github.com": {"remote_base": "https://github.com", "api_base_url": "https://api.github.com",
                       "token": "..."},
    })

- publish:git pushes to ``<remote_base>/<owner>/<repo>.git``; for ``file://`` bases with
  ``create_repos`` the bare repository is created when missing.
- publish:github / publish:gitlab first create the repository through the host's REST API
  (GitHubApi / GitLabApi adapters, base URL and token from the configuration), then push
  to the clone URL the API returns.

The commit's author is the user running the template (``gitAuthorName``/``gitAuthorEmail``
inputs win), its committer the host's configured committer. The repository metadata is
kept outside the workspace, so nothing a skeleton contains (``.git/hooks``, ``.git/config``)
is ever executed or read by git. Outputs: remoteUrl, repoContentsUrl, commitHash.
"""

from __future__ import annotations

import base64
import json
import os
import re
import shutil
import tempfile
import urllib.error
import urllib.request
from collections.abc import Mapping
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlsplit
from urllib.request import url2pathname

from scaffolder.actions.registry import Action, ActionContext, ActionError
from scaffolder.expressions import FilterArgumentError, parse_repo_url


class PublishError(ActionError):
    """Publishing failed (configuration, REST API or git)."""


@dataclass(frozen=True)
class GitHostConfig:
    host: str
    remote_base: str = ""
    api_base_url: str | None = None
    token: str | None = None
    username: str = "x-access-token"
    create_repos: bool = False
    contents_url: str = "{remote_url}/blob/{branch}"
    committer_name: str = "Causeway Scaffolder"
    committer_email: str = "scaffolder@causeway.invalid"
    default_author_name: str = "Causeway Scaffolder"
    default_author_email: str = "scaffolder@causeway.invalid"
    api_timeout: float = 30.0
    push_timeout: float = 300.0


def git_hosts_from_settings(settings: Mapping[str, Mapping[str, Any]]) -> dict[str, GitHostConfig]:
    """Build the host map from plain settings; unknown keys are an error (typos show up early)."""
    known = {f.name for f in fields(GitHostConfig)}
    hosts: dict[str, GitHostConfig] = {}
    for host, options in settings.items():
        unknown = set(options) - known
        if unknown:
            raise ValueError(f"git host {host!r}: unknown settings {sorted(unknown)}")
        hosts[host] = GitHostConfig(host=host, **{k: v for k, v in options.items() if k != "host"})
    return hosts


# --------------------------------------------------------------------------------------------------
# REST adapters
# --------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class CreatedRepository:
    clone_url: str
    web_url: str


class _RestClient:
    service = "REST"

    def __init__(self, base_url: str, token: str | None, timeout: float = 30.0) -> None:
        if urlsplit(base_url).scheme not in ("http", "https"):
            raise PublishError(f"the {self.service} API URL must be http(s), got {base_url!r}")
        self.base_url = base_url.rstrip("/")
        self.token = token
        self.timeout = timeout

    def _headers(self) -> dict[str, str]:
        return {"Accept": "application/json", "Content-Type": "application/json", "User-Agent": "causeway"}

    def request(self, method: str, path: str, body: Mapping[str, Any] | None = None) -> Any:
        data = json.dumps(body).encode("utf-8") if body is not None else None
        request = urllib.request.Request(  # noqa: S310 - scheme checked in __init__
            self.base_url + path, data=data, method=method, headers=self._headers()
        )
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:  # noqa: S310
                raw = response.read(5_000_000)
        except urllib.error.HTTPError as exc:
            detail = _error_detail(exc)
            raise PublishError(f"{self.service} API {method} {path} answered {exc.code}: {detail}") from None
        except (urllib.error.URLError, OSError) as exc:
            reason = getattr(exc, "reason", exc)
            raise PublishError(f"{self.service} API at {self.base_url} is unreachable: {reason}") from None
        try:
            return json.loads(raw) if raw else {}
        except ValueError:
            raise PublishError(f"{self.service} API {method} {path} did not answer JSON") from None


def _error_detail(exc: urllib.error.HTTPError) -> str:
    try:
        payload = json.loads(exc.read(100_000) or b"{}")
    except ValueError:
        return exc.reason or "error"
    if isinstance(payload, dict):
        message = payload.get("message") or payload.get("error") or exc.reason
        errors = payload.get("errors")
        if errors:
            message = f"{message} ({json.dumps(errors)[:300]})"
        return str(message)
    return str(exc.reason)


class GitHubApi(_RestClient):
    service = "GitHub"

    def _headers(self) -> dict[str, str]:
        headers = super()._headers()
        headers["Accept"] = "application/vnd.github+json"
        if self.token:
            headers["Authorization"] = f"Bearer {self.token}"
        return headers

    def create_repository(
        self, owner: str, name: str, *, description: str | None, visibility: str
    ) -> CreatedRepository:
        account = self.request("GET", f"/users/{quote(owner, safe='')}")
        body: dict[str, Any] = {"name": name, "private": visibility != "public"}
        if description:
            body["description"] = description
        if visibility == "internal":
            body["visibility"] = "internal"
        if isinstance(account, dict) and account.get("type") == "Organization":
            created = self.request("POST", f"/orgs/{quote(owner, safe='')}/repos", body)
        else:
            created = self.request("POST", "/user/repos", body)
        try:
            return CreatedRepository(clone_url=str(created["clone_url"]), web_url=str(created["html_url"]))
        except (KeyError, TypeError):
            raise PublishError("GitHub API answer lacks clone_url/html_url") from None


class GitLabApi(_RestClient):
    service = "GitLab"

    def _headers(self) -> dict[str, str]:
        headers = super()._headers()
        if self.token:
            headers["PRIVATE-TOKEN"] = self.token
        return headers

    def create_repository(
        self, owner: str, name: str, *, description: str | None, visibility: str
    ) -> CreatedRepository:
        namespace = self.request("GET", f"/namespaces/{quote(owner, safe='')}")
        if not isinstance(namespace, dict) or "id" not in namespace:
            raise PublishError(f"GitLab namespace {owner!r} was not found")
        body: dict[str, Any] = {"name": name, "path": name, "namespace_id": namespace["id"], "visibility": visibility}
        if description:
            body["description"] = description
        created = self.request("POST", "/projects", body)
        try:
            return CreatedRepository(clone_url=str(created["http_url_to_repo"]), web_url=str(created["web_url"]))
        except (KeyError, TypeError):
            raise PublishError("GitLab API answer lacks http_url_to_repo/web_url") from None


# --------------------------------------------------------------------------------------------------
# git
# --------------------------------------------------------------------------------------------------

_NAME_RE = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9._-]{0,99}$")
_BRANCH_RE = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9._/-]{0,199}$")


@dataclass(frozen=True)
class _Target:
    host: GitHostConfig
    owner: str
    repo: str


def _target(ctx: ActionContext, data: dict[str, Any]) -> _Target:
    try:
        parsed = parse_repo_url(data["repoUrl"])
    except FilterArgumentError as exc:
        raise PublishError(str(exc)) from None
    host = parsed["host"]
    allowed = data.get("allowedHosts")
    if allowed is not None and host not in allowed:
        raise PublishError(f"host {host!r} is not in allowedHosts {allowed}")
    config = ctx.git_hosts.get(host)
    if config is None:
        raise PublishError(f"no git host is configured for {host!r}")
    owner = parsed.get("owner") or parsed.get("organization") or parsed.get("workspace") or ""
    for label, value in (("owner", owner), ("repo", parsed["repo"])):
        if not _NAME_RE.match(value) or value in (".", ".."):
            raise PublishError(f"invalid repository {label} {value!r}")
    return _Target(host=config, owner=owner, repo=parsed["repo"])


def _branch(data: dict[str, Any], default: str) -> str:
    branch = data.get("defaultBranch") or default
    if not _BRANCH_RE.match(branch) or ".." in branch or branch.endswith((".lock", "/")):
        raise PublishError(f"invalid branch name {branch!r}")
    return branch


def _git_env(extra: Mapping[str, str] | None = None) -> dict[str, str]:
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "LANG": "C",
        "GIT_TERMINAL_PROMPT": "0",
        "GIT_CONFIG_NOSYSTEM": "1",
        "GIT_CONFIG_GLOBAL": os.devnull,
        "GIT_ALLOW_PROTOCOL": "file:git:http:https:ssh",  # never ext:: or fd:: transports
    }
    env.update(extra or {})
    return env


def _git(ctx: ActionContext, args: list[str], env: Mapping[str, str], timeout: float, what: str) -> str:
    result = ctx.run_command(["git", "-c", "core.hooksPath=/dev/null", *args], env=env, timeout=timeout)
    if result.returncode != 0:
        message = (result.stderr or result.stdout).strip()[-800:]
        raise PublishError(f"git {what} failed: {message}")
    return result.stdout.strip()


def _ensure_local_bare_repo(ctx: ActionContext, remote_url: str, branch: str, env: Mapping[str, str]) -> None:
    path = Path(url2pathname(urlsplit(remote_url).path))
    if (path / "HEAD").is_file():
        return
    if path.exists() and any(path.iterdir()):
        raise PublishError(f"{remote_url} exists and is not a git repository")
    path.mkdir(parents=True, exist_ok=True)
    _git(ctx, ["init", "--quiet", "--bare", f"--initial-branch={branch}", str(path)], env, 60, "init (remote)")
    ctx.log(f"Created repository {remote_url}")


def push_workspace(
    ctx: ActionContext,
    *,
    source_path: str,
    remote_url: str,
    branch: str,
    message: str,
    author: tuple[str, str],
    committer: tuple[str, str],
    auth: tuple[str, str] | None = None,
    timeout: float = 300.0,
) -> str:
    """Commit everything under ``source_path`` of the workspace and push it; returns the commit hash."""
    work_tree = ctx.workspace.resolve(source_path or ".")
    if not work_tree.is_dir():
        raise PublishError(f"sourcePath {source_path!r} is not a folder of the workspace")
    extra = {
        "GIT_AUTHOR_NAME": author[0],
        "GIT_AUTHOR_EMAIL": author[1],
        "GIT_COMMITTER_NAME": committer[0],
        "GIT_COMMITTER_EMAIL": committer[1],
    }
    if auth and urlsplit(remote_url).scheme in ("http", "https"):
        # Given through the environment so the token never shows in a process listing.
        credentials = base64.b64encode(f"{auth[0]}:{auth[1]}".encode()).decode("ascii")
        extra.update(
            {
                "GIT_CONFIG_COUNT": "1",
                "GIT_CONFIG_KEY_0": "http.extraHeader",
                "GIT_CONFIG_VALUE_0": f"Authorization: Basic {credentials}",
            }
        )
    env = _git_env(extra)
    git_dir = tempfile.mkdtemp(prefix="causeway-publish-")
    try:
        home = {"HOME": git_dir}
        env.update(home)
        repo = ["--git-dir", os.path.join(git_dir, "repo.git"), "--work-tree", str(work_tree)]
        _git(ctx, ["init", "--quiet", "--bare", f"--initial-branch={branch}", os.path.join(git_dir, "repo.git")],
             env, 60, "init")
        _git(ctx, [*repo, "-c", "core.bare=false", "add", "--all", "."], env, timeout, "add")
        _git(ctx, [*repo, "-c", "core.bare=false", "-c", "commit.gpgsign=false", "commit", "--quiet",
                   "--allow-empty", "--no-verify", "-m", message], env, timeout, "commit")
        commit = _git(ctx, [*repo, "rev-parse", "HEAD"], env, 60, "rev-parse")
        ctx.log(f"Pushing {commit[:12]} to {remote_url} ({branch})")
        _git(ctx, [*repo, "push", "--quiet", "--no-verify", "--", remote_url, f"HEAD:refs/heads/{branch}"],
             env, timeout, "push")
        return commit
    finally:
        shutil.rmtree(git_dir, ignore_errors=True)


def _people(ctx: ActionContext, data: dict[str, Any], host: GitHostConfig) -> tuple[tuple[str, str], tuple[str, str]]:
    author = (
        data.get("gitAuthorName") or ctx.user.display_name or host.default_author_name,
        data.get("gitAuthorEmail") or ctx.user.email or host.default_author_email,
    )
    return author, (host.committer_name, host.committer_email)


def _contents_url(host: GitHostConfig, remote_url: str, target: _Target, branch: str) -> str:
    return host.contents_url.format(
        remote_url=remote_url.removesuffix("/"), owner=target.owner, repo=target.repo, branch=branch, host=host.host
    )


def _publish_git(ctx: ActionContext, data: dict[str, Any]) -> dict[str, Any]:
    target = _target(ctx, data)
    host = target.host
    if not host.remote_base:
        raise PublishError(f"git host {host.host!r} has no remote_base configured")
    branch = _branch(data, "main")
    remote_url = f"{host.remote_base.rstrip('/')}/{target.owner}/{target.repo}.git"
    if urlsplit(remote_url).scheme == "file" and host.create_repos:
        _ensure_local_bare_repo(ctx, remote_url, branch, _git_env())
    author, committer = _people(ctx, data, host)
    commit = push_workspace(
        ctx,
        source_path=data.get("sourcePath") or ".",
        remote_url=remote_url,
        branch=branch,
        message=data.get("gitCommitMessage") or "initial commit",
        author=author,
        committer=committer,
        auth=(host.username, host.token) if host.token else None,
        timeout=host.push_timeout,
    )
    return {
        "remoteUrl": remote_url,
        "repoContentsUrl": _contents_url(host, remote_url, target, branch),
        "commitHash": commit,
    }


def _publish_hosted(api_class: type[GitHubApi] | type[GitLabApi], push_user: str, blob: str) -> Any:
    def handler(ctx: ActionContext, data: dict[str, Any]) -> dict[str, Any]:
        target = _target(ctx, data)
        host = target.host
        if not host.api_base_url:
            raise PublishError(f"git host {host.host!r} has no api_base_url configured")
        branch = _branch(data, "master")
        api = api_class(host.api_base_url, host.token, timeout=host.api_timeout)
        ctx.log(f"Creating repository {target.owner}/{target.repo} on {host.host}")
        created = api.create_repository(
            target.owner,
            target.repo,
            description=data.get("description"),
            visibility=data.get("repoVisibility") or "private",
        )
        if urlsplit(created.clone_url).scheme not in ("https", "http", "ssh", "file"):
            raise PublishError(f"{host.host} answered an unusable clone URL {created.clone_url!r}")
        author, committer = _people(ctx, data, host)
        commit = push_workspace(
            ctx,
            source_path=data.get("sourcePath") or ".",
            remote_url=created.clone_url,
            branch=branch,
            message=data.get("gitCommitMessage") or "initial commit",
            author=author,
            committer=committer,
            auth=(push_user, host.token) if host.token else None,
            timeout=host.push_timeout,
        )
        return {
            "remoteUrl": created.clone_url,
            "repoContentsUrl": f"{created.web_url.rstrip('/')}{blob}{branch}",
            "commitHash": commit,
        }

    return handler


_COMMON_PROPERTIES: dict[str, Any] = {
    "repoUrl": {"type": "string", "minLength": 1, "description": "host?owner=o&repo=r"},
    "description": {"type": "string"},
    "defaultBranch": {"type": "string"},
    "sourcePath": {"type": "string"},
    "gitCommitMessage": {"type": "string"},
    "gitAuthorName": {"type": "string"},
    "gitAuthorEmail": {"type": "string"},
    "allowedHosts": {"type": "array", "items": {"type": "string"}},
}
_HOSTED_PROPERTIES = {
    **_COMMON_PROPERTIES,
    "repoVisibility": {"enum": ["private", "public", "internal"]},
    "token": {"type": "string"},
}
_OUTPUT = {
    "type": "object",
    "properties": {
        "remoteUrl": {"type": "string"},
        "repoContentsUrl": {"type": "string"},
        "commitHash": {"type": "string"},
    },
}

GIT = Action(
    id="publish:git",
    description="Commits the workspace and pushes it to a configured git host.",
    input_schema={"type": "object", "required": ["repoUrl"], "properties": _COMMON_PROPERTIES},
    output_schema=_OUTPUT,
    handler=_publish_git,
)

GITHUB = Action(
    id="publish:github",
    description="Creates a GitHub repository through the REST API and pushes the workspace to it.",
    input_schema={"type": "object", "required": ["repoUrl"], "properties": _HOSTED_PROPERTIES},
    output_schema=_OUTPUT,
    handler=_publish_hosted(GitHubApi, "x-access-token", "/blob/"),
)

GITLAB = Action(
    id="publish:gitlab",
    description="Creates a GitLab project through the REST API and pushes the workspace to it.",
    input_schema={"type": "object", "required": ["repoUrl"], "properties": _HOSTED_PROPERTIES},
    output_schema=_OUTPUT,
    handler=_publish_hosted(GitLabApi, "oauth2", "/-/blob/"),
)

ACTIONS = [GIT, GITHUB, GITLAB]
