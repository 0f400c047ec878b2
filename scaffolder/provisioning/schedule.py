"""Periodic tasks of provisioning, merged into CELERY_BEAT_SCHEDULE by portal/settings.py."""

import os

BEAT_SCHEDULE = {
    "provisioning-expire-claims": {
        "task": "provisioning.expire_claims",
        "schedule": float(os.environ.get("PROVISIONING_EXPIRY_INTERVAL") or 900),
    },
}
