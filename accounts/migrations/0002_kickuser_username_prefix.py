"""A prefix-search index for Kick names on Postgres, whatever the database collation.

The dashboard's user search is ``lower(username) LIKE 'abc%'``. A plain btree on
``lower(username)`` serves that only under the C collation (this machine's); the official Postgres
images default to en_US.UTF-8, where only a ``text_pattern_ops`` index does. SQLite has no
operator classes (and its LIKE optimisation needs other conditions), so nothing changes there.
"""

from django.db import migrations

INDEX = "kickuser_username_prefix"


def create(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(
            f"CREATE INDEX IF NOT EXISTS {INDEX} ON accounts_kickuser (lower(username) text_pattern_ops)"
        )


def drop(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(f"DROP INDEX IF EXISTS {INDEX}")


class Migration(migrations.Migration):
    dependencies = [("accounts", "0001_link_models")]

    operations = [migrations.RunPython(create, drop)]
