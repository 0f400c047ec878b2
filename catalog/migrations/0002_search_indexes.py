"""Full-text and trigram indexes for entity search, on PostgreSQL only (SQLite searches plainly)."""

from django.db import migrations

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


def _run(statements):
    def apply(apps, schema_editor):
        if schema_editor.connection.vendor != "postgresql":
            return
        for statement in statements:
            schema_editor.execute(statement)

    return apply


class Migration(migrations.Migration):
    dependencies = [("catalog", "0001_initial")]
    operations = [migrations.RunPython(_run(POSTGRES_FORWARD), _run(POSTGRES_BACKWARD))]
