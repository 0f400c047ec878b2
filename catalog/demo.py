"""Demo data for the catalog: register the fictional company shipped in catalog/demo_catalog/."""

from pathlib import Path

from .ingest import refresh_location
from .models import Location

DEMO_CATALOG = Path(__file__).resolve().parent / "demo_catalog" / "catalog-info.yaml"


def load(out) -> None:
    if not DEMO_CATALOG.exists():
        out.write("No demo catalog shipped; skipping.")
        return
    location, _ = Location.objects.get_or_create(type=Location.Type.FILE, target=str(DEMO_CATALOG))
    report = refresh_location(location, force=True)
    out.write(f"Demo catalog at {DEMO_CATALOG.parent}: {report.summary()}")
