"""Shared test fixtures: named people and the Backstage fixture folder.

alice owns things, bob is a member of alice's team, charlie is a stranger, sam is staff.
"""

import os
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]
FIXTURES = Path(os.environ.get("CAUSEWAY_FIXTURES", REPO_ROOT.parent / "shared" / "fixtures" / "backstage"))


@pytest.fixture
def backstage_fixtures() -> Path:
    if not FIXTURES.is_dir():
        pytest.skip(f"Backstage fixtures not found at {FIXTURES} (set CAUSEWAY_FIXTURES to their folder)")
    return FIXTURES


@pytest.fixture(scope="session")
def django_db_modify_db_settings(django_db_modify_db_settings_parallel_suffix):
    """One PostgreSQL test database per test process, so runs on a shared server never collide."""
    from django.conf import settings

    database = settings.DATABASES["default"]
    if database["ENGINE"].endswith("postgresql"):
        database.setdefault("TEST", {})["NAME"] = f"test_{database['NAME']}_{os.getpid()}"


@pytest.fixture(autouse=True)
def _empty_cache():
    """Cached figures key on database state that every test rebuilds: start each test with none."""
    from django.conf import settings

    if not settings.configured:  # plain-Python tests run without Django (pytest -p no:django)
        yield
        return
    from django.core.cache import cache

    cache.clear()
    yield
    cache.clear()


PASSWORD = "correct-horse-battery-staple"


def _make_user(django_user_model, username, **extra):
    return django_user_model.objects.create_user(
        username=username, email=f"{username}@example.com", password=PASSWORD, **extra
    )


@pytest.fixture
def alice(db, django_user_model):
    return _make_user(django_user_model, "alice", first_name="Alice")


@pytest.fixture
def bob(db, django_user_model):
    return _make_user(django_user_model, "bob", first_name="Bob")


@pytest.fixture
def charlie(db, django_user_model):
    return _make_user(django_user_model, "charlie", first_name="Charlie")


@pytest.fixture
def sam(db, django_user_model):
    return _make_user(django_user_model, "sam", first_name="Sam", is_staff=True, is_superuser=True)


@pytest.fixture
def alice_client(client, alice):
    client.force_login(alice)
    return client


@pytest.fixture
def staff_client(client, sam):
    client.force_login(sam)
    return client
