"""Database guards that keep a draw unsteerable (docs/draw-proof.md, docs/fairness.md).

- The book closes by time: a ticket entry whose ``effective_at`` is after its period's ``ends_at``
  is refused, whatever the period's status (on top of 0002's "period must be open").
- A period's commitment is write-once: seed, seed hash, algorithm version, rules, community and
  commit time never change; the status only moves forward (open → frozen → drawn); once the period
  is not open its dates, committed round, month and snapshot are fixed; the fallback round and
  the beacon can be set once.
- Periods of one community never overlap in time (insert or date change).
- Ledger entries, balances and winners cannot be deleted while their period exists; a winner row
  cannot change except voiding it once (with a reason) or blanking its name (privacy).
Each refusal is an integrity error (Postgres SQLSTATE 23514, SQLite constraint) = IntegrityError.
A whole period may still be deleted (row first, then its children, one transaction): that removes
its public proof page, which viewers notice; SQLite's test flush deletes tables in that order.
"""

from django.db import migrations

# Columns that never change after the period row is created.
_FIXED = ["community_id", "server_seed", "server_seed_hash", "algorithm_version", "rules", "committed_at"]
# Columns fixed once the period is no longer open (the freeze writes them with the status).
_FIXED_AFTER_OPEN = [
    "starts_at",
    "ends_at",
    "month",
    "drand_round",
    "snapshot_hash",
    "entrants_count",
    "total_tickets",
    "frozen_at",
]
_BEACON = ["beacon_round", "beacon_signature", "beacon_randomness", "beacon_source", "drawn_at"]


def _changed(cols: list[str], distinct: str) -> str:
    return " OR ".join(f"NEW.{c} {distinct} OLD.{c}" for c in cols)


_PG_RANK = "CASE {0}.status WHEN 'open' THEN 0 WHEN 'frozen' THEN 1 WHEN 'drawn' THEN 2 ELSE 3 END"

PG_FORWARD = [
    """
    CREATE OR REPLACE FUNCTION raffle_ticketentry_guard() RETURNS trigger AS $$
    DECLARE p record;
    BEGIN
      SELECT status, ends_at INTO p FROM raffle_raffleperiod WHERE id = NEW.period_id;
      IF p.status IS DISTINCT FROM 'open' THEN
        RAISE EXCEPTION 'raffle period % is not open', NEW.period_id USING ERRCODE = 'check_violation';
      END IF;
      IF NEW.effective_at > p.ends_at THEN
        RAISE EXCEPTION 'raffle period % closed at %', NEW.period_id, p.ends_at
          USING ERRCODE = 'check_violation';
      END IF;
      RETURN NEW;
    END $$ LANGUAGE plpgsql
    """,
    "DROP TRIGGER IF EXISTS raffle_ticketentry_open ON raffle_ticketentry",
    "CREATE TRIGGER raffle_ticketentry_open BEFORE INSERT ON raffle_ticketentry "
    "FOR EACH ROW EXECUTE FUNCTION raffle_ticketentry_guard()",
    f"""
    CREATE OR REPLACE FUNCTION raffle_period_guard() RETURNS trigger AS $$
    BEGIN
      IF {_changed(_FIXED, "IS DISTINCT FROM")} THEN
        RAISE EXCEPTION 'raffle period %: the commitment is write-once', OLD.id USING ERRCODE = 'check_violation';
      END IF;
      IF ({_PG_RANK.format("NEW")}) < ({_PG_RANK.format("OLD")}) THEN
        RAISE EXCEPTION 'raffle period %: status % cannot go back to %', OLD.id, OLD.status, NEW.status
          USING ERRCODE = 'check_violation';
      END IF;
      IF OLD.status <> 'open' AND ({_changed(_FIXED_AFTER_OPEN, "IS DISTINCT FROM")}) THEN
        RAISE EXCEPTION 'raffle period %: closed, its dates, round and snapshot are fixed', OLD.id
          USING ERRCODE = 'check_violation';
      END IF;
      IF OLD.fallback_round IS NOT NULL AND (NEW.fallback_round IS DISTINCT FROM OLD.fallback_round
          OR NEW.fallback_chosen_at IS DISTINCT FROM OLD.fallback_chosen_at) THEN
        RAISE EXCEPTION 'raffle period %: the fallback round is write-once', OLD.id USING ERRCODE = 'check_violation';
      END IF;
      IF OLD.beacon_randomness <> '' AND ({_changed(_BEACON, "IS DISTINCT FROM")}) THEN
        RAISE EXCEPTION 'raffle period %: the beacon is write-once', OLD.id USING ERRCODE = 'check_violation';
      END IF;
      RETURN NEW;
    END $$ LANGUAGE plpgsql
    """,
    "CREATE TRIGGER raffle_period_guard BEFORE UPDATE ON raffle_raffleperiod "
    "FOR EACH ROW EXECUTE FUNCTION raffle_period_guard()",
    """
    CREATE OR REPLACE FUNCTION raffle_period_no_overlap() RETURNS trigger AS $$
    BEGIN
      IF EXISTS (SELECT 1 FROM raffle_raffleperiod p WHERE p.community_id = NEW.community_id
                 AND p.id <> NEW.id AND p.starts_at < NEW.ends_at AND p.ends_at > NEW.starts_at) THEN
        RAISE EXCEPTION 'raffle periods of community % would overlap', NEW.community_id
          USING ERRCODE = 'check_violation';
      END IF;
      RETURN NEW;
    END $$ LANGUAGE plpgsql
    """,
    "CREATE TRIGGER raffle_period_no_overlap BEFORE INSERT OR UPDATE OF starts_at, ends_at "
    "ON raffle_raffleperiod FOR EACH ROW EXECUTE FUNCTION raffle_period_no_overlap()",
    """
    CREATE OR REPLACE FUNCTION raffle_no_delete() RETURNS trigger AS $$
    BEGIN
      IF EXISTS (SELECT 1 FROM raffle_raffleperiod WHERE id = OLD.period_id) THEN
        RAISE EXCEPTION '% rows of raffle period % cannot be deleted', TG_TABLE_NAME, OLD.period_id
          USING ERRCODE = 'check_violation';
      END IF;
      RETURN OLD;
    END $$ LANGUAGE plpgsql
    """,
    "CREATE TRIGGER raffle_ticketentry_no_delete BEFORE DELETE ON raffle_ticketentry "
    "FOR EACH ROW EXECUTE FUNCTION raffle_no_delete()",
    "CREATE TRIGGER raffle_ticketbalance_no_delete BEFORE DELETE ON raffle_ticketbalance "
    "FOR EACH ROW EXECUTE FUNCTION raffle_no_delete()",
    "CREATE TRIGGER raffle_rafflewinner_no_delete BEFORE DELETE ON raffle_rafflewinner "
    "FOR EACH ROW EXECUTE FUNCTION raffle_no_delete()",
    """
    CREATE OR REPLACE FUNCTION raffle_winner_guard() RETURNS trigger AS $$
    BEGIN
      IF NEW.period_id IS DISTINCT FROM OLD.period_id OR NEW.k IS DISTINCT FROM OLD.k
         OR NEW.kick_user_id IS DISTINCT FROM OLD.kick_user_id OR NEW.ticket IS DISTINCT FROM OLD.ticket
         OR NEW.total IS DISTINCT FROM OLD.total OR NEW.tickets IS DISTINCT FROM OLD.tickets
         OR (NEW.username IS DISTINCT FROM OLD.username AND NEW.username <> '')
         OR (NEW.void_reason IS DISTINCT FROM OLD.void_reason AND OLD.void_reason <> '') THEN
        RAISE EXCEPTION 'raffle winner % is fixed once drawn', OLD.id USING ERRCODE = 'check_violation';
      END IF;
      RETURN NEW;
    END $$ LANGUAGE plpgsql
    """,
    "CREATE TRIGGER raffle_rafflewinner_fixed BEFORE UPDATE ON raffle_rafflewinner "
    "FOR EACH ROW EXECUTE FUNCTION raffle_winner_guard()",
]
PG_BACKWARD = [
    "DROP TRIGGER IF EXISTS raffle_rafflewinner_fixed ON raffle_rafflewinner",
    "DROP FUNCTION IF EXISTS raffle_winner_guard()",
    "DROP TRIGGER IF EXISTS raffle_rafflewinner_no_delete ON raffle_rafflewinner",
    "DROP TRIGGER IF EXISTS raffle_ticketbalance_no_delete ON raffle_ticketbalance",
    "DROP TRIGGER IF EXISTS raffle_ticketentry_no_delete ON raffle_ticketentry",
    "DROP FUNCTION IF EXISTS raffle_no_delete()",
    "DROP TRIGGER IF EXISTS raffle_period_no_overlap ON raffle_raffleperiod",
    "DROP FUNCTION IF EXISTS raffle_period_no_overlap()",
    "DROP TRIGGER IF EXISTS raffle_period_guard ON raffle_raffleperiod",
    "DROP FUNCTION IF EXISTS raffle_period_guard()",
    "DROP TRIGGER IF EXISTS raffle_ticketentry_open ON raffle_ticketentry",
    "CREATE TRIGGER raffle_ticketentry_open BEFORE INSERT ON raffle_ticketentry "
    "FOR EACH ROW EXECUTE FUNCTION raffle_guard_open_period()",
    "DROP FUNCTION IF EXISTS raffle_ticketentry_guard()",
]

_SQ_RANK = "(CASE {0}.status WHEN 'open' THEN 0 WHEN 'frozen' THEN 1 WHEN 'drawn' THEN 2 ELSE 3 END)"
_SQ_OVERLAP = (
    "WHEN EXISTS (SELECT 1 FROM raffle_raffleperiod p WHERE p.community_id = NEW.community_id "
    "AND p.id IS NOT NEW.id AND julianday(p.starts_at) < julianday(NEW.ends_at) "
    "AND julianday(p.ends_at) > julianday(NEW.starts_at))"
)
_SQ_PERIOD_EXISTS = "WHEN EXISTS (SELECT 1 FROM raffle_raffleperiod WHERE id = OLD.period_id)"
_SQ_NOT_OPEN = "WHEN (SELECT status FROM raffle_raffleperiod WHERE id = NEW.period_id) IS NOT 'open'"
SQLITE_FORWARD = [
    # 0003 dropped 0002's triggers (SQLite rebuilds altered tables by copying them): again here.
    f"CREATE TRIGGER IF NOT EXISTS raffle_ticketentry_open BEFORE INSERT ON raffle_ticketentry {_SQ_NOT_OPEN} "
    "BEGIN SELECT RAISE(ABORT, 'raffle period is not open'); END",
    "CREATE TRIGGER IF NOT EXISTS raffle_ticketentry_no_update BEFORE UPDATE ON raffle_ticketentry "
    "BEGIN SELECT RAISE(ABORT, 'ticket entries are append-only'); END",
    f"CREATE TRIGGER IF NOT EXISTS raffle_ticketbalance_open_ins BEFORE INSERT ON raffle_ticketbalance "
    f"{_SQ_NOT_OPEN} BEGIN SELECT RAISE(ABORT, 'raffle period is not open'); END",
    f"CREATE TRIGGER IF NOT EXISTS raffle_ticketbalance_open_upd BEFORE UPDATE ON raffle_ticketbalance "
    f"{_SQ_NOT_OPEN} BEGIN SELECT RAISE(ABORT, 'raffle period is not open'); END",
    "CREATE TRIGGER raffle_ticketentry_closed BEFORE INSERT ON raffle_ticketentry "
    "WHEN julianday(NEW.effective_at) > "
    "(SELECT julianday(ends_at) FROM raffle_raffleperiod WHERE id = NEW.period_id) "
    "BEGIN SELECT RAISE(ABORT, 'raffle period closed: entry after its end'); END",
    "CREATE TRIGGER raffle_period_fixed BEFORE UPDATE ON raffle_raffleperiod "
    f"WHEN {_changed(_FIXED, 'IS NOT')} "
    "BEGIN SELECT RAISE(ABORT, 'raffle period: the commitment is write-once'); END",
    "CREATE TRIGGER raffle_period_forward BEFORE UPDATE ON raffle_raffleperiod "
    f"WHEN {_SQ_RANK.format('NEW')} < {_SQ_RANK.format('OLD')} "
    "BEGIN SELECT RAISE(ABORT, 'raffle period: the status only moves forward'); END",
    "CREATE TRIGGER raffle_period_closed BEFORE UPDATE ON raffle_raffleperiod "
    f"WHEN OLD.status <> 'open' AND ({_changed(_FIXED_AFTER_OPEN, 'IS NOT')}) "
    "BEGIN SELECT RAISE(ABORT, 'raffle period: closed, its dates, round and snapshot are fixed'); END",
    "CREATE TRIGGER raffle_period_fallback_once BEFORE UPDATE ON raffle_raffleperiod "
    "WHEN OLD.fallback_round IS NOT NULL AND (NEW.fallback_round IS NOT OLD.fallback_round "
    "OR NEW.fallback_chosen_at IS NOT OLD.fallback_chosen_at) "
    "BEGIN SELECT RAISE(ABORT, 'raffle period: the fallback round is write-once'); END",
    "CREATE TRIGGER raffle_period_beacon_once BEFORE UPDATE ON raffle_raffleperiod "
    f"WHEN OLD.beacon_randomness <> '' AND ({_changed(_BEACON, 'IS NOT')}) "
    "BEGIN SELECT RAISE(ABORT, 'raffle period: the beacon is write-once'); END",
    f"CREATE TRIGGER raffle_period_no_overlap_ins BEFORE INSERT ON raffle_raffleperiod {_SQ_OVERLAP} "
    "BEGIN SELECT RAISE(ABORT, 'raffle periods of one community would overlap'); END",
    f"CREATE TRIGGER raffle_period_no_overlap_upd BEFORE UPDATE OF starts_at, ends_at ON raffle_raffleperiod "
    f"{_SQ_OVERLAP} BEGIN SELECT RAISE(ABORT, 'raffle periods of one community would overlap'); END",
    f"CREATE TRIGGER raffle_ticketentry_no_delete BEFORE DELETE ON raffle_ticketentry {_SQ_PERIOD_EXISTS} "
    "BEGIN SELECT RAISE(ABORT, 'ticket entries cannot be deleted'); END",
    f"CREATE TRIGGER raffle_ticketbalance_no_delete BEFORE DELETE ON raffle_ticketbalance {_SQ_PERIOD_EXISTS} "
    "BEGIN SELECT RAISE(ABORT, 'ticket balances cannot be deleted'); END",
    f"CREATE TRIGGER raffle_rafflewinner_no_delete BEFORE DELETE ON raffle_rafflewinner {_SQ_PERIOD_EXISTS} "
    "BEGIN SELECT RAISE(ABORT, 'raffle winners cannot be deleted'); END",
    "CREATE TRIGGER raffle_rafflewinner_fixed BEFORE UPDATE ON raffle_rafflewinner "
    "WHEN NEW.period_id IS NOT OLD.period_id OR NEW.k IS NOT OLD.k OR NEW.kick_user_id IS NOT OLD.kick_user_id "
    "OR NEW.ticket IS NOT OLD.ticket OR NEW.total IS NOT OLD.total OR NEW.tickets IS NOT OLD.tickets "
    "OR (NEW.username IS NOT OLD.username AND NEW.username <> '') "
    "OR (NEW.void_reason IS NOT OLD.void_reason AND OLD.void_reason <> '') "
    "BEGIN SELECT RAISE(ABORT, 'raffle winners are fixed once drawn'); END",
]
SQLITE_BACKWARD = [
    f"DROP TRIGGER IF EXISTS {name}"
    for name in (
        "raffle_rafflewinner_fixed",
        "raffle_rafflewinner_no_delete",
        "raffle_ticketbalance_no_delete",
        "raffle_ticketentry_no_delete",
        "raffle_period_no_overlap_upd",
        "raffle_period_no_overlap_ins",
        "raffle_period_beacon_once",
        "raffle_period_fallback_once",
        "raffle_period_closed",
        "raffle_period_forward",
        "raffle_period_fixed",
        "raffle_ticketentry_closed",
    )
]


def _run(apps, schema_editor, statements_by_vendor):  # type: ignore[no-untyped-def]
    statements = statements_by_vendor.get(schema_editor.connection.vendor)
    if statements is None:
        raise RuntimeError(f"no raffle guards for database {schema_editor.connection.vendor}")
    for sql in statements:
        schema_editor.execute(sql, None)  # None: no placeholder parsing (the SQL holds a literal %)


def forward(apps, schema_editor):  # type: ignore[no-untyped-def]
    _run(apps, schema_editor, {"postgresql": PG_FORWARD, "sqlite": SQLITE_FORWARD})


def backward(apps, schema_editor):  # type: ignore[no-untyped-def]
    _run(apps, schema_editor, {"postgresql": PG_BACKWARD, "sqlite": SQLITE_BACKWARD})


class Migration(migrations.Migration):
    dependencies = [("raffle", "0003_commit_after_close")]

    operations = [migrations.RunPython(forward, backward)]
