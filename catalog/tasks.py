"""Celery tasks for the catalog: thin wrappers around catalog.ingest, safe to run twice."""

from celery import shared_task

from .ingest import refresh_location
from .models import Location


@shared_task(name="catalog.refresh_location")
def refresh_location_task(location_id: str, force: bool = False) -> dict:
    location = Location.objects.filter(pk=location_id).first()
    if location is None:
        return {"status": "missing", "location": location_id}
    report = refresh_location(location, force=force)
    return {"status": report.status, "summary": report.summary()}


@shared_task(name="catalog.refresh_all_locations")
def refresh_all_locations() -> int:
    """Queue a refresh of every location (Celery beat runs this on CATALOG_REFRESH_INTERVAL)."""
    ids = list(Location.objects.values_list("pk", flat=True))
    for location_id in ids:
        refresh_location_task.delay(str(location_id))
    return len(ids)
