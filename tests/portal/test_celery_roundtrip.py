"""A real round trip: a task sent through Redis, run by a worker process this test starts."""

import os
import subprocess
import sys
import uuid

import pytest
from celery import Celery

from tests.conftest import REPO_ROOT

REDIS_URL = os.environ.get("CAUSEWAY_TEST_REDIS_URL", "redis://127.0.0.1:6379/15")


@pytest.fixture
def redis_url():
    import redis

    try:
        redis.Redis.from_url(REDIS_URL, socket_connect_timeout=1).ping()
    except Exception as exc:
        pytest.skip(f"no Redis reachable at {REDIS_URL} ({exc}); CI starts one")
    return REDIS_URL


@pytest.fixture
def worker(redis_url):
    queue = f"test-{uuid.uuid4().hex[:8]}"
    env = dict(os.environ, CELERY_BROKER_URL=redis_url, CELERY_RESULT_BACKEND=redis_url)
    process = subprocess.Popen(
        [
            sys.executable, "-m", "celery", "-A", "portal", "worker", "--pool=solo", "-Q", queue,
            "--without-gossip", "--without-mingle", "--without-heartbeat", "--loglevel=WARNING",
        ],
        cwd=REPO_ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )
    yield queue
    process.terminate()
    try:
        process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        process.kill()


def test_a_task_round_trips_through_redis_to_a_real_worker(redis_url, worker):
    client = Celery("causeway-test-client", broker=redis_url, backend=redis_url)
    result = client.send_task("portal.ping", args=["hello"], queue=worker)
    answer = result.get(timeout=60)
    assert answer["echo"] == "hello"
    assert answer["pid"] != os.getpid()  # it really ran in the worker process
