"""Celery tasks of provisioning: thin wrappers around actions.py, safe to run twice."""

from celery import shared_task

from .actions import expire_claims as _expire_claims


@shared_task(name="provisioning.expire_claims")
def expire_claims() -> dict:
    """Release claims whose TTL has passed (one commit each) and flag those expiring within a day."""
    return _expire_claims()
