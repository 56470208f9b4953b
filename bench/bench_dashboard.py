"""Dashboard overview latency with 1,000,000 viewers and 10,000,000 ledger rows (Postgres).

Setup (not timed), set-based with ``generate_series`` in a dedicated bench community: Kick users
and all-time/month watchtime for every viewer, a year of ledger rows (ids grow with time, as in
production) in one period, 30 days of minute ticks, slot requests and link sign-ups. The ticket
rollup (``dashboard.services.ticket_days_refresh``, run by beat every 10 minutes) is built once, as
the worker would have. Timed: ``GET /dashboard/`` through the Django test client, p95 of 50 after 3
warm-ups, five times: the value is the median of the five p95s, ``runs`` and ``spread_pct`` show
how much they moved (no primitive bounds this page; it keeps its absolute target). Baseline: the
same page with the rollup dropped, so the ticket chart sums the ledger's last 30 days itself (the
naive query the rollup replaces). Everything is deleted afterwards.
SQLite is skipped (the figure is defined on Postgres).
"""

from __future__ import annotations

import statistics
import time
from datetime import timedelta
from typing import Any

from django.db import connection

from bench.report import spread

SLUG = "bench-dashboard"
BASE_ID = 9_100_000_000  # Kick ids of bench viewers; nothing real lives there
RUNS = 50  # requests per run
REPEATS = 5  # runs: their spread is reported beside the absolute target


def _p95(samples: list[float]) -> float:
    return statistics.quantiles(samples, n=20)[-1] if len(samples) >= 20 else max(samples)


def _cleanup() -> None:
    from django.contrib.auth import get_user_model

    from kickbot.models import Community
    from raffle.services.periods import raffle_periods_purge

    ids = list(Community.objects.filter(kick_channel_slug=SLUG).values_list("id", flat=True))
    with connection.cursor() as cur:
        for cid in ids:
            raffle_periods_purge(community_id=cid)  # the raffle guards refuse deleting ledger rows first
            for table in (
                "watchtime_watchtotal",
                "watchtime_watchmonthly",
                "watchtime_watchtick",
                "slots_slotrequest",
                "kickbot_auditlog",
            ):
                cur.execute(f"DELETE FROM {table} WHERE community_id = %s", [cid])
        cur.execute(
            "DELETE FROM accounts_kickuser WHERE user_id >= %s AND user_id < %s", [BASE_ID, BASE_ID + 10**8]
        )
    Community.objects.filter(kick_channel_slug=SLUG).delete()
    get_user_model().objects.filter(username="bench-dashboard").delete()


def _setup(viewers: int, ledger: int) -> tuple[int, float]:
    from django.utils import timezone

    from dashboard.services import ticket_days_refresh
    from kickbot.models import Community
    from kickbot.months import local_month_start
    from raffle.models import RafflePeriod

    now = timezone.now()
    community = Community.objects.create(name="bench", kick_channel_slug=SLUG)
    cid = community.pk
    period = RafflePeriod.objects.create(
        community=community,
        starts_at=now - timedelta(days=365),
        ends_at=now + timedelta(days=30),
        server_seed="0" * 64,
        server_seed_hash="",
        drand_round=1,
        committed_at=now - timedelta(days=365),
    )
    month = local_month_start(now, community.timezone)
    with connection.cursor() as cur:
        cur.execute(
            "INSERT INTO accounts_kickuser (user_id, username, slug, updated_at) "
            "SELECT %s + g, 'viewer' || g, 'viewer' || g, now() FROM generate_series(1, %s) g",
            [BASE_ID, viewers],
        )
        cur.execute(
            "INSERT INTO watchtime_watchtotal (community_id, kick_user_id, minutes) "
            "SELECT %s, %s + g, (g::bigint * 7919) %% 50000 FROM generate_series(1, %s) g",
            [cid, BASE_ID, viewers],
        )
        cur.execute(
            "INSERT INTO watchtime_watchmonthly (community_id, kick_user_id, month, minutes) "
            "SELECT %s, %s + g, %s, (g * 31) %% 3000 FROM generate_series(1, %s) g",
            [cid, BASE_ID, month, viewers],
        )
        cur.execute(
            "INSERT INTO watchtime_watchtick (community_id, bucket, viewers, minutes, created_at) "
            "SELECT %s, b, 500 + (extract(epoch FROM b)::bigint %% 300), 1, b "
            "FROM generate_series(date_trunc('minute', now()) - interval '30 days', now(), "
            "interval '1 minute') b",
            [cid],
        )
        # A year of ledger rows, oldest first, so ids grow with created_at as they do in production.
        cur.execute(
            "INSERT INTO raffle_ticketentry "
            "(period_id, kick_user_id, source, amount, source_key, reason, actor_label, created_at) "
            "SELECT %s, %s + 1 + (g %% %s), (ARRAY['watchtime','gift','wager','admin'])[1 + g %% 4], "
            "1 + g %% 10, 'b' || g, '', '', now() - interval '365 days' * (1 - g::float8 / %s) "
            "FROM generate_series(1, %s) g",
            [period.pk, BASE_ID, viewers, ledger, ledger],
        )
        cur.execute(
            "INSERT INTO slots_slotrequest "
            "(community_id, kick_message_id, kick_user_id, kick_username, text, "
            "status, created_at, closed_by) "
            "SELECT %s, 'bench' || g, %s + g, 'viewer' || g, 'book of dead', 'played', "
            "now() - interval '30 days' * random(), '' FROM generate_series(1, 20000) g",
            [cid, BASE_ID],
        )
        cur.execute(
            "INSERT INTO kickbot_auditlog "
            "(community_id, actor_label, action, target_type, target_id, data, created_at) "
            "SELECT %s, 'discord:' || g, 'link.created', '', '', '{}'::jsonb, "
            "now() - interval '30 days' * random() "
            "FROM generate_series(1, 20000) g",
            [cid],
        )
        for table in (
            "raffle_ticketentry",
            "watchtime_watchtotal",
            "watchtime_watchmonthly",
            "accounts_kickuser",
            "watchtime_watchtick",
            "slots_slotrequest",
            "kickbot_auditlog",
        ):
            cur.execute(f"ANALYZE {table}")
    started = time.perf_counter()
    # Entries of the last 10 minutes are left to the live read, as in production.
    ticket_days_refresh(community_id=cid)
    return cid, time.perf_counter() - started


def _client(cid: int) -> Any:
    from django.contrib.auth import get_user_model
    from django.contrib.auth.models import Group
    from django.test import Client

    user = get_user_model().objects.create(username="bench-dashboard")
    user.groups.add(Group.objects.get(name="viewer"))
    client = Client()
    client.force_login(user)
    session = client.session
    session["community_id"] = cid
    session.save()
    return client


def _measure(client: Any, runs: int) -> list[float]:
    samples = []
    for _ in range(runs):
        started = time.perf_counter()
        response = client.get("/dashboard/")
        samples.append((time.perf_counter() - started) * 1000)
        assert response.status_code == 200, response.status_code
    return samples


def run(scale: float) -> dict[str, dict[str, Any]]:
    if connection.vendor != "postgresql":
        print("   dashboard bench needs Postgres (DATABASE_URL); skipped")
        return {}
    from django.core.management import call_command
    from django.test.utils import setup_test_environment

    from dashboard.models import TicketDay, TicketRollupState

    if TicketDay._meta.db_table not in connection.introspection.table_names():
        call_command("migrate", verbosity=0)
    setup_test_environment()  # the test client needs it; nothing else changes
    viewers = max(1000, int(1_000_000 * scale))
    ledger = max(10_000, int(10_000_000 * scale))
    _cleanup()
    try:
        t0 = time.perf_counter()
        cid, rollup_s = _setup(viewers, ledger)
        setup_s = time.perf_counter() - t0
        client = _client(cid)
        _measure(client, 3)
        runs = [_measure(client, RUNS) for _ in range(REPEATS)]
        samples = [ms for run in runs for ms in run]
        figure = spread([_p95(run) for run in runs])
        # Naive: no rollup, the ticket chart sums 30 days of the ledger on every request.
        TicketDay.objects.filter(community_id=cid).delete()
        TicketRollupState.objects.filter(community_id=cid).delete()
        baseline = _p95(_measure(client, 3))
    finally:
        _cleanup()
    return {
        "dashboard_overview_p95_ms": {
            **figure,
            "unit": "ms",
            "baseline": round(baseline, 1),
            "ratio": round(baseline / figure["value"], 1),
            "median_ms": round(statistics.median(samples), 1),
            "viewers": viewers,
            "ledger_rows": ledger,
            "rollup_first_build_s": round(rollup_s, 1),
            "setup_s": round(setup_s, 1),
        }
    }
