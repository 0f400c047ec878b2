"""Every app's optional settings come from the environment, with the defaults the apps use without them;
a malformed value stops the portal at start-up with a message naming the variable."""

import importlib
import json
import os
import runpy
import subprocess
import sys

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.views.debug import SafeExceptionReporterFilter

from scaffolder import conf as scaffolder_conf
from scaffolder.provisioning import conf as provisioning_conf
from scorecards import conf as scorecards_conf
from techdocs import conf as techdocs_conf
from tests.conftest import REPO_ROOT
from tests.portal.test_settings import run_manage

SETTINGS_FILE = REPO_ROOT / "portal" / "settings.py"
APP_VARIABLES = ("CAUSEWAY_READ_ALLOW", "CATALOG_", "SCAFFOLDER_", "PROVISIONING_", "TECHDOCS_", "SCORECARDS_", "DORA_")


def load_settings(monkeypatch, **env) -> dict:
    """Run portal/settings.py as start-up does, with these app variables set and no others."""
    for name in list(os.environ):
        if name.startswith(APP_VARIABLES):
            monkeypatch.delenv(name)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    return runpy.run_path(str(SETTINGS_FILE))


# Each app function with the settings it reads: without those settings it falls back to its own defaults.
APP_READERS = [
    (scaffolder_conf.task_seconds, ["SCAFFOLDER_TASK_SECONDS"]),
    (scaffolder_conf.stale_after_seconds, ["SCAFFOLDER_TASK_SECONDS", "SCAFFOLDER_STALE_GRACE_SECONDS"]),
    (scaffolder_conf.run_limits,
     ["SCAFFOLDER_TASK_SECONDS", "SCAFFOLDER_STEP_SECONDS", "SCAFFOLDER_WORKSPACE_MAX_BYTES",
      "SCAFFOLDER_WORKSPACE_MAX_FILES"]),
    (scaffolder_conf.work_dir, ["SCAFFOLDER_WORK_DIR"]),
    (scaffolder_conf.git_hosts_settings, ["SCAFFOLDER_GIT_HOSTS"]),
    (scaffolder_conf.remote_trees, ["SCAFFOLDER_REMOTE_TREES"]),
    (provisioning_conf.gitops_repo, ["PROVISIONING_GITOPS_REPO"]),
    (provisioning_conf.gitops_branch, ["PROVISIONING_GITOPS_BRANCH"]),
    (provisioning_conf.gitops_credentials, ["PROVISIONING_GITOPS_USERNAME", "PROVISIONING_GITOPS_TOKEN"]),
    (provisioning_conf.git_timeout, ["PROVISIONING_GIT_TIMEOUT"]),
    (provisioning_conf.committer, ["PROVISIONING_COMMITTER_NAME", "PROVISIONING_COMMITTER_EMAIL"]),
    (provisioning_conf.expiry_warning, ["PROVISIONING_EXPIRY_WARNING_HOURS"]),
    (provisioning_conf.provisioning_settings,
     ["PROVISIONING_CURRENCY", "PROVISIONING_PREVIEW_BASE_DOMAIN", "PROVISIONING_MAX_PREVIEW_TTL",
      "PROVISIONING_INGRESS_NAMESPACE", "PROVISIONING_CLAIM_API_GROUP", "PROVISIONING_CLAIM_API_VERSION"]),
    (techdocs_conf.build_limits,
     ["TECHDOCS_MAX_PAGES", "TECHDOCS_MAX_FILE_BYTES", "TECHDOCS_MAX_TOTAL_BYTES", "TECHDOCS_MAX_BUILD_SECONDS"]),
    (scorecards_conf.batch_size, ["SCORECARDS_BATCH_SIZE"]),
    (scorecards_conf.dora_window_days, ["SCORECARDS_DORA_WINDOW_DAYS"]),
    (scorecards_conf.production_environment, ["DORA_PRODUCTION_ENVIRONMENT"]),
    (scorecards_conf.performance_table, ["DORA_PERFORMANCE_TABLE"]),
    (scorecards_conf.max_events_per_request, ["DORA_MAX_EVENTS_PER_REQUEST"]),
]


@pytest.mark.parametrize(
    "read, names", APP_READERS, ids=[f"{read.__module__}.{read.__name__}" for read, _ in APP_READERS]
)
def test_the_default_of_each_setting_is_what_the_app_uses_without_it(monkeypatch, settings, read, names):
    loaded = load_settings(monkeypatch)
    for name in names:
        if hasattr(settings, name):
            delattr(settings, name)
    app_default = read()
    for name in names:
        setattr(settings, name, loaded[name])
    assert read() == app_default


def test_settings_that_fall_back_to_others_are_left_unset_without_their_variable(monkeypatch):
    loaded = load_settings(monkeypatch)
    # The apps then read their own fallback when needed: TechDocs the catalog's git settings, the
    # scaffolder its installed-apps default of action registrars.
    assert {"TECHDOCS_GIT_TIMEOUT", "TECHDOCS_GIT_CACHE_DIR", "SCAFFOLDER_ACTION_REGISTRARS"}.isdisjoint(loaded)


SCHEDULES = [
    ("catalog.schedule", "catalog-refresh-all", "CATALOG_REFRESH_INTERVAL"),
    ("scaffolder.schedule", "scaffolder-fail-stale-tasks", "SCAFFOLDER_STALE_CHECK_SECONDS"),
    ("scaffolder.provisioning.schedule", "provisioning-expire-claims", "PROVISIONING_EXPIRY_INTERVAL"),
    ("techdocs.schedule", "techdocs-rebuild-changed", "TECHDOCS_REBUILD_INTERVAL"),
    ("scorecards.schedule", "scorecards-evaluate-all", "SCORECARDS_EVALUATE_INTERVAL"),
]


@pytest.mark.parametrize("module, entry, name", SCHEDULES, ids=[name for _, _, name in SCHEDULES])
def test_the_default_interval_is_the_one_the_schedule_uses(monkeypatch, module, entry, name):
    loaded = load_settings(monkeypatch)
    schedule = importlib.reload(importlib.import_module(module))  # read again without the variable
    assert schedule.BEAT_SCHEDULE[entry]["schedule"] == loaded[name]


READ_BY_THE_APPS = """
import json

import django

django.setup()
from django.conf import settings

from scaffolder import conf as scaffolder
from scaffolder.provisioning import conf as provisioning
from scorecards import conf as scorecards
from techdocs import conf as techdocs

limits, build, offered = scaffolder.run_limits(), techdocs.build_limits(), provisioning.provisioning_settings()
hosts = scaffolder.git_hosts()
print(json.dumps({
    "git_hosts": {host: [config.remote_base, config.token] for host, config in hosts.items()},
    "remote_trees": scaffolder.remote_trees(),
    "run": [scaffolder.task_seconds(), scaffolder.stale_after_seconds(), limits.step_seconds,
            limits.workspace.max_bytes, limits.workspace.max_files],
    "work_dir": str(scaffolder.work_dir()),
    "shout": "test:shout" in scaffolder.action_registry(),
    "gitops": [provisioning.gitops_repo(), provisioning.gitops_branch(), *provisioning.gitops_credentials(),
               provisioning.git_timeout(), *provisioning.committer(), provisioning.expiry_warning().total_seconds()],
    "offered": [offered.currency, offered.preview_base_domain, offered.max_preview_ttl.total_seconds(),
                offered.ingress_namespace, offered.claim_api_version_string],
    "techdocs": [build.max_pages, build.max_file_bytes, build.max_total_bytes, build.max_build_seconds,
                 techdocs.git_timeout(), str(techdocs.git_cache_dir())],
    "catalog_git_cache": str(settings.CATALOG_GIT_CACHE_DIR),
    "scorecards": [scorecards.batch_size(), scorecards.dora_window_days(), scorecards.production_environment(),
                   scorecards.performance_table(), scorecards.max_events_per_request()],
    "beat": {name: entry["schedule"] for name, entry in settings.CELERY_BEAT_SCHEDULE.items()},
}))
"""


def test_values_from_the_environment_reach_the_apps(tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith(APP_VARIABLES)}
    env.update(
        DJANGO_SETTINGS_MODULE="portal.settings",
        CAUSEWAY_READ_ALLOW="git.example.com",
        CATALOG_GIT_CACHE_DIR=str(tmp_path / "git-cache"),
        SCAFFOLDER_GIT_HOSTS=json.dumps({"git.example.com": {"remote_base": "https://git.example.com", "token": "t0"}}),
        SCAFFOLDER_REMOTE_TREES=json.dumps({"https://git.example.com/skeletons": "/srv/skeletons"}),
        SCAFFOLDER_TASK_SECONDS="600",
        SCAFFOLDER_STEP_SECONDS="120.5",
        SCAFFOLDER_STALE_GRACE_SECONDS="30",
        SCAFFOLDER_STALE_CHECK_SECONDS="90",
        SCAFFOLDER_WORK_DIR=str(tmp_path / "work"),
        SCAFFOLDER_WORKSPACE_MAX_BYTES="1048576",
        SCAFFOLDER_WORKSPACE_MAX_FILES="500",
        SCAFFOLDER_ACTION_REGISTRARS="tests.scaffolder.test_action_registrars.add_shout",
        PROVISIONING_GITOPS_REPO="/srv/gitops.git",
        PROVISIONING_GITOPS_BRANCH="claims",
        PROVISIONING_GITOPS_USERNAME="platform-bot",
        PROVISIONING_GITOPS_TOKEN="s3cret",
        PROVISIONING_GIT_TIMEOUT="30",
        PROVISIONING_COMMITTER_NAME="Platform Bot",
        PROVISIONING_COMMITTER_EMAIL="platform@example.com",
        PROVISIONING_CURRENCY="EUR",
        PROVISIONING_PREVIEW_BASE_DOMAIN="preview.example.org",
        PROVISIONING_MAX_PREVIEW_TTL="3d",
        PROVISIONING_INGRESS_NAMESPACE="traefik",
        PROVISIONING_CLAIM_API_GROUP="claims.example.org",
        PROVISIONING_CLAIM_API_VERSION="v1beta1",
        PROVISIONING_EXPIRY_WARNING_HOURS="6",
        PROVISIONING_EXPIRY_INTERVAL="300",
        TECHDOCS_REBUILD_INTERVAL="1800",
        TECHDOCS_MAX_PAGES="100",
        TECHDOCS_MAX_FILE_BYTES="2048",
        TECHDOCS_MAX_TOTAL_BYTES="4096",
        TECHDOCS_MAX_BUILD_SECONDS="60",
        TECHDOCS_GIT_TIMEOUT="15",
        TECHDOCS_GIT_CACHE_DIR=str(tmp_path / "docs-cache"),
        SCORECARDS_BATCH_SIZE="500",
        SCORECARDS_EVALUATE_INTERVAL="600",
        SCORECARDS_DORA_WINDOW_DAYS="14",
        DORA_PRODUCTION_ENVIRONMENT="Prod",
        DORA_PERFORMANCE_TABLE="2021",
        DORA_MAX_EVENTS_PER_REQUEST="100",
    )
    result = subprocess.run([sys.executable, "-c", READ_BY_THE_APPS], cwd=REPO_ROOT, env=env,
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    seen = json.loads(result.stdout.strip().splitlines()[-1])
    assert seen["git_hosts"] == {"git.example.com": ["https://git.example.com", "t0"]}
    assert seen["remote_trees"] == {"https://git.example.com/skeletons": "/srv/skeletons"}
    assert seen["run"] == [600, 630, 120.5, 1048576, 500]
    assert seen["work_dir"] == str(tmp_path / "work")
    assert seen["shout"] is True
    assert seen["gitops"] == ["/srv/gitops.git", "claims", "platform-bot", "s3cret", 30, "Platform Bot",
                              "platform@example.com", 6 * 3600]
    assert seen["offered"] == ["EUR", "preview.example.org", 3 * 86400, "traefik", "claims.example.org/v1beta1"]
    assert seen["techdocs"] == [100, 2048, 4096, 60, 15, str(tmp_path / "docs-cache")]
    assert seen["catalog_git_cache"] == str(tmp_path / "git-cache")
    assert seen["scorecards"] == [500, 14, "prod", "2021", 100]
    assert {name: seen["beat"][name] for name in (
        "scaffolder-fail-stale-tasks", "provisioning-expire-claims", "techdocs-rebuild-changed",
        "scorecards-evaluate-all",
    )} == {"scaffolder-fail-stale-tasks": 90, "provisioning-expire-claims": 300, "techdocs-rebuild-changed": 1800,
           "scorecards-evaluate-all": 600}


MALFORMED = [
    ("CAUSEWAY_READ_ALLOW", "https://git.example.com/org", "CAUSEWAY_READ_ALLOW: 'https://git.example.com/org' is not"),
    ("SCAFFOLDER_GIT_HOSTS", "{github.com: {}}", "SCAFFOLDER_GIT_HOSTS must be a JSON object: Expecting property name"),
    ("SCAFFOLDER_GIT_HOSTS", '["github.com"]', "SCAFFOLDER_GIT_HOSTS must be a JSON object, not an array"),
    ("SCAFFOLDER_GIT_HOSTS", '{"github.com": "https://github.com"}',
     "SCAFFOLDER_GIT_HOSTS must map host names to settings objects"),
    ("SCAFFOLDER_GIT_HOSTS", '{"github.com": {"remote_bsae": "https://github.com"}}',
     "SCAFFOLDER_GIT_HOSTS: git host 'github.com': unknown settings ['remote_bsae']"),
    ("SCAFFOLDER_REMOTE_TREES", '"/srv/skeletons"', "SCAFFOLDER_REMOTE_TREES must be a JSON object, not a string"),
    ("SCAFFOLDER_TASK_SECONDS", "15 minutes", "SCAFFOLDER_TASK_SECONDS must be a number, got '15 minutes'"),
    ("SCAFFOLDER_STEP_SECONDS", "0", "SCAFFOLDER_STEP_SECONDS must be at least 1, got 0"),
    ("SCAFFOLDER_STALE_GRACE_SECONDS", "-5", "SCAFFOLDER_STALE_GRACE_SECONDS must be at least 0, got -5"),
    ("SCAFFOLDER_STALE_CHECK_SECONDS", "nan", "SCAFFOLDER_STALE_CHECK_SECONDS must be a finite number"),
    ("SCAFFOLDER_WORKSPACE_MAX_BYTES", "200MB", "SCAFFOLDER_WORKSPACE_MAX_BYTES must be a whole number"),
    ("SCAFFOLDER_WORKSPACE_MAX_FILES", "0", "SCAFFOLDER_WORKSPACE_MAX_FILES must be at least 1, got 0"),
    ("PROVISIONING_GIT_TIMEOUT", "1m", "PROVISIONING_GIT_TIMEOUT must be a number, got '1m'"),
    ("PROVISIONING_CURRENCY", "euro", "PROVISIONING_CURRENCY: currency 'euro' must be a three-letter code"),
    ("PROVISIONING_PREVIEW_BASE_DOMAIN", "preview_example", "PROVISIONING_PREVIEW_BASE_DOMAIN: preview_base_domain"),
    ("PROVISIONING_INGRESS_NAMESPACE", "ingress.nginx", "PROVISIONING_INGRESS_NAMESPACE: ingress_namespace"),
    ("PROVISIONING_CLAIM_API_GROUP", "platform/causeway", "PROVISIONING_CLAIM_API_GROUP: claim_api_group"),
    ("PROVISIONING_CLAIM_API_VERSION", "1.0", "PROVISIONING_CLAIM_API_VERSION: claim_api_version '1.0'"),
    ("PROVISIONING_MAX_PREVIEW_TTL", "a week", "PROVISIONING_MAX_PREVIEW_TTL: TTL 'a week' is not valid"),
    ("PROVISIONING_EXPIRY_WARNING_HOURS", "-1", "PROVISIONING_EXPIRY_WARNING_HOURS must be at least 0, got -1"),
    ("PROVISIONING_EXPIRY_INTERVAL", "0", "PROVISIONING_EXPIRY_INTERVAL must be at least 1, got 0"),
    ("TECHDOCS_REBUILD_INTERVAL", "hourly", "TECHDOCS_REBUILD_INTERVAL must be a number, got 'hourly'"),
    ("TECHDOCS_MAX_PAGES", "lots", "TECHDOCS_MAX_PAGES must be a whole number, got 'lots'"),
    ("TECHDOCS_MAX_FILE_BYTES", "10", "TECHDOCS_MAX_FILE_BYTES must be at least 1024, got 10"),
    ("TECHDOCS_MAX_TOTAL_BYTES", "1.5e9", "TECHDOCS_MAX_TOTAL_BYTES must be a whole number, got '1.5e9'"),
    ("TECHDOCS_MAX_BUILD_SECONDS", "inf", "TECHDOCS_MAX_BUILD_SECONDS must be a finite number, got 'inf'"),
    ("TECHDOCS_GIT_TIMEOUT", "0", "TECHDOCS_GIT_TIMEOUT must be at least 1, got 0"),
    ("SCORECARDS_BATCH_SIZE", "0", "SCORECARDS_BATCH_SIZE must be at least 1, got 0"),
    ("SCORECARDS_EVALUATE_INTERVAL", "-60", "SCORECARDS_EVALUATE_INTERVAL must be at least 1, got -60"),
    ("SCORECARDS_DORA_WINDOW_DAYS", "3", "SCORECARDS_DORA_WINDOW_DAYS must be at least 7, got 3"),
    ("DORA_PERFORMANCE_TABLE", "2020", "DORA_PERFORMANCE_TABLE must be one of 2023, 2022, 2021, got '2020'"),
    ("DORA_MAX_EVENTS_PER_REQUEST", "many", "DORA_MAX_EVENTS_PER_REQUEST must be a whole number, got 'many'"),
]


@pytest.mark.parametrize("name, value, message", MALFORMED, ids=[f"{name}={value}" for name, value, _ in MALFORMED])
def test_a_malformed_value_is_refused_naming_the_variable(monkeypatch, name, value, message):
    with pytest.raises(ImproperlyConfigured) as refused:
        load_settings(monkeypatch, **{name: value})
    assert str(refused.value).startswith(message)


def test_the_portal_does_not_start_with_a_malformed_value():
    result = run_manage("check", DORA_PERFORMANCE_TABLE="2020")
    assert result.returncode != 0
    assert "DORA_PERFORMANCE_TABLE must be one of 2023, 2022, 2021, got '2020'" in result.stderr


def test_a_malformed_interval_is_refused_before_the_schedule_reads_it():
    result = run_manage("check", SCORECARDS_EVALUATE_INTERVAL="hourly")
    assert result.returncode != 0
    assert "SCORECARDS_EVALUATE_INTERVAL must be a number, got 'hourly'" in result.stderr


SECRET = "ghp_n0t-for-the-logs"


@pytest.mark.parametrize("hosts", [
    '{"github.com": {"token": "' + SECRET + '", }}',  # a trailing comma: not JSON
    '{"github.com": {"token": "' + SECRET + '", "remote_bsae": "https://github.com"}}',
    '{"github.com": "' + SECRET + '"}',
], ids=["not JSON", "unknown key", "not an object"])
def test_a_refused_host_map_is_not_quoted_in_the_message(monkeypatch, hosts):
    with pytest.raises(ImproperlyConfigured) as refused:
        load_settings(monkeypatch, SCAFFOLDER_GIT_HOSTS=hosts)
    assert str(refused.value).startswith("SCAFFOLDER_GIT_HOSTS")
    assert SECRET not in str(refused.value)


def test_tokens_are_masked_in_error_reports(monkeypatch):
    loaded = load_settings(
        monkeypatch,
        PROVISIONING_GITOPS_TOKEN=SECRET,
        SCAFFOLDER_GIT_HOSTS=json.dumps({"github.com": {"remote_base": "https://github.com", "token": SECRET}}),
    )
    report_filter = SafeExceptionReporterFilter()
    for name in ("PROVISIONING_GITOPS_TOKEN", "SCAFFOLDER_GIT_HOSTS"):
        assert SECRET in json.dumps(loaded[name])
        assert SECRET not in json.dumps(report_filter.cleanse_setting(name, loaded[name]))
