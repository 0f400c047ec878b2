"""Periodic tasks of scorecards, merged into CELERY_BEAT_SCHEDULE by portal/settings.py."""

import os

BEAT_SCHEDULE = {
    "scorecards-evaluate-all": {
        "task": "scorecards.evaluate_all",
        "schedule": float(os.environ.get("SCORECARDS_EVALUATE_INTERVAL") or 3600),
    },
    "scorecards-daily-snapshot": {
        "task": "scorecards.take_snapshots",
        "schedule": 24 * 3600.0,
    },
}
