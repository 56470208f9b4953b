"""Raffle draw end to end from the database: 1,000,000 entrants holding ~50,000,000 tickets.

Setup (not timed): a dedicated bench community with one open period; its ``TicketBalance`` rows are
inserted set-based (``generate_series`` on Postgres, a recursive CTE on SQLite), ids 8 digits,
1..99 tickets each (50 on average). Timed: the snapshot query (``ORDER BY kick_user_id`` through a
raw cursor, the index range scan the service uses), ``build_snapshot`` (validation, canonical
bytes, SHA-256, ranges) and ``draw_winners(..., 1)``, in turns with its limit
(``py_hash_bisect_s`` over the same rows, fetched once beforehand: the in-memory part alone;
``bench/paired.py``); the value is the median draw. Everything the bench made is deleted
afterwards (``raffle_periods_purge``: raw ``DELETE``s, period rows first).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from django.core.management import call_command
from django.db import connection

from bench import paired

SEED = "11c4e7c42ccc1eb2fa6a8575b796c303ed2f78b81524f59159a0571ed3e7d1f4"
BEACON = "fc1873a13f3545aeade8401532ef5519920652eee6b0d2b19ca12643b87b3587"
SLUG = "bench-raffle"


def _ensure_tables() -> None:
    from raffle.models import TicketBalance

    if TicketBalance._meta.db_table not in connection.introspection.table_names():
        call_command("migrate", verbosity=0)


def _cleanup() -> None:
    from kickbot.models import Community
    from raffle.services.periods import raffle_periods_purge

    for cid in Community.objects.filter(kick_channel_slug=SLUG).values_list("id", flat=True):
        # Period rows first, then 1M balances in one statement: the raffle guards refuse deleting
        # balances while their period exists (and the ORM cascade would load 1M rows).
        raffle_periods_purge(community_id=cid)
    Community.objects.filter(kick_channel_slug=SLUG).delete()


def _setup(n: int) -> int:
    from kickbot.models import Community
    from raffle.models import RafflePeriod, TicketBalance

    community = Community.objects.create(name="bench", kick_channel_slug=SLUG)
    period = RafflePeriod.objects.create(
        community=community,
        starts_at=datetime(2026, 11, 1, tzinfo=UTC),
        ends_at=datetime(2026, 12, 1, tzinfo=UTC),
        server_seed=SEED,
        server_seed_hash="",
        drand_round=1,
        committed_at=datetime(2026, 11, 1, tzinfo=UTC),
    )
    t = TicketBalance._meta.db_table
    # tickets = 1 + (i * 7919) % 99: 1..99, mean 50; ids strictly increasing, 8 digits.
    if connection.vendor == "postgresql":
        sql = (
            f"INSERT INTO {t} (period_id, kick_user_id, total, watchtime, gift, wager, admin) "
            "SELECT %s, 10000000 + i * 37, 1 + (i * 7919) %% 99, 1 + (i * 7919) %% 99, 0, 0, 0 "
            "FROM generate_series(0::bigint, %s - 1) AS i"
        )
    else:
        sql = (
            "WITH RECURSIVE s(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM s WHERE i + 1 < %s) "
            f"INSERT INTO {t} (period_id, kick_user_id, total, watchtime, gift, wager, admin) "
            "SELECT %s, 10000000 + i * 37, 1 + (i * 7919) %% 99, 1 + (i * 7919) %% 99, 0, 0, 0 FROM s"
        )
    with connection.cursor() as cur:
        cur.execute(sql, [period.pk, n] if connection.vendor == "postgresql" else [n, period.pk])
        if connection.vendor == "postgresql":
            cur.execute(f"ANALYZE {t}")
    return period.pk


RUNS = 11


def _draw(period_id: int) -> tuple[str, int, int, int]:
    """What is timed: the snapshot query, the snapshot and one winner (hash, winner, entrants, tickets)."""
    from raffle.draw import build_snapshot, draw_winners
    from raffle.selectors import snapshot_rows

    snap = build_snapshot(snapshot_rows(period_id=period_id))
    [winner] = draw_winners(SEED, snap, BEACON, 1)
    assert 0 <= winner.ticket < snap.total
    return snap.snapshot_hash, winner.kick_user_id, len(snap), snap.total


def run(scale: float) -> dict[str, Any]:
    from bench.limits import hash_bisect
    from raffle.selectors import snapshot_rows

    n = max(int(1_000_000 * scale), 1000)
    _ensure_tables()
    _cleanup()
    try:
        period_id = _setup(n)
        rows = snapshot_rows(period_id=period_id)
        answers: set[tuple[Any, ...]] = set()

        def primitive() -> float:
            elapsed, answer = paired.timed(lambda: hash_bisect(rows, SEED, BEACON))
            answers.add(answer)
            return elapsed

        def figure() -> float:
            elapsed, (snapshot_hash, winner, *counts) = paired.timed(lambda: _draw(period_id))
            answers.add((snapshot_hash, winner))
            sizes.add(tuple(counts))
            return elapsed

        sizes: set[tuple[int, ...]] = set()
        measured = paired.by_median(paired.interleave(primitive, figure, RUNS), "s", "py_hash_bisect_s")
    finally:
        _cleanup()
    if len(answers) != 1 or len(sizes) != 1:
        raise AssertionError(f"the draws and the primitive disagree: {answers} {sizes}")
    [(entrants, tickets)] = sizes
    return {
        "draw_1m_db_s": {
            **measured,
            "entrants": entrants,
            "tickets": tickets,
            "database": connection.vendor,
        }
    }
