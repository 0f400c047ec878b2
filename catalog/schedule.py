"""Periodic tasks of the catalog, merged into CELERY_BEAT_SCHEDULE by portal/settings.py."""

import os

BEAT_SCHEDULE = {
    "catalog-refresh-all": {
        "task": "catalog.refresh_all_locations",
        "schedule": float(os.environ.get("CATALOG_REFRESH_INTERVAL") or 300),
    },
}
