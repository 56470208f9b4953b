"""pg_trgm and GIN trigram indexes for slot matching, on Postgres only (SQLite matches in memory)."""

from django.contrib.postgres.operations import TrigramExtension
from django.db import migrations

INDEXES = (
    ("slot_name_norm_trgm", "name_norm"),
    ("slot_aliases_norm_trgm", "aliases_norm"),
)


class PostgresOnlyTrigramExtension(TrigramExtension):
    """``TrigramExtension`` skips other databases going forwards; this also skips them going back."""

    def database_backwards(self, app_label, schema_editor, from_state, to_state):
        if schema_editor.connection.vendor == "postgresql":
            super().database_backwards(app_label, schema_editor, from_state, to_state)


def create_indexes(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for name, column in INDEXES:
        schema_editor.execute(
            f"CREATE INDEX IF NOT EXISTS {name} ON slots_slot USING gin ({column} gin_trgm_ops)"
        )


def drop_indexes(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for name, _column in INDEXES:
        schema_editor.execute(f"DROP INDEX IF EXISTS {name}")


class Migration(migrations.Migration):
    dependencies = [("slots", "0001_slot_requests")]

    operations = [
        PostgresOnlyTrigramExtension(),
        migrations.RunPython(create_indexes, drop_indexes),
    ]
