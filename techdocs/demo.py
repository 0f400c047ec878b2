"""Demo data for TechDocs: the portal's own docs (catalog-info.yaml and mkdocs.yml at the repository's top)
registered as the Component ``causeway``, then the docs of every documented entity built."""

from pathlib import Path

from django.conf import settings

from catalog.ingest import LocationNotAllowed, check_target_allowed, refresh_location
from catalog.models import Location

from .publish import build_entity_docs, documented_entities

PORTAL_CATALOG_FILE = Path(settings.BASE_DIR) / "catalog-info.yaml"


def load(out) -> None:
    if PORTAL_CATALOG_FILE.exists():
        try:
            check_target_allowed(Location.Type.FILE, str(PORTAL_CATALOG_FILE))
        except LocationNotAllowed:
            out.write(
                f"The portal's own docs are not registered: add {PORTAL_CATALOG_FILE} to CAUSEWAY_FILE_ROOTS"
                " to show them."
            )
        else:
            location, _ = Location.objects.get_or_create(type=Location.Type.FILE, target=str(PORTAL_CATALOG_FILE))
            report = refresh_location(location)
            out.write(f"The portal's own catalog entry: {report.summary()}")
    entities = list(documented_entities().filter(orphan=False).select_related("location").order_by("ref"))
    if not entities:
        out.write("No entity has a backstage.io/techdocs-ref annotation; no docs to build.")
    for entity in entities:
        outcome = build_entity_docs(entity)
        out.write(f"Docs of {entity.ref}: {outcome.status}. {outcome.message}")
