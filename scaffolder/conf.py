"""Scaffolder settings, each optional, read in one place.

SCAFFOLDER_GIT_HOSTS          where publish:* actions push, as JSON or a dict keyed by host
                              (see scaffolder.actions.publish); default: host ``localhost`` whose
                              bare repositories are created under VAR_DIR/git-repos/
SCAFFOLDER_TASK_SECONDS       time limit of one task (900)
SCAFFOLDER_STEP_SECONDS       time limit of one step (300)
SCAFFOLDER_STALE_GRACE_SECONDS  how long past the task time limit a task may stay "processing"
                              before it is marked failed (120)
SCAFFOLDER_WORK_DIR           parent folder of task workspaces (the system temporary folder)
SCAFFOLDER_REMOTE_TREES       {url prefix: local folder} skeletons mirrored for fetch:* (JSON or dict)
SCAFFOLDER_WORKSPACE_MAX_BYTES / SCAFFOLDER_WORKSPACE_MAX_FILES   workspace size limits
SCAFFOLDER_STALE_CHECK_SECONDS  how often the stale-task check runs (read by scaffolder/schedule.py)
SCAFFOLDER_ACTION_REGISTRARS  dotted paths of callables ``f(registry)`` adding actions to the built-in
                              ones (default: the provisioning actions when that app is installed)
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from django.apps import apps
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.utils.module_loading import import_string

from .actions import ActionRegistry, default_registry
from .actions.publish import GitHostConfig, git_hosts_from_settings
from .runner import RunLimits
from .workspace import WorkspaceLimits

LOCAL_HOST = "localhost"


def _json_setting(name: str, default: Any) -> Any:
    raw = getattr(settings, name, None)
    if raw is None or raw == "":
        return default
    if isinstance(raw, str):
        try:
            return json.loads(raw)
        except ValueError as exc:
            raise ImproperlyConfigured(f"{name} must be JSON: {exc}") from exc
    return raw


def git_repos_dir() -> Path:
    return Path(getattr(settings, "VAR_DIR", Path(settings.BASE_DIR) / "var")) / "git-repos"


def git_hosts_settings() -> dict[str, dict[str, Any]]:
    default = {LOCAL_HOST: {"remote_base": git_repos_dir().as_uri(), "create_repos": True}}
    value = _json_setting("SCAFFOLDER_GIT_HOSTS", default)
    if not isinstance(value, dict) or not all(isinstance(v, dict) for v in value.values()):
        raise ImproperlyConfigured("SCAFFOLDER_GIT_HOSTS must map host names to settings objects")
    return value


def git_hosts() -> dict[str, GitHostConfig]:
    try:
        return git_hosts_from_settings(git_hosts_settings())
    except (TypeError, ValueError) as exc:
        raise ImproperlyConfigured(f"SCAFFOLDER_GIT_HOSTS: {exc}") from exc


def remote_trees() -> dict[str, str]:
    value = _json_setting("SCAFFOLDER_REMOTE_TREES", {})
    if not isinstance(value, dict):
        raise ImproperlyConfigured("SCAFFOLDER_REMOTE_TREES must map URL prefixes to local folders")
    return {str(k): str(v) for k, v in value.items()}


def task_seconds() -> float:
    return float(getattr(settings, "SCAFFOLDER_TASK_SECONDS", 900))


def stale_after_seconds() -> float:
    """A task still processing this long after it started was lost with its worker."""
    return task_seconds() + float(getattr(settings, "SCAFFOLDER_STALE_GRACE_SECONDS", 120))


def run_limits() -> RunLimits:
    workspace = WorkspaceLimits()
    return RunLimits(
        task_seconds=task_seconds(),
        step_seconds=float(getattr(settings, "SCAFFOLDER_STEP_SECONDS", 300)),
        workspace=WorkspaceLimits(
            max_bytes=int(getattr(settings, "SCAFFOLDER_WORKSPACE_MAX_BYTES", workspace.max_bytes)),
            max_files=int(getattr(settings, "SCAFFOLDER_WORKSPACE_MAX_FILES", workspace.max_files)),
            max_file_bytes=workspace.max_file_bytes,
        ),
    )


def work_dir() -> Path | None:
    value = getattr(settings, "SCAFFOLDER_WORK_DIR", "")
    return Path(value) if value else None


def file_roots() -> list[Path]:
    return [Path(root).resolve() for root in getattr(settings, "CAUSEWAY_FILE_ROOTS", [])]


PROVISIONING_REGISTRAR = "scaffolder.provisioning.actions.register_provisioning_actions"


def action_registry() -> ActionRegistry:
    """The built-in actions plus those other apps add (SCAFFOLDER_ACTION_REGISTRARS)."""
    default = [PROVISIONING_REGISTRAR] if apps.is_installed("scaffolder.provisioning") else []
    registry = default_registry()
    for path in getattr(settings, "SCAFFOLDER_ACTION_REGISTRARS", default):
        try:
            registrar = import_string(path)
        except ImportError as exc:
            raise ImproperlyConfigured(f"SCAFFOLDER_ACTION_REGISTRARS: cannot import {path}: {exc}") from exc
        registry = registrar(registry) or registry
    return registry
