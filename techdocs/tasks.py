"""Celery tasks for TechDocs: thin wrappers around techdocs.publish, safe to run twice."""

from celery import shared_task

from catalog.models import Entity

from .publish import build_entity_docs, documented_entities


@shared_task(name="techdocs.build_entity")
def build_entity(ref: str, force: bool = False) -> dict:
    """Build one entity's docs; unless ``force``, skip when the source's content hash is unchanged."""
    entity = Entity.objects.select_related("location").filter(ref=ref.lower()).first()
    if entity is None:
        return {"ref": ref, "status": "missing", "message": f"No entity {ref} in the catalog."}
    return build_entity_docs(entity, force=force).as_dict()


@shared_task(name="techdocs.rebuild_changed")
def rebuild_changed() -> int:
    """Queue a rebuild-if-changed of every documented entity (Celery beat, TECHDOCS_REBUILD_INTERVAL)."""
    refs = list(documented_entities().filter(orphan=False).values_list("ref", flat=True))
    for ref in refs:
        build_entity.delay(ref)
    return len(refs)


def on_entities_changed(sender, location=None, refs=(), **kwargs) -> None:
    """Receiver of catalog.ingest.entities_changed: queue builds for the changed entities with docs."""
    from .publish import refs_to_build

    for ref in refs_to_build(list(refs or [])):
        build_entity.delay(ref)
