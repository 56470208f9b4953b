"""The primitives do the work they stand for, on the configured database and Redis, at a tiny scale.

No timing is asserted (figures are not tests): what is checked is that each primitive does the work
it stands for, that every bound of the report names one of them, and that nothing is left behind.
``make bench`` itself runs as a process at the end, on the same backend as this test run: each
figure's ``of_limit`` comes from its own pairs, not from the stage.
"""

from __future__ import annotations

import json
import os
import random
import statistics
import subprocess
import sys
from pathlib import Path

import orjson
import pytest
from django.conf import settings
from django.db import connection

from bench import bench_draw, bench_ingest, limits
from bench.report import BOUNDS
from kickbot.integrations.kick.parsers import parse_pusher_frame
from kickbot.redis_client import get_redis, key
from raffle.draw import build_snapshot, draw_winners

ROOT = Path(__file__).resolve().parents[2]
PRIMITIVES = {
    "parse_frames_per_s": "frames/s",
    "redis_setnx_zadd_msgs_per_s": "msg/s",
    "db_upsert_100k_s": "s",
    "mirror_top25_p95_ms": "ms",
    "mirror_rank_p95_ms": "ms",
    "py_hash_bisect_s": "s",
}


def _scratch_tables() -> set[str]:
    return {t for t in connection.introspection.table_names() if t.startswith("bench_limits")}


def _stage_keys() -> list[bytes]:
    return list(get_redis().scan_iter(match=key("bench-limits", "*"), count=1000))


@pytest.mark.django_db(transaction=True)
def test_the_stage_measures_every_primitive_and_leaves_nothing_behind() -> None:
    out = limits.run(0.0001)
    assert {name: p["unit"] for name, p in out.items()} == PRIMITIVES
    assert all(p["value"] > 0 for p in out.values()), out
    # every figure bounded by a primitive is bounded by one this stage measured
    assert {b.limit for b in BOUNDS.values() if b.limit} <= set(out)
    assert out["db_upsert_100k_s"]["rows"] == 100 and len(out["db_upsert_100k_s"]["runs_s"]) == 3
    assert _scratch_tables() == set() and _stage_keys() == []


@pytest.mark.django_db(transaction=True)
def test_upsert_primitive_inserts_the_new_viewers_once_then_adds_to_every_row() -> None:
    limits.drop_scratch()
    try:
        limits.create_month_table(1000)  # the month rows of every even viewer
        ids = limits.credit_ids(1000, 100)
        before = _month_rows()
        assert len(before) == 500
        limits.upsert(ids)
        after = _month_rows()
        assert set(after) == set(before) | set(ids)
        assert all(after[i] == before.get(i, 0) + 1 for i in ids)
        assert all(after[i] == before[i] for i in set(before) - set(ids))
        limits.upsert(ids)
        assert _month_rows() == {i: m + (i in ids) for i, m in after.items()}
    finally:
        limits.drop_scratch()
    assert _scratch_tables() == set()


def _month_rows() -> dict[int, int]:
    with connection.cursor() as cur:
        cur.execute(f"SELECT kick_user_id, minutes FROM {limits.MONTH_TABLE}")
        return dict(cur.fetchall())


@pytest.mark.django_db(transaction=True)
def test_read_primitives_answer_the_top_25_with_names_and_a_viewers_rank_from_the_sorted_set() -> None:
    limits.drop_scratch()
    try:
        limits.create_rank_table(1000)
        with connection.cursor() as cur:
            cur.execute(f"SELECT kick_user_id, minutes, username FROM {limits.RANK_TABLE}")
            rows = cur.fetchall()
        assert len(rows) == 1000 and get_redis().zcard(limits.mirror_key()) == 1000
        top = limits.mirror_top25()
        assert [m for _, _, m in top] == sorted((m for _, m, _ in rows), reverse=True)[:25]
        assert all(name == f"viewer{uid}" for uid, name, _ in top)  # the names were read, by id
        for uid, mine, _ in random.Random(1).sample(rows, 10):
            # ZREVRANK: those with more minutes, and on a tie the members after it (as strings)
            above = sum(1 for u, m, _ in rows if m > mine or (m == mine and str(u) > str(uid)))
            assert limits.mirror_rank(uid) == (above + 1, 1000)
        assert limits.mirror_rank(5000) == (None, 1000)  # not ranked
    finally:
        limits.drop_scratch()
    assert _scratch_tables() == set() and _stage_keys() == []


def test_credit_ids_are_the_credit_benchs_viewers_95_percent_known() -> None:
    rng = random.Random(11)  # what bench_watchtime drew before it shared this function
    expected = [*rng.sample(range(1, 1_000_001), 95_000), *range(1_000_001, 1_005_001)]
    ids = limits.credit_ids(1_000_000, 100_000)
    assert ids == expected and len(set(ids)) == 100_000


def test_hash_bisect_picks_the_same_snapshot_and_winner_as_the_draw() -> None:
    entrants = bench_draw.make_entrants(3000)
    snap = build_snapshot(entrants)
    [winner] = draw_winners(bench_draw.SEED, snap, bench_draw.BEACON, 1)
    assert limits.hash_bisect(entrants, bench_draw.SEED, bench_draw.BEACON) == (
        snap.snapshot_hash,
        winner.kick_user_id,
    )


def test_parse_primitive_decodes_the_ingest_benchs_double_encoded_frames() -> None:
    frames = bench_ingest.frames(60)
    assert limits.parse_frames(frames) == 60
    for raw in frames[:5]:
        outer = orjson.loads(raw)
        assert isinstance(outer["data"], str)  # encoded twice, as Pusher sends it
        assert orjson.loads(outer["data"]) == parse_pusher_frame(raw).data


def test_redis_primitive_writes_a_claim_and_an_activity_score_per_message_then_cleans_up() -> None:
    out = limits.measure_redis(1200)
    assert out["messages"] == 1200 and out["value"] > 0
    assert _stage_keys() == []


def _backend_env(tmp_path: Path) -> dict[str, str]:
    """The subprocess's environment: this run's Postgres test database and Redis prefix, or an
    embedded SQLite + Redis of its own in ``tmp_path``."""
    env = {
        k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "KICK", "DATABASE_URL", "REDIS"))
    }
    env.update(
        DJANGO_SETTINGS_MODULE="kickbot.settings",
        KICKBOT_VAR_DIR=str(tmp_path / "var"),
        BENCH_SCALE="0.0001",
        BENCH_OUT=str(tmp_path / "results.json"),
        REDIS_KEY_PREFIX=settings.REDIS_KEY_PREFIX,
    )
    if connection.vendor == "postgresql":
        db = connection.settings_dict
        host = f"{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}"
        env["DATABASE_URL"] = f"postgres://{db['USER']}:{db['PASSWORD']}@{host}/{db['NAME']}"
        env["REDIS_URL"] = settings.REDIS_URL
    return env


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_make_bench_runs_the_stage_then_writes_each_figure_beside_its_paired_limit(
    tmp_path: Path,
) -> None:
    proc = subprocess.run(
        ["make", "-s", "bench", "BENCH=bench_draw"],
        cwd=ROOT,
        env={**_backend_env(tmp_path), "PATH": f"{Path(sys.executable).parent}:{os.environ['PATH']}"},
        capture_output=True,
        text=True,
        timeout=240,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    out = proc.stdout
    assert out.index("== limits (") < out.index("== bench_draw") and out.count("== limits (") == 1
    header = next(line for line in out.splitlines() if line.startswith("figure "))
    assert header.split()[:6] == ["figure", "value", "limit", "of_limit", "goal", "met"]

    doc = json.loads((tmp_path / "results.json").read_text())
    assert set(doc["limits"]) == set(PRIMITIVES) and doc["seconds"] >= 0
    assert all(p["value"] > 0 for p in doc["limits"].values())
    assert doc["machine"].split(", ")[-1].startswith(connection.vendor)
    for name, runs in bench_draw.RUNS.items():
        figure = doc["results"][name]
        assert figure["limit_of"] == "py_hash_bisect_s"
        primitive, draws = figure["paired"]["primitive_runs"], figure["paired"]["figure_runs"]
        assert len(draws) == runs and len(primitive) == runs + 1  # one before each draw, one after
        assert figure["value"] == pytest.approx(statistics.median(draws), rel=1e-3)
        assert figure["limit"] == pytest.approx(statistics.median(primitive), rel=1e-3)
        # each draw against the primitive runs either side of it (a time: primitive / figure)
        each = [(primitive[i] * primitive[i + 1]) ** 0.5 / f for i, f in enumerate(draws)]
        assert figure["paired"]["of_limit_pairs"] == pytest.approx(each, abs=2e-3)
        assert figure["of_limit"] == pytest.approx(statistics.median(each), abs=2e-3)
        assert f"\n{name} " in out
    memory = doc["results"]["draw_1m_memory_s"]
    assert memory["goal"] == 0.8 and memory["met"] == (memory["of_limit"] >= 0.8)
    assert list(memory)[:4] == ["value", "unit", "baseline", "ratio"]
    assert _scratch_tables() == set() and _stage_keys() == []
