"""Trigram indexes without GIN's pending list (Postgres only).

With ``fastupdate`` on, rows from a catalogue import wait in the index's pending list, which
every search scans linearly until a vacuum: measured 10 ms → 20 ms per match at 10,000 slots.
Imports are rare and searches are on every ``!sr``, so inserts pay instead.
"""

from django.db import migrations

INDEXES = ("slot_name_norm_trgm", "slot_aliases_norm_trgm")


def forwards(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for name in INDEXES:
        schema_editor.execute(f"ALTER INDEX {name} SET (fastupdate = off)")
        schema_editor.execute(f"SELECT gin_clean_pending_list('{name}'::regclass)")


def backwards(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for name in INDEXES:
        schema_editor.execute(f"ALTER INDEX {name} RESET (fastupdate)")


class Migration(migrations.Migration):
    dependencies = [("slots", "0002_trigram_indexes")]

    operations = [migrations.RunPython(forwards, backwards)]
