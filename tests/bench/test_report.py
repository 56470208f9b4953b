"""Each figure read beside its limit: the direction of ``of_limit``, goals, targets, the table."""

from __future__ import annotations

import pytest

from bench import report
from bench.report import annotate, of_limit, spread, table

LIMITS = {  # the limits stage: the machine's summary, printed under the figures
    "redis_setnx_zadd_msgs_per_s": {"value": 40_000, "unit": "msg/s"},
    "py_hash_bisect_s": {"value": 0.25, "unit": "s"},
}


def _paired(value: float, unit: str, limit: float, primitive: str, **extra: object) -> dict:
    """A figure as its bench writes it: value, and the paired limit and of_limit."""
    ratio = value / limit if unit.endswith("/s") else limit / value
    return {
        "value": value,
        "unit": unit,
        "limit": limit,
        "limit_of": primitive,
        "of_limit": round(ratio, 3),
        **extra,
    }


def test_a_rate_is_figure_over_limit_and_a_time_is_limit_over_figure() -> None:
    assert of_limit(20_000, 40_000, "msg/s") == 0.5  # half the primitive's rate
    assert of_limit(1.0, 0.5, "s") == 0.5  # twice the primitive's time
    assert of_limit(0.9, 0.3, "ms") == pytest.approx(1 / 3)
    assert of_limit(0.2, 0.25, "s") == pytest.approx(1.25)  # beyond the primitive: above 1


@pytest.mark.parametrize(("value", "limit"), [(0, 1), (1, 0), (-1, 1), (1, -2)])
def test_of_limit_is_none_when_it_cannot_be_measured(value: float, limit: float) -> None:
    assert of_limit(value, limit, "s") is None


def test_ingest_keeps_its_paired_limit_and_is_judged_against_its_goal() -> None:
    entry = annotate(
        "ingest_msgs_per_s",
        {"value": 20_000, "unit": "msg/s", "baseline": 1_000, "ratio": 20, "limit": 40_000}
        | {"limit_of": "redis_setnx_zadd_msgs_per_s", "of_limit": 0.5, "paired": {"pairs": []}},
    )
    assert list(entry)[:9] == [
        "value",
        "unit",
        "baseline",
        "ratio",
        "limit",
        "limit_of",
        "of_limit",
        "goal",
        "met",
    ]
    assert entry["limit"] == 40_000 and entry["limit_of"] == "redis_setnx_zadd_msgs_per_s"
    assert entry["of_limit"] == 0.5 and entry["goal"] == 0.45 and entry["met"] is True
    assert entry["paired"] == {"pairs": []}  # the bench's details follow
    slow = annotate("ingest_msgs_per_s", _paired(16_000, "msg/s", 40_000, "redis_setnx_zadd_msgs_per_s"))
    assert slow["of_limit"] == 0.4 and slow["met"] is False


def test_the_of_limit_judged_is_the_benchs_own_not_value_over_limit() -> None:
    # median of per-pair ratios: close to value / limit (0.806), not always equal
    entry = {"value": 0.31, "unit": "s", "limit": 0.25, "limit_of": "py_hash_bisect_s", "of_limit": 0.833}
    out = annotate("draw_1m_memory_s", entry)
    assert out["of_limit"] == 0.833 and out["met"] is True  # goal 0.8


def test_time_figures_meet_their_goal_only_within_the_allowed_multiple_of_the_limit() -> None:
    credit = annotate("watchtime_credit_100k_s", _paired(0.75, "s", 0.5, "db_upsert_100k_s"))
    assert credit["of_limit"] == pytest.approx(0.667, abs=1e-3) and credit["met"] is True  # goal 0.65
    credit = annotate("watchtime_credit_100k_s", _paired(0.8, "s", 0.5, "db_upsert_100k_s"))
    assert credit["of_limit"] == 0.625 and credit["met"] is False
    top = annotate("leaderboard_top25_p95_ms", _paired(1.0, "ms", 0.3, "mirror_top25_p95_ms"))
    assert top["of_limit"] == 0.3 and top["met"] is False  # goal 0.33: at most ~3x the primitive
    fold = annotate("watchtime_month_close_s", _paired(5.0, "s", 2.5, "db_upsert_100k_s"))
    assert fold["of_limit"] == 0.5 and fold["met"] is None  # no goal: reported only


def test_figures_no_primitive_bounds_keep_an_absolute_target() -> None:
    dash = annotate("dashboard_overview_p95_ms", {"value": 90.0, "unit": "ms"})
    assert dash["limit"] is None and dash["of_limit"] is None and dash["limit_of"] is None
    assert dash["target"] == 150 and dash["met"] is True
    sr = annotate("sr_to_discord_p95_ms", {"value": 600.0, "unit": "ms"})
    assert sr["target"] == 500 and sr["met"] is False


def test_a_missing_or_foreign_paired_limit_gives_no_limit_rather_than_a_wrong_one() -> None:
    unpaired = annotate("ingest_msgs_per_s", {"value": 1.0, "unit": "msg/s"})
    assert unpaired["limit"] is None and unpaired["of_limit"] is None
    assert unpaired["met"] is False  # a goal without a limit is not met
    foreign = annotate("ingest_msgs_per_s", _paired(1.0, "msg/s", 2.0, "parse_frames_per_s"))
    assert foreign["limit"] is None and foreign["limit_of"] is None and foreign["of_limit"] is None
    unknown = annotate("not_a_known_figure", _paired(1.0, "s", 2.0, "py_hash_bisect_s"))
    assert unknown["limit"] is None and unknown["met"] is None
    no_ratio = annotate("draw_1m_db_s", {**_paired(1.0, "s", 2.0, "py_hash_bisect_s"), "of_limit": None})
    assert no_ratio["limit"] is None


def test_spread_is_the_median_with_every_run_and_its_relative_range() -> None:
    assert spread([10.0, 12.0, 11.0, 30.0, 9.0]) == {
        "value": 11.0,
        "runs": [10.0, 12.0, 11.0, 30.0, 9.0],
        "spread_pct": round(21 / 11 * 100, 1),
    }


def test_table_prints_a_row_per_figure_with_value_limit_of_limit_goal_and_met() -> None:
    results = report.annotate_all(
        {
            "ingest_msgs_per_s": _paired(20_000, "msg/s", 40_000, "redis_setnx_zadd_msgs_per_s"),
            "draw_1m_memory_s": _paired(0.5, "s", 0.25, "py_hash_bisect_s"),
            "dashboard_overview_p95_ms": {**spread([40, 42, 44, 41, 90]), "unit": "ms"},
            "watchtime_mirror_rebuild_1m_s": {"value": 3.0, "unit": "s"},
        }
    )
    lines = table(results, LIMITS).splitlines()
    assert lines[0].split()[:6] == ["figure", "value", "limit", "of_limit", "goal", "met"]
    rows = {line.split()[0]: line for line in lines[1:] if line.strip()}
    assert rows["ingest_msgs_per_s"].split()[1:9] == [
        "20,000", "msg/s", "40,000", "msg/s", "0.50", ">=", "0.45", "yes",
    ]  # fmt: skip
    assert rows["draw_1m_memory_s"].split()[1:9] == ["0.5", "s", "0.25", "s", "0.50", ">=", "0.8", "NO"]
    dash = rows["dashboard_overview_p95_ms"].split()
    assert dash[1:4] == ["42", "ms", "-"] and "<" in dash and "150" in dash and "yes" in dash
    assert rows["dashboard_overview_p95_ms"].rstrip().endswith("119 % of 5")
    assert rows["watchtime_mirror_rebuild_1m_s"].split()[1:5] == ["3", "s", "-", "-"]
    machine = next(i for i, line in enumerate(lines) if line.startswith("machine "))
    assert machine > max(i for i, line in enumerate(lines) if line.startswith("watchtime_mirror"))
    assert rows["redis_setnx_zadd_msgs_per_s"].split()[1:3] == ["40,000", "msg/s"]  # the stage, after
    assert rows["py_hash_bisect_s"].split()[1:3] == ["0.25", "s"]
