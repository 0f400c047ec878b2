"""Full-text and trigram indexes for entity search, on PostgreSQL only (SQLite searches plainly)."""

from django.db import migrations

from catalog.dbutils import run_on_postgresql

POSTGRES_FORWARD = [
    "CREATE EXTENSION IF NOT EXISTS pg_trgm",
    "CREATE INDEX IF NOT EXISTS catalog_entity_search_fts ON catalog_entity "
    "USING GIN (to_tsvector('simple'::regconfig, search_text))",
    "CREATE INDEX IF NOT EXISTS catalog_entity_name_trgm ON catalog_entity USING GIN (name gin_trgm_ops)",
]
POSTGRES_BACKWARD = [
    "DROP INDEX IF EXISTS catalog_entity_name_trgm",
    "DROP INDEX IF EXISTS catalog_entity_search_fts",
]


class Migration(migrations.Migration):
    dependencies = [("catalog", "0001_initial")]
    operations = [migrations.RunPython(run_on_postgresql(POSTGRES_FORWARD), run_on_postgresql(POSTGRES_BACKWARD))]
