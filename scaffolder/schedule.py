"""Periodic tasks of the scaffolder, merged into CELERY_BEAT_SCHEDULE by portal/settings.py."""

import os

BEAT_SCHEDULE = {
    "scaffolder-fail-stale-tasks": {
        "task": "scaffolder.fail_stale_tasks",
        "schedule": float(os.environ.get("SCAFFOLDER_STALE_CHECK_SECONDS") or 60),
    },
}
