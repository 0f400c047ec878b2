"""Scorecards and DORA settings, each optional, read in one place.

SCORECARDS_BATCH_SIZE              entities evaluated per batch (2000)
SCORECARDS_EVALUATE_INTERVAL       seconds between full evaluations (3600; read by scorecards/schedule.py)
SCORECARDS_DORA_WINDOW_DAYS        days of DORA events behind the figures checks see (30)
DORA_PRODUCTION_ENVIRONMENT        the environment whose successful deployments count ("production")
DORA_PERFORMANCE_TABLE             the DORA report year whose levels are shown ("2023"; also "2022", "2021")
DORA_MAX_EVENTS_PER_REQUEST        events one API request may carry (5000)
"""

from __future__ import annotations

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

from . import dora


def batch_size() -> int:
    return max(1, int(getattr(settings, "SCORECARDS_BATCH_SIZE", 2000)))


def dora_window_days() -> int:
    return max(7, int(getattr(settings, "SCORECARDS_DORA_WINDOW_DAYS", 30)))


def production_environment() -> str:
    return str(getattr(settings, "DORA_PRODUCTION_ENVIRONMENT", dora.PRODUCTION) or dora.PRODUCTION).strip().lower()


def performance_table() -> str:
    table = str(getattr(settings, "DORA_PERFORMANCE_TABLE", dora.DEFAULT_TABLE))
    if table not in dora.PERFORMANCE_TABLES:
        raise ImproperlyConfigured(
            f"DORA_PERFORMANCE_TABLE must be one of {', '.join(dora.PERFORMANCE_TABLES)}, got {table!r}"
        )
    return table


def max_events_per_request() -> int:
    return max(1, int(getattr(settings, "DORA_MAX_EVENTS_PER_REQUEST", 5000)))
