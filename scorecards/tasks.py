"""Celery tasks for scorecards: thin wrappers around scorecards.evaluation, safe to run twice."""

from celery import shared_task

from . import evaluation


@shared_task(name="scorecards.evaluate_entities")
def evaluate_entities(refs: list[str]) -> dict:
    """Evaluate every scorecard over the given entities (after a catalog change)."""
    return evaluation.evaluate_refs(refs).as_dict()


@shared_task(name="scorecards.evaluate_all")
def evaluate_all() -> dict:
    """Evaluate every scorecard over the whole catalog, then record today's snapshot."""
    return evaluation.evaluate_all().as_dict()


@shared_task(name="scorecards.take_snapshots")
def take_snapshots() -> int:
    """Record today's level counts and pass rates (Celery beat, once a day)."""
    return evaluation.take_snapshots()


def on_entities_changed(sender, location=None, refs=(), **kwargs) -> None:
    """Receiver of catalog.ingest.entities_changed: evaluate the changed entities and apply policies."""
    refs = [ref for ref in refs or () if isinstance(ref, str)]
    if refs:
        evaluate_entities.delay(refs)
