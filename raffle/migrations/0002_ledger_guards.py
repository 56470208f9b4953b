"""Database guards for the ledger (see raffle/models.py for why triggers and not a CheckConstraint).

- No ticket entry and no balance change for a period that is not open.
- Ticket entries are append-only: an UPDATE is refused (corrections are new entries).
Both raise an integrity error (Postgres SQLSTATE 23514, SQLite constraint), i.e. IntegrityError.
"""

from django.db import migrations

PG_FORWARD = [
    """
    CREATE OR REPLACE FUNCTION raffle_guard_open_period() RETURNS trigger AS $$
    BEGIN
      IF (SELECT status FROM raffle_raffleperiod WHERE id = NEW.period_id) IS DISTINCT FROM 'open' THEN
        RAISE EXCEPTION 'raffle period % is not open', NEW.period_id USING ERRCODE = 'check_violation';
      END IF;
      RETURN NEW;
    END $$ LANGUAGE plpgsql
    """,
    """
    CREATE OR REPLACE FUNCTION raffle_ticketentry_append_only() RETURNS trigger AS $$
    BEGIN
      RAISE EXCEPTION 'ticket entries are append-only' USING ERRCODE = 'check_violation';
    END $$ LANGUAGE plpgsql
    """,
    "CREATE TRIGGER raffle_ticketentry_open BEFORE INSERT ON raffle_ticketentry "
    "FOR EACH ROW EXECUTE FUNCTION raffle_guard_open_period()",
    "CREATE TRIGGER raffle_ticketentry_no_update BEFORE UPDATE ON raffle_ticketentry "
    "FOR EACH ROW EXECUTE FUNCTION raffle_ticketentry_append_only()",
    "CREATE TRIGGER raffle_ticketbalance_open BEFORE INSERT OR UPDATE ON raffle_ticketbalance "
    "FOR EACH ROW EXECUTE FUNCTION raffle_guard_open_period()",
]
PG_BACKWARD = [
    "DROP TRIGGER IF EXISTS raffle_ticketbalance_open ON raffle_ticketbalance",
    "DROP TRIGGER IF EXISTS raffle_ticketentry_no_update ON raffle_ticketentry",
    "DROP TRIGGER IF EXISTS raffle_ticketentry_open ON raffle_ticketentry",
    "DROP FUNCTION IF EXISTS raffle_ticketentry_append_only()",
    "DROP FUNCTION IF EXISTS raffle_guard_open_period()",
]

_SQLITE_NOT_OPEN = "WHEN (SELECT status FROM raffle_raffleperiod WHERE id = NEW.period_id) IS NOT 'open'"
SQLITE_FORWARD = [
    f"CREATE TRIGGER raffle_ticketentry_open BEFORE INSERT ON raffle_ticketentry {_SQLITE_NOT_OPEN} "
    "BEGIN SELECT RAISE(ABORT, 'raffle period is not open'); END",
    "CREATE TRIGGER raffle_ticketentry_no_update BEFORE UPDATE ON raffle_ticketentry "
    "BEGIN SELECT RAISE(ABORT, 'ticket entries are append-only'); END",
    f"CREATE TRIGGER raffle_ticketbalance_open_ins BEFORE INSERT ON raffle_ticketbalance {_SQLITE_NOT_OPEN} "
    "BEGIN SELECT RAISE(ABORT, 'raffle period is not open'); END",
    f"CREATE TRIGGER raffle_ticketbalance_open_upd BEFORE UPDATE ON raffle_ticketbalance {_SQLITE_NOT_OPEN} "
    "BEGIN SELECT RAISE(ABORT, 'raffle period is not open'); END",
]
SQLITE_BACKWARD = [
    "DROP TRIGGER IF EXISTS raffle_ticketbalance_open_upd",
    "DROP TRIGGER IF EXISTS raffle_ticketbalance_open_ins",
    "DROP TRIGGER IF EXISTS raffle_ticketentry_no_update",
    "DROP TRIGGER IF EXISTS raffle_ticketentry_open",
]


def _run(apps, schema_editor, statements_by_vendor):  # type: ignore[no-untyped-def]
    statements = statements_by_vendor.get(schema_editor.connection.vendor)
    if statements is None:
        raise RuntimeError(f"no ledger guards for database {schema_editor.connection.vendor}")
    for sql in statements:
        schema_editor.execute(sql, None)  # None: no placeholder parsing (the SQL holds a literal %)


def forward(apps, schema_editor):  # type: ignore[no-untyped-def]
    _run(apps, schema_editor, {"postgresql": PG_FORWARD, "sqlite": SQLITE_FORWARD})


def backward(apps, schema_editor):  # type: ignore[no-untyped-def]
    _run(apps, schema_editor, {"postgresql": PG_BACKWARD, "sqlite": SQLITE_BACKWARD})


class Migration(migrations.Migration):
    dependencies = [("raffle", "0001_ticket_ledger")]

    operations = [migrations.RunPython(forward, backward)]
