"""Small database helpers shared by migrations and ingestion."""


def run_on_postgresql(statements: list[str]):
    """A RunPython function executing raw statements on PostgreSQL only (SQLite needs none of them)."""

    def apply(apps, schema_editor):
        if schema_editor.connection.vendor != "postgresql":
            return
        for statement in statements:
            schema_editor.execute(statement)

    return apply
