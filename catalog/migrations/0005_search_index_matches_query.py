"""The full-text index must use the very expression the search query uses (Django wraps the
column in COALESCE), or PostgreSQL cannot use it."""

from django.db import migrations

from catalog.dbutils import run_on_postgresql

FORWARD = [
    "DROP INDEX IF EXISTS catalog_entity_search_fts",
    "CREATE INDEX IF NOT EXISTS catalog_entity_search_fts ON catalog_entity "
    "USING GIN (to_tsvector('simple'::regconfig, COALESCE(search_text, '')))",
]
BACKWARD = [
    "DROP INDEX IF EXISTS catalog_entity_search_fts",
    "CREATE INDEX IF NOT EXISTS catalog_entity_search_fts ON catalog_entity "
    "USING GIN (to_tsvector('simple'::regconfig, search_text))",
]


class Migration(migrations.Migration):
    dependencies = [("catalog", "0004_catalog_state")]
    operations = [migrations.RunPython(run_on_postgresql(FORWARD), run_on_postgresql(BACKWARD))]
