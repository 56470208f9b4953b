"""Watchtime: one credit tick for 100k active viewers, and leaderboard/rank reads at 1M viewers.

Scale 1.0 = 1,000,000 all-time totals (500,000 with minutes this month) and 100,000 active
viewers (95 % already known, 5 % new). Everything lives in a dedicated community created here
and deleted at the end (rows, Kick users, Redis keys). Runs migrations first.

Every figure with a limit is measured in turns with its primitive (``bench.limits``, on its scratch
tables, in this bench): primitive, figure, primitive, ..., figure, primitive (``bench/paired.py``):

* ``watchtime_credit_100k_s``: median of 21 real ticks of ``watchtime_credit`` (Redis read of the
  activity set, the tick row, the one set-based write into this month's totals, commit; all-time is
  the closed months plus this month, see ``watchtime.models``), each beside one run of the upsert
  primitive (the same viewers into a scratch month table). The rank mirror update that the
  task runs after commit is reported beside it (``mirror_update_s``, ``tick_total_s``). Baseline: the
  per-viewer ORM loop (select + update/insert, all-time and month) timed on a sample of the same
  viewers in the same run and extrapolated linearly (it is linear: one pair of queries per row).
* ``leaderboard_top25_p95_ms``: ``leaderboard(limit=25)`` through the selector (names included),
  600 calls, in turns with single calls of the top-25 primitive (``ZREVRANGE`` of a scratch
  sorted set of as many viewers, then their names by id from a scratch table).
* ``leaderboard_rank_p95_ms``: ``rank_of`` for random viewers through the selector, 600 calls, in
  turns with single calls of the rank primitive (one pipeline of ``ZSCORE``/``ZREVRANK``/``ZCARD``
  on that set, one indexed one-row read). Baseline: the plain ``count(*) WHERE minutes > mine`` on
  the bench's own totals, with an index on (community, minutes) built for it.

* ``watchtime_month_close_s``: the hourly fold of an ended month (500,000 month rows) into the
  1,000,000 closed-month totals, once a month per community: 11 folds, each in a transaction rolled
  back afterwards so that the next folds the same month (the commit is not timed), each beside a
  run of the upsert primitive scaled to the month's rows.

Strategy and indexes: see ``watchtime.mirror`` and ``watchtime.selectors``.
"""

from __future__ import annotations

import random
import statistics
import time
from datetime import UTC, datetime
from typing import Any

from django.conf import settings
from django.core.management import call_command
from django.db import connection, transaction
from django.utils import timezone

from bench import limits, paired
from bench.limits import p95_ms

SLUG = "bench-watchtime"
CREDIT_RUNS = 21  # ticks, in turns with runs of the upsert primitive
READ_TURNS = 600  # turns of one primitive call and one top 25 (or rank) call
CLOSE_RUNS = 11  # folds of the month, in turns with runs of the upsert primitive
ID_BASE = 9_000_000_000  # Kick ids far above real ones


def _ensure_redis() -> Any:
    if not settings.EMBEDDED_REDIS:
        return None
    from kickbot import embedded_redis

    return embedded_redis.start_background(settings.EMBEDDED_REDIS_SOCKET)


def _cleanup(community_id: int | None, n_ids: int) -> None:
    from kickbot.models import Community
    from kickbot.redis_client import get_redis, key

    if community_id is None:
        row = Community.objects.filter(kick_channel_slug=SLUG).first()
        community_id = row.pk if row else None
    with connection.cursor() as cur:
        if community_id is not None:
            for table in (
                "watchtotal",
                "watchmonthly",
                "watchtick",
                "watchsettings",
                "appliedrole",
                "watchrole",
            ):
                cur.execute(f"DELETE FROM watchtime_{table} WHERE community_id = %s", [community_id])
            # Raw: the ORM's cascade would load every row (and touch other apps' tables).
            cur.execute("DELETE FROM kickbot_community WHERE id = %s", [community_id])
        cur.execute(
            "DELETE FROM accounts_kickuser WHERE user_id >= %s AND user_id < %s",
            [ID_BASE, ID_BASE + 10 * n_ids],
        )
    if community_id is not None:
        r = get_redis()
        keys = [*r.scan_iter(match=key("wt", community_id, "*")), key("activity", community_id)]
        r.delete(*keys)


def _load_rows(community_id: int, n_totals: int, month: Any) -> None:
    """1M totals with a long-tailed distribution of minutes, half of them active this month."""
    with connection.cursor() as cur:
        if connection.vendor == "postgresql":
            gen = "generate_series(1, %s) AS g(x)"
            rnd = "random()"
            cur.execute(
                "INSERT INTO accounts_kickuser (user_id, username, slug, updated_at) "
                f"SELECT %s + x, 'viewer' || x, '', now() FROM {gen}",
                [ID_BASE, n_totals],
            )
            cur.execute(
                "INSERT INTO watchtime_watchtotal (community_id, kick_user_id, minutes) "
                f"SELECT %s, %s + x, floor(power({rnd}, 4) * 60000)::int + 1 FROM {gen}",
                [community_id, ID_BASE, n_totals],
            )
            cur.execute(
                "INSERT INTO watchtime_watchmonthly (community_id, kick_user_id, month, minutes) "
                f"SELECT %s, %s + x, %s, floor(power({rnd}, 4) * 3000)::int + 1 FROM {gen} WHERE x %% 2 = 0",
                [community_id, ID_BASE, month, n_totals],
            )
        else:
            rng = random.Random(5)
            now = timezone.now()
            cur.executemany(
                "INSERT INTO accounts_kickuser (user_id, username, slug, updated_at) VALUES (%s, %s, '', %s)",
                [(ID_BASE + x, f"viewer{x}", now) for x in range(1, n_totals + 1)],
            )
            cur.executemany(
                "INSERT INTO watchtime_watchtotal (community_id, kick_user_id, minutes) VALUES (%s, %s, %s)",
                [
                    (community_id, ID_BASE + x, int(rng.random() ** 4 * 60000) + 1)
                    for x in range(1, n_totals + 1)
                ],
            )
            cur.executemany(
                "INSERT INTO watchtime_watchmonthly (community_id, kick_user_id, month, minutes) "
                "VALUES (%s, %s, %s, %s)",
                [
                    (community_id, ID_BASE + x, month.isoformat(), int(rng.random() ** 4 * 3000) + 1)
                    for x in range(2, n_totals + 1, 2)
                ],
            )
    if connection.vendor == "postgresql":
        with connection.cursor() as cur:
            for table in ("watchtime_watchtotal", "watchtime_watchmonthly", "accounts_kickuser"):
                cur.execute(f"VACUUM ANALYZE {table}")


def _naive_credit(community_id: int, ids: list[int], minutes: int, month: Any) -> None:
    """What docs/lessons.md #17 describes: per viewer, select then update (or insert), twice."""
    from watchtime.models import WatchMonthly, WatchTotal

    with transaction.atomic():
        for uid in ids:
            row = WatchTotal.objects.filter(community_id=community_id, kick_user_id=uid).first()
            if row is None:
                WatchTotal.objects.create(community_id=community_id, kick_user_id=uid, minutes=minutes)
            else:
                row.minutes += minutes
                row.save(update_fields=["minutes"])
            mrow = WatchMonthly.objects.filter(
                community_id=community_id, kick_user_id=uid, month=month
            ).first()
            if mrow is None:
                WatchMonthly.objects.create(
                    community_id=community_id, kick_user_id=uid, month=month, minutes=minutes
                )
            else:
                mrow.minutes += minutes
                mrow.save(update_fields=["minutes"])


def run(scale: float) -> dict[str, dict[str, Any]]:
    from kickbot.models import Community
    from kickbot.months import month_after, month_before
    from kickbot.redis_client import get_redis
    from watchtime.activity import activity_key
    from watchtime.credit import (
        community_month,
        watchtime_credit,
        watchtime_mirror_rebuild,
        watchtime_mirror_update,
        watchtime_months_close,
    )
    from watchtime.models import WatchMonthly, WatchSettings
    from watchtime.selectors import leaderboard, rank_of
    from watchtime.tasks import tick_bucket

    call_command("migrate", verbosity=0)
    redis_proc = _ensure_redis()
    n_totals = max(int(1_000_000 * scale), 1000)
    n_active = max(int(100_000 * scale), 100)
    rng = random.Random(11)
    _cleanup(None, n_totals)
    community = Community.objects.create(name="bench", kick_channel_slug=SLUG, is_live=True)
    cid = community.pk
    results: dict[str, dict[str, Any]] = {}
    try:
        month = community_month(community=community, when=timezone.now())
        t0 = time.perf_counter()
        _load_rows(cid, n_totals, month)
        # The loaded totals are the closed months; this month is open (read from WatchMonthly).
        WatchSettings.objects.create(community_id=cid, closed_through=month_before(month))
        print(f"   loaded {n_totals} totals in {time.perf_counter() - t0:.1f} s", flush=True)
        if connection.vendor == "postgresql":
            # Steady state, as autovacuum keeps a live table: a bulk load leaves every page's
            # hint bits unset, and the first statement to read them would pay for the load.
            with connection.cursor() as cur:
                cur.execute("VACUUM ANALYZE watchtime_watchtotal")
                cur.execute("VACUUM ANALYZE watchtime_watchmonthly")
        t0 = time.perf_counter()
        watchtime_mirror_rebuild(community_id=cid)
        rebuild_s = time.perf_counter() - t0

        # --- credit, beside the upsert primitive ------------------------------------------------
        limits.drop_scratch()
        limits.create_month_table(n_totals)
        upsert_ids = limits.credit_ids(n_totals, n_active)
        r = get_redis()
        active = [ID_BASE + x for x in upsert_ids]  # the upsert primitive's viewers
        now = time.time()
        for i in range(0, len(active), 10_000):
            r.zadd(activity_key(cid), {str(uid): now - rng.random() * 60 for uid in active[i : i + 10_000]})
        mirror_timings = []
        ticks = iter(range(1, 1000))

        # Each side starts from a vacuumed table (untimed), as autovacuum keeps a live one: without
        # it the dead rows of the earlier turns pile up in one table faster than in the other.
        def upsert() -> float:
            limits.vacuum(limits.MONTH_TABLE)
            return paired.timed(lambda: limits.upsert(upsert_ids))[0]

        def credit() -> float:
            limits.vacuum("watchtime_watchmonthly")
            bucket, _ = tick_bucket(now - 60 * next(ticks), 60)
            elapsed, result = paired.timed(
                lambda: watchtime_credit(community_id=cid, bucket=bucket, minutes=1, now=now)
            )
            assert result.credited and result.viewers == n_active, result
            t0 = time.perf_counter()
            assert watchtime_mirror_update(community_id=cid, result=result)
            mirror_timings.append(time.perf_counter() - t0)
            return elapsed

        credited = paired.by_median(paired.interleave(upsert, credit, CREDIT_RUNS), "s", "db_upsert_100k_s")
        credit_s = credited["value"]
        mirror_s = statistics.median(mirror_timings)

        sample = active[: max(n_active // 50, 200)]  # 2,000 at scale 1
        t0 = time.perf_counter()
        _naive_credit(cid, sample, 1, month)
        naive_s = (time.perf_counter() - t0) * (n_active / len(sample))
        results["watchtime_credit_100k_s"] = {
            "value": credit_s,
            "unit": "s",
            "baseline": round(naive_s, 3),
            "ratio": round(naive_s / credit_s, 1),
            **credited,
            "viewers": n_active,
            "totals": n_totals,
            # After commit, in the same beat task: the Redis rank mirror (not in "value").
            "mirror_update_s": round(mirror_s, 3),
            "tick_total_s": round(credit_s + mirror_s, 3),
            "baseline_measured_on": len(sample),
        }
        results["watchtime_mirror_rebuild_1m_s"] = {
            "value": round(rebuild_s, 3),
            "unit": "s",
            "rows": n_totals,
        }

        # --- reads, beside the top-25 and rank primitives (a scratch sorted set and names) -------
        limits.create_rank_table(n_totals)
        watchtime_mirror_rebuild(community_id=cid)  # the naive loop bypassed the mirror
        assert len(leaderboard(community_id=cid, limit=25)) == 25
        top = paired.by_p95(
            paired.interleave(
                lambda: paired.calls_ms(limits.mirror_top25, 1),
                lambda: paired.calls_ms(lambda: leaderboard(community_id=cid, limit=25), 1),
                READ_TURNS,
            ),
            "ms",
            "mirror_top25_p95_ms",
        )
        ids = [ID_BASE + rng.randint(1, n_totals) for _ in range(READ_TURNS)]
        it = iter(ids)
        rank_rng = random.Random(5)
        rank = paired.by_p95(
            paired.interleave(
                lambda: paired.calls_ms(lambda: limits.mirror_rank(rank_rng.randint(1, n_totals)), 1),
                lambda: paired.calls_ms(lambda: rank_of(community_id=cid, kick_user_id=next(it)), 1),
                READ_TURNS,
            ),
            "ms",
            "mirror_rank_p95_ms",
        )

        with connection.cursor() as cur:
            cur.execute("CREATE INDEX bench_wt_minutes ON watchtime_watchtotal (community_id, minutes)")
            if connection.vendor == "postgresql":
                cur.execute("ANALYZE watchtime_watchtotal")
        try:
            mins = dict(
                zip(ids, [rank_of(community_id=cid, kick_user_id=i).minutes for i in ids[:50]], strict=False)
            )
            it2 = iter(list(mins.items()))

            def naive_rank() -> None:
                _uid, mine = next(it2)
                with connection.cursor() as cur:
                    cur.execute(
                        "SELECT count(*) FROM watchtime_watchtotal WHERE community_id = %s AND minutes > %s",
                        [cid, mine],
                    )
                    cur.fetchone()

            # 50 are enough for the ratio: what the database alone does for a rank
            naive_rank_ms = p95_ms(naive_rank, len(mins))
        finally:
            with connection.cursor() as cur:
                cur.execute("DROP INDEX bench_wt_minutes")
        results["leaderboard_top25_p95_ms"] = {**top, "viewers": n_totals}
        results["leaderboard_rank_p95_ms"] = {
            "value": rank["value"],
            "unit": "ms",
            "baseline": naive_rank_ms,
            "ratio": round(naive_rank_ms / rank["value"], 1),
            **rank,
            "viewers": n_totals,
        }

        # --- month close: the hourly fold of an ended month, beside the upsert scaled to its rows ----
        next_month = month_after(month)
        month_rows = WatchMonthly.objects.filter(community_id=cid, month=month).count()
        closed_before = WatchSettings.objects.get(community_id=cid).closed_through

        def fold() -> float:
            limits.vacuum("watchtime_watchtotal")
            with transaction.atomic():
                elapsed, closed = paired.timed(
                    lambda: watchtime_months_close(
                        community_id=cid, now=datetime(next_month.year, next_month.month, 2, tzinfo=UTC)
                    )
                )
                assert closed == month, closed
                transaction.set_rollback(True)  # the next fold folds the same month again
            return elapsed

        close = paired.interleave(upsert, fold, CLOSE_RUNS)
        assert WatchSettings.objects.get(community_id=cid).closed_through == closed_before
        results["watchtime_month_close_s"] = {
            **paired.by_median(paired.scaled(close, month_rows / len(upsert_ids)), "s", "db_upsert_100k_s"),
            "month_rows": month_rows,
            "totals": n_totals,
            "note": "each fold rolled back, so the next folds the same month; "
            "limit: the upsert x month rows / its rows",
        }
    finally:
        limits.drop_scratch()
        _cleanup(cid, n_totals)
        if redis_proc is not None:
            redis_proc.terminate()
    return results
