"""Leave room in each page of the totals tables so the per-minute upsert updates rows in place.

``minutes`` is not indexed, so Postgres can use HOT updates (no index writes) as long as the new
row version fits in the same page; 70 % fill leaves that room. SQLite has no such setting.
"""

from django.db import migrations

TABLES = ("watchtime_watchtotal", "watchtime_watchmonthly")


def set_fillfactor(apps, schema_editor, value=70):
    if schema_editor.connection.vendor != "postgresql":
        return
    for table in TABLES:
        schema_editor.execute(f"ALTER TABLE {table} SET (fillfactor = {int(value)})")


def reset_fillfactor(apps, schema_editor):
    set_fillfactor(apps, schema_editor, value=100)


class Migration(migrations.Migration):
    dependencies = [("watchtime", "0001_watchtime_tables")]

    operations = [migrations.RunPython(set_fillfactor, reset_fillfactor)]
