from celery import shared_task
from django.db import connection


@shared_task(name="portal.ping")
def ping(value: str) -> dict:
    """Answer with what was sent and where it ran: used by /readyz-style checks and tests."""
    import os

    return {"echo": value, "pid": os.getpid(), "database": connection.vendor}
