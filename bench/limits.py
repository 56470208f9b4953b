"""This machine's own primitives under each hot path, and the ``limits`` stage that runs them all.

A primitive is the irreducible work of a hot path written the plainest fast way, with none of our
code in it. Each bench runs its figures' primitives **interleaved with the figures' own
repetitions** (``bench/paired.py``), through the functions here, and that paired measurement is
the figure's ``limit`` and ``of_limit``. The stage (:func:`run`) runs every primitive once before
the benches, as a summary of how fast the machine was in this run (``limits`` in results.json);
no ``of_limit`` is computed from it, since a limit measured minutes away from its figure does not
divide the machine's load out (issue 23). The primitives:

* ``parse_frames_per_s``: ``orjson`` parse of the ingest bench's own double-encoded chat frames
  (the frame, then its ``data`` string); median of 3 passes.
* ``redis_setnx_zadd_msgs_per_s``: per message one ``SET key NX EX`` and one ``ZADD``, pipelined
  in batches of 500 through the async client the ingest pipeline uses; median of 3 passes.
* ``db_upsert_100k_s``: one set-based ``INSERT ... ON CONFLICT DO UPDATE`` of the credit bench's
  100,000 viewers (same ids) into a scratch copy of the month table (same columns and indexes)
  holding its 500,000 rows; median of 3, so the first inserts the viewers not there yet and the
  others update, as the credit bench's three ticks do.
* ``mirror_top25_p95_ms``: the two round trips a top 25 with names needs: ``ZREVRANGE 0 24
  WITHSCORES`` of a sorted set of 1,000,000 viewers, then their 25 names by id in one indexed query
  (a scratch table shaped as the Kick users); p95 of 300.
* ``mirror_rank_p95_ms``: the two a rank reply needs: ``ZSCORE`` + ``ZREVRANK`` + ``ZCARD`` in one
  pipeline on that set, then one indexed one-row read; random viewers, p95 of 300.
* ``py_hash_bisect_s``: over the draw bench's snapshot pairs, the snapshot lines (one f-string
  list comprehension), one join, SHA-256, ``accumulate``, the HMAC pick and ``bisect``; nothing
  validated; best of 5, like the draw figure.

Sizes follow ``BENCH_SCALE`` like the figures they bound. The scratch tables and Redis keys are
the primitives' own and are removed afterwards, also when a step fails.
"""

from __future__ import annotations

import asyncio
import gc
import hashlib
import hmac
import json
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

from bench.report import percentile95, sig

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
    return sig(percentile95(samples))


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


class RedisPrimitive:
    """The Redis primitive on one async client: :meth:`rate` runs a pass, :meth:`cleanup` removes its keys.

    Every pass claims fresh dedupe keys (as new chat lines do); the activity set is one, as a
    community's is.
    """

    def __init__(self, redis: Any) -> None:
        from kickbot.redis_client import key

        self.redis = redis
        self.key = key
        self.zkey = key("bench-limits", "activity")
        self.names: list[str] = []
        self.passes = 0

    async def rate(self, n: int) -> float:
        """One pass of ``n`` messages: msg/s."""
        batch_names = [self.key("bench-limits", "dedupe", self.passes, i) for i in range(n)]
        self.passes += 1
        self.names += batch_names
        now = time.time()
        t0 = time.perf_counter()
        for start in range(0, n, REDIS_BATCH):
            pipe = self.redis.pipeline(transaction=False)
            for i in range(start, min(start + REDIS_BATCH, n)):
                pipe.set(batch_names[i], "c", nx=True, ex=600)
                pipe.zadd(self.zkey, {str(10_000 + i % 5_000): now})
            await pipe.execute()
        return n / (time.perf_counter() - t0)

    async def cleanup(self) -> None:
        for start in range(0, len(self.names), 5_000):
            await self.redis.unlink(*self.names[start : start + 5_000])
        await self.redis.unlink(self.zkey)
        self.names = []


async def _redis_passes(n: int, passes: int) -> list[float]:
    from kickbot.redis_client import get_async_redis

    redis = get_async_redis()
    primitive = RedisPrimitive(redis)
    try:
        return [await primitive.rate(n) for _ in range(passes)]
    finally:
        await primitive.cleanup()
        await redis.aclose()


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


def vacuum(table: str) -> None:
    # Steady state, as autovacuum keeps a live table (hint bits, visibility map, statistics).
    with connection.cursor() as cur:
        cur.execute(f"VACUUM ANALYZE {table}" if _pg() else f"ANALYZE {table}")


def drop_scratch() -> None:
    from kickbot.redis_client import get_redis

    with connection.cursor() as cur:
        for table in (MONTH_TABLE, RANK_TABLE):
            cur.execute(f"DROP TABLE IF EXISTS {table}")
    get_redis().delete(mirror_key())


def create_month_table(n_totals: int) -> None:
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
    vacuum(MONTH_TABLE)


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
    create_month_table(n_totals)
    ids = credit_ids(n_totals, n_active)
    runs = [_timed(lambda: upsert(ids)) for _ in range(3)]
    return {
        "value": sig(statistics.median(runs)),
        "unit": "s",
        "rows": n_active,
        "table_rows": n_totals // 2,
        "runs_s": [sig(t) for t in runs],
    }


def mirror_key() -> str:
    from kickbot.redis_client import key

    return key("bench-limits", "mirror")


def create_rank_table(n: int) -> None:
    """``n`` viewers with the watchtime bench's long tail of minutes and a name each, indexed by id
    (as ``accounts.KickUser``), and the same viewers in a Redis sorted set (as the rank mirror)."""
    from kickbot.redis_client import get_redis

    minutes = "floor(power(random(), 4) * 60000)::int + 1" if _pg() else "abs(random()) % 60000 + 1"
    with connection.cursor() as cur:
        cur.execute(
            f"CREATE TABLE {RANK_TABLE} (community_id bigint NOT NULL, kick_user_id bigint NOT NULL, "
            "minutes integer NOT NULL, username varchar(64) NOT NULL)"
        )
        cur.execute(
            f"INSERT INTO {RANK_TABLE} (community_id, kick_user_id, minutes, username) "
            f"SELECT %s, x, {minutes}, 'viewer' || x FROM {_series()}",
            [COMMUNITY, n],
        )
        cur.execute(f"CREATE UNIQUE INDEX {RANK_TABLE}_id ON {RANK_TABLE} (kick_user_id)")
        cur.execute(f"SELECT kick_user_id, minutes FROM {RANK_TABLE}")
        rows = cur.fetchall()
    vacuum(RANK_TABLE)
    redis = get_redis()
    redis.delete(mirror_key())
    for start in range(0, len(rows), 10_000):
        redis.zadd(mirror_key(), {str(uid): m for uid, m in rows[start : start + 10_000]})


def _names(ids: list[int]) -> list[tuple[int, str]]:
    marks = ", ".join(["%s"] * len(ids))
    with connection.cursor() as cur:
        cur.execute(f"SELECT kick_user_id, username FROM {RANK_TABLE} WHERE kick_user_id IN ({marks})", ids)
        return cur.fetchall()


def mirror_top25() -> list[tuple[int, str, int]]:
    """The top-25 primitive: ``ZREVRANGE 0 24 WITHSCORES`` of the sorted set, then the 25 names by id
    in one indexed query: the two round trips a top 25 with names needs (``(id, name, minutes)``)."""
    from kickbot.redis_client import get_redis

    found: Any = get_redis().zrevrange(mirror_key(), 0, 24, withscores=True)
    top = [(int(member), int(score)) for member, score in found]
    names = dict(_names([uid for uid, _ in top]))
    return [(uid, names[uid], minutes) for uid, minutes in top]


def mirror_rank(kick_user_id: int) -> tuple[int | None, int]:
    """The rank primitive: ``ZSCORE``, ``ZREVRANK`` and ``ZCARD`` in one pipeline, then one indexed
    one-row read (the shape of the next-role query a rank reply makes): ``(rank, viewers)``."""
    from kickbot.redis_client import get_redis

    pipe = get_redis().pipeline(transaction=False)
    pipe.zscore(mirror_key(), str(kick_user_id))
    pipe.zrevrank(mirror_key(), str(kick_user_id))
    pipe.zcard(mirror_key())
    score, rank, card = pipe.execute()
    with connection.cursor() as cur:
        cur.execute(f"SELECT minutes FROM {RANK_TABLE} WHERE kick_user_id = %s", [kick_user_id])
        cur.fetchone()
    return (None if score is None else int(rank) + 1), int(card)


def measure_reads(n: int) -> tuple[dict[str, Any], dict[str, Any]]:
    create_rank_table(n)
    assert len(mirror_top25()) == min(25, n)
    top_ms = p95_ms(mirror_top25, 300)
    rng = random.Random(5)
    ids = iter([rng.randint(1, n) for _ in range(300)])
    rank_ms = p95_ms(lambda: mirror_rank(next(ids)), 300)
    return (
        {"value": top_ms, "unit": "ms", "rows": n, "samples": 300},
        {"value": rank_ms, "unit": "ms", "rows": n, "samples": 300},
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
        out["mirror_top25_p95_ms"], out["mirror_rank_p95_ms"] = measure_reads(n_totals)
    finally:
        drop_scratch()
    out["py_hash_bisect_s"] = measure_draw(
        bench_draw.make_entrants(bench_draw.entrant_count(scale)), bench_draw.SEED, bench_draw.BEACON
    )
    return out
