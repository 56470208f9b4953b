"""The ``limits`` stage: this machine's own primitives under each hot path, measured first.

``bench/run.py`` runs it before every figure, in the same process and against the same database
and Redis db, and once more after them (:func:`bracket`), so each figure is read beside what the
machine could do while it ran (a shared 2-core box is 1.8x slower on some days than on others).
A primitive is the irreducible work of a hot path written the plainest fast way, with none of our
code in it:

* ``parse_frames_per_s``: ``orjson`` parse of the ingest bench's own double-encoded chat frames
  (the frame, then its ``data`` string); median of 3 passes.
* ``redis_setnx_zadd_msgs_per_s``: per message one ``SET key NX EX`` and one ``ZADD``, pipelined
  in batches of 500 through the async client the ingest pipeline uses; median of 3 passes.
* ``db_upsert_100k_s``: one set-based ``INSERT ... ON CONFLICT DO UPDATE`` of the credit bench's
  100,000 viewers (same ids) into a scratch copy of the month table (same columns and indexes)
  holding its 500,000 rows; median of 3, so the first inserts the viewers not there yet and the
  others update, as the credit bench's three ticks do.
* ``db_top25_p95_ms``: ``ORDER BY minutes DESC LIMIT 25`` over an index on (community, minutes)
  of a 1,000,000-row scratch table; p95 of 300.
* ``db_rank_count_p95_ms``: a viewer's rank as ``count(*) WHERE minutes > mine`` over that
  index, for random viewers; p95.
* ``py_hash_bisect_s``: over the draw bench's snapshot pairs, the snapshot lines (one f-string
  list comprehension), one join, SHA-256, ``accumulate``, the HMAC pick and ``bisect``; nothing
  validated; best of 5, like the draw figure.

Sizes follow ``BENCH_SCALE`` like the figures they bound. The scratch tables and Redis keys are
the stage's own and are removed afterwards, also when a step fails.
"""

from __future__ import annotations

import asyncio
import gc
import hashlib
import hmac
import json
import math
import random
import statistics
import time
from bisect import bisect_right
from collections.abc import Callable
from datetime import date
from itertools import accumulate
from operator import itemgetter
from typing import Any

import orjson
from django.db import connection

from bench.report import sig

MONTH_TABLE = "bench_limits_month"
RANK_TABLE = "bench_limits_rank"
COMMUNITY = 1
MONTH = date(2026, 1, 1)
REDIS_BATCH = 500


def p95_ms(fn: Callable[[], Any], n: int) -> float:
    """p95 of ``n`` calls in ms (the same estimator as the watchtime figures)."""
    samples = []
    for _ in range(n):
        t0 = time.perf_counter()
        fn()
        samples.append((time.perf_counter() - t0) * 1000)
    samples.sort()
    return sig(samples[max(int(len(samples) * 0.95) - 1, 0)])


def _timed(fn: Callable[[], Any]) -> float:
    gc.collect()
    t0 = time.perf_counter()
    fn()
    return time.perf_counter() - t0


# --- parse ------------------------------------------------------------------------------------


def parse_frames(frames: list[bytes]) -> int:
    """The parse primitive: the frame, then its ``data`` string. Returns the frames parsed."""
    loads = orjson.loads
    n = 0
    for raw in frames:
        loads(loads(raw)["data"])
        n += 1
    return n


def measure_parse(frames: list[bytes]) -> dict[str, Any]:
    rate = statistics.median(len(frames) / _timed(lambda: parse_frames(frames)) for _ in range(3))
    return {"value": round(rate), "unit": "frames/s", "frames": len(frames)}


# --- Redis ------------------------------------------------------------------------------------


async def _redis_passes(n: int, passes: int) -> list[float]:
    from kickbot.redis_client import get_async_redis, key

    redis = get_async_redis()
    zkey = key("bench-limits", "activity")
    names: list[str] = []
    rates = []
    try:
        for p in range(passes):
            batch_names = [key("bench-limits", "dedupe", p, i) for i in range(n)]
            names += batch_names
            now = time.time()
            t0 = time.perf_counter()
            for start in range(0, n, REDIS_BATCH):
                pipe = redis.pipeline(transaction=False)
                for i in range(start, min(start + REDIS_BATCH, n)):
                    pipe.set(batch_names[i], "c", nx=True, ex=600)
                    pipe.zadd(zkey, {str(10_000 + i % 5_000): now})
                await pipe.execute()
            rates.append(n / (time.perf_counter() - t0))
    finally:
        for start in range(0, len(names), 5_000):
            await redis.unlink(*names[start : start + 5_000])
        await redis.unlink(zkey)
        await redis.aclose()
    return rates


def measure_redis(n: int) -> dict[str, Any]:
    rate = statistics.median(asyncio.run(_redis_passes(n, 3)))
    return {
        "value": round(rate),
        "unit": "msg/s",
        "messages": n,
        "note": f"SET NX EX + ZADD per message, pipelines of {REDIS_BATCH}",
    }


# --- database ---------------------------------------------------------------------------------


def _pg() -> bool:
    return connection.vendor == "postgresql"


def _series(n_param: str = "%s") -> str:
    """Rows ``x`` = 1..n: ``generate_series`` on Postgres, a recursive CTE on SQLite."""
    if _pg():
        return f"generate_series(1, {n_param}) AS s(x)"
    rows = f"SELECT 1 UNION ALL SELECT x + 1 FROM s WHERE x < {n_param}"
    return f"(WITH RECURSIVE s(x) AS ({rows}) SELECT x FROM s)"


def _vacuum(table: str) -> None:
    # Steady state, as autovacuum keeps a live table (hint bits, visibility map, statistics).
    with connection.cursor() as cur:
        cur.execute(f"VACUUM ANALYZE {table}" if _pg() else f"ANALYZE {table}")


def drop_scratch() -> None:
    with connection.cursor() as cur:
        for table in (MONTH_TABLE, RANK_TABLE):
            cur.execute(f"DROP TABLE IF EXISTS {table}")


def _create_month_table(n_totals: int) -> None:
    """The month table's shape (``watchtime.WatchMonthly``: id, unique (community, viewer, month),
    index (community, month)) with the credit bench's rows: every even viewer, this month."""
    pk = (
        "bigint GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY"
        if _pg()
        else "integer PRIMARY KEY AUTOINCREMENT"
    )
    minutes = "floor(power(random(), 4) * 3000)::int + 1" if _pg() else "abs(random()) % 3000 + 1"
    with connection.cursor() as cur:
        cur.execute(
            f"CREATE TABLE {MONTH_TABLE} (id {pk}, community_id bigint NOT NULL, "
            "kick_user_id bigint NOT NULL, month date NOT NULL, "
            "minutes integer NOT NULL CHECK (minutes >= 0))"
        )
        cur.execute(
            f"CREATE UNIQUE INDEX {MONTH_TABLE}_once ON {MONTH_TABLE} (community_id, kick_user_id, month)"
        )
        cur.execute(f"CREATE INDEX {MONTH_TABLE}_comm_month ON {MONTH_TABLE} (community_id, month)")
        cur.execute(
            f"INSERT INTO {MONTH_TABLE} (community_id, kick_user_id, month, minutes) "
            f"SELECT %s, x, %s, {minutes} FROM {_series()} WHERE x %% 2 = 0",
            [COMMUNITY, _month(), n_totals],
        )
    _vacuum(MONTH_TABLE)


def _month() -> Any:
    return MONTH if _pg() else MONTH.isoformat()


def credit_ids(n_totals: int, n_active: int) -> list[int]:
    """The credit bench's active viewers: 95 % known (sampled with ``Random(11)``), 5 % new."""
    rng = random.Random(11)
    known = rng.sample(range(1, n_totals + 1), n_active - n_active // 20)
    return [*known, *range(n_totals + 1, n_totals + 1 + n_active // 20)]


def upsert(ids: list[int]) -> None:
    """The upsert primitive: one set-based statement, committed (autocommit)."""
    if _pg():
        select, ids_param = "SELECT %s, u, %s, 1 FROM unnest(%s::bigint[]) AS t(u)", ids
    else:  # WHERE true lets SQLite parse INSERT ... SELECT ... ON CONFLICT
        select, ids_param = "SELECT %s, value, %s, 1 FROM json_each(%s) WHERE true", json.dumps(ids)  # type: ignore[assignment]
    with connection.cursor() as cur:
        cur.execute(
            f"INSERT INTO {MONTH_TABLE} (community_id, kick_user_id, month, minutes) {select} "
            "ON CONFLICT (community_id, kick_user_id, month) "
            f"DO UPDATE SET minutes = {MONTH_TABLE}.minutes + excluded.minutes",
            [COMMUNITY, _month(), ids_param],
        )


def measure_upsert(n_totals: int, n_active: int) -> dict[str, Any]:
    _create_month_table(n_totals)
    ids = credit_ids(n_totals, n_active)
    runs = [_timed(lambda: upsert(ids)) for _ in range(3)]
    return {
        "value": sig(statistics.median(runs)),
        "unit": "s",
        "rows": n_active,
        "table_rows": n_totals // 2,
        "runs_s": [sig(t) for t in runs],
    }


def _create_rank_table(n: int) -> None:
    minutes = "floor(power(random(), 4) * 60000)::int + 1" if _pg() else "abs(random()) % 60000 + 1"
    with connection.cursor() as cur:
        cur.execute(
            f"CREATE TABLE {RANK_TABLE} (community_id bigint NOT NULL, kick_user_id bigint NOT NULL, "
            "minutes integer NOT NULL)"
        )
        cur.execute(
            f"INSERT INTO {RANK_TABLE} (community_id, kick_user_id, minutes) "
            f"SELECT %s, x, {minutes} FROM {_series()}",
            [COMMUNITY, n],
        )
        cur.execute(f"CREATE INDEX {RANK_TABLE}_minutes ON {RANK_TABLE} (community_id, minutes)")
    _vacuum(RANK_TABLE)


def top25() -> list[tuple[int, int]]:
    with connection.cursor() as cur:
        cur.execute(
            f"SELECT kick_user_id, minutes FROM {RANK_TABLE} WHERE community_id = %s "
            "ORDER BY minutes DESC LIMIT 25",
            [COMMUNITY],
        )
        return cur.fetchall()


def rank_count(minutes: int) -> int:
    with connection.cursor() as cur:
        cur.execute(
            f"SELECT count(*) FROM {RANK_TABLE} WHERE community_id = %s AND minutes > %s",
            [COMMUNITY, minutes],
        )
        return int(cur.fetchone()[0]) + 1


def measure_reads(n: int, rank_samples: int) -> tuple[dict[str, Any], dict[str, Any]]:
    _create_rank_table(n)
    assert len(top25()) == min(25, n)
    top_ms = p95_ms(top25, 300)
    rng = random.Random(5)  # random viewers: the same long tail as the table's minutes
    mins = iter([int(rng.random() ** 4 * 60000) + 1 for _ in range(rank_samples)])
    rank_ms = p95_ms(lambda: rank_count(next(mins)), rank_samples)
    return (
        {"value": top_ms, "unit": "ms", "rows": n, "samples": 300},
        {"value": rank_ms, "unit": "ms", "rows": n, "samples": rank_samples},
    )


# --- draw -------------------------------------------------------------------------------------


def hash_bisect(entrants: list[tuple[int, int]], seed: str, beacon: str) -> tuple[str, int]:
    """The draw primitive, independent of ``raffle.draw``: snapshot hash and one winner's id."""
    data = "".join([f"{uid},{n}\n" for uid, n in entrants]).encode()
    snapshot_hash = hashlib.sha256(data).hexdigest()
    cumulative = list(accumulate(map(itemgetter(1), entrants)))
    total = cumulative[-1]
    key, limit = bytes.fromhex(seed), ((1 << 64) // total) * total
    for c in range(256):  # rejection sampling, as docs/draw-proof.md defines the pick
        x = int.from_bytes(hmac.digest(key, f"{snapshot_hash}:{beacon}:0:{c}".encode(), "sha256")[:8], "big")
        if x < limit:
            return snapshot_hash, entrants[bisect_right(cumulative, x % total)][0]
    raise RuntimeError("rejection sampling did not terminate")


def measure_draw(entrants: list[tuple[int, int]], seed: str, beacon: str) -> dict[str, Any]:
    best = min(_timed(lambda: hash_bisect(entrants, seed, beacon)) for _ in range(5))
    return {"value": sig(best), "unit": "s", "entrants": len(entrants)}


# --- the stage --------------------------------------------------------------------------------


def bracket(first: dict[str, dict[str, Any]], last: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """The stage run before and after the figures, as one limit per primitive.

    The figures take minutes and the machine's load drifts meanwhile: the geometric mean of the
    two runs stands for the time between them; ``first`` and ``last`` keep both. A primitive
    measured only once keeps its one value.
    """
    out = {}
    for name, a in first.items():
        b = last.get(name)
        if b is None or b.get("unit") != a["unit"]:
            out[name] = a
            continue
        mean = math.sqrt(a["value"] * b["value"])
        out[name] = {
            **a,
            "value": round(mean) if mean >= 1000 else sig(mean),
            "first": a["value"],
            "last": b["value"],
        }
    return out


def run(scale: float) -> dict[str, dict[str, Any]]:
    """Every primitive at ``scale`` (sizes as the figures they bound); names as in bench/README.md."""
    from bench import bench_draw, bench_ingest

    n_totals = max(int(1_000_000 * scale), 1000)
    n_active = max(int(100_000 * scale), 100)
    out: dict[str, dict[str, Any]] = {}
    out["parse_frames_per_s"] = measure_parse(bench_ingest.frames(bench_ingest.frame_count(scale)))
    out["redis_setnx_zadd_msgs_per_s"] = measure_redis(max(2_000, int(100_000 * scale)))
    drop_scratch()
    try:
        out["db_upsert_100k_s"] = measure_upsert(n_totals, n_active)
        out["db_top25_p95_ms"], out["db_rank_count_p95_ms"] = measure_reads(
            n_totals, max(20, int(40 * scale))
        )
    finally:
        drop_scratch()
    out["py_hash_bisect_s"] = measure_draw(
        bench_draw.make_entrants(bench_draw.entrant_count(scale)), bench_draw.SEED, bench_draw.BEACON
    )
    return out
