"""Periodic tasks of TechDocs, merged into CELERY_BEAT_SCHEDULE by portal/settings.py."""

import os

BEAT_SCHEDULE = {
    "techdocs-rebuild-changed": {
        "task": "techdocs.rebuild_changed",
        "schedule": float(os.environ.get("TECHDOCS_REBUILD_INTERVAL") or 3600),
    },
}
