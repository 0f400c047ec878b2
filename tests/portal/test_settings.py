"""Settings come from the environment; bad or missing values stop the portal at start-up."""

import os
import subprocess
import sys

from tests.conftest import REPO_ROOT

STRONG_KEY = "k3y-" + "AbCdEfGhIjKlMnOpQrStUvWxYz0123456789_-aBcDeFgHiJkLmNoP"


def run_manage(*args, **env_overrides):
    ignored = ("DEBUG", "SECRET_KEY", "ALLOWED_HOSTS", "DJANGO_ALLOW_ASYNC")
    env = {k: v for k, v in os.environ.items() if not k.startswith(ignored)}
    env.update(env_overrides)
    return subprocess.run(
        [sys.executable, "manage.py", *args], cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=120
    )


def test_it_refuses_to_start_without_a_secret_key_when_debug_is_off():
    result = run_manage("check", DEBUG="false")
    assert result.returncode != 0
    assert "SECRET_KEY must be set when DEBUG is off" in result.stderr


def test_it_rejects_a_malformed_boolean():
    result = run_manage("check", DEBUG="maybe")
    assert result.returncode != 0
    assert "DEBUG must be true or false, got 'maybe'" in result.stderr


def test_it_rejects_a_malformed_number():
    result = run_manage("check", DATABASE_CONN_MAX_AGE="soon")
    assert result.returncode != 0
    assert "DATABASE_CONN_MAX_AGE must be a whole number" in result.stderr


def test_deploy_checks_are_clean_in_production_mode():
    result = run_manage(
        "check", "--deploy", "--fail-level", "WARNING",
        DEBUG="false", SECRET_KEY=STRONG_KEY, ALLOWED_HOSTS="portal.example.com",
    )
    assert result.returncode == 0, result.stderr + result.stdout
    assert "no issues" in result.stdout


def test_local_defaults_need_no_environment():
    result = run_manage("check")
    assert result.returncode == 0, result.stderr
