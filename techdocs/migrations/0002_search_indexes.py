"""Full-text search of doc pages on PostgreSQL only (SQLite searches plainly).

A stored generated column holds each page's words, the title weighted above the headings and the
headings above the text, with a GIN index on it; techdocs.search filters and ranks on that column.
The ORM does not know the column: PostgreSQL fills it on every insert.
"""

from django.db import migrations

POSTGRES_FORWARD = [
    "ALTER TABLE techdocs_docpage ADD COLUMN IF NOT EXISTS search_document tsvector GENERATED ALWAYS AS ("
    "setweight(to_tsvector('simple'::regconfig, title), 'A') || "
    "setweight(to_tsvector('simple'::regconfig, left(heading_text, 50000)), 'B') || "
    "to_tsvector('simple'::regconfig, left(text, 200000))) STORED",
    "CREATE INDEX IF NOT EXISTS techdocs_docpage_search_fts ON techdocs_docpage USING GIN (search_document)",
]
POSTGRES_BACKWARD = [
    "DROP INDEX IF EXISTS techdocs_docpage_search_fts",
    "ALTER TABLE techdocs_docpage DROP COLUMN IF EXISTS search_document",
]


def _run(statements):
    def apply(apps, schema_editor):
        if schema_editor.connection.vendor != "postgresql":
            return
        for statement in statements:
            schema_editor.execute(statement)

    return apply


class Migration(migrations.Migration):
    dependencies = [("techdocs", "0001_initial")]
    operations = [migrations.RunPython(_run(POSTGRES_FORWARD), _run(POSTGRES_BACKWARD))]
