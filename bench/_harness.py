"""Shared by the benchmarks: Django set-up, a throwaway database, and percentiles."""

import contextlib
import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def setup_django() -> None:
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings")
    import django

    django.setup()


@contextlib.contextmanager
def throwaway_database():
    """A fresh test database for one benchmark run, removed afterwards; never the real one."""
    from django.db import connection
    from django.test.utils import setup_test_environment

    setup_test_environment()
    if connection.vendor == "postgresql":  # a name of its own: never collide with a test run
        test = connection.settings_dict.setdefault("TEST", {})
        test["NAME"] = f"bench_{connection.settings_dict['NAME']}_{os.getpid()}"
    old_name = connection.creation.create_test_db(verbosity=0, autoclobber=True)
    try:
        yield connection
    finally:
        connection.creation.destroy_test_db(old_name, verbosity=0)


def percentile(samples: list[float], fraction: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(round(fraction * (len(ordered) - 1))))]
