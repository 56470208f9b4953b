"""Each figure read beside its limit: the direction of ``of_limit``, goals, targets, the table."""

from __future__ import annotations

import pytest

from bench import report
from bench.report import annotate, of_limit, spread, table

LIMITS = {
    "redis_setnx_zadd_msgs_per_s": {"value": 40_000, "unit": "msg/s"},
    "parse_frames_per_s": {"value": 200_000, "unit": "frames/s"},
    "db_upsert_100k_s": {"value": 0.5, "unit": "s", "rows": 100_000},
    "db_top25_p95_ms": {"value": 0.3, "unit": "ms"},
    "db_rank_count_p95_ms": {"value": 100.0, "unit": "ms"},
    "py_hash_bisect_s": {"value": 0.25, "unit": "s"},
}


def test_a_rate_is_figure_over_limit_and_a_time_is_limit_over_figure() -> None:
    assert of_limit(20_000, 40_000, "msg/s") == 0.5  # half the primitive's rate
    assert of_limit(1.0, 0.5, "s") == 0.5  # twice the primitive's time
    assert of_limit(0.9, 0.3, "ms") == pytest.approx(1 / 3)
    assert of_limit(0.2, 0.25, "s") == pytest.approx(1.25)  # beyond the primitive: above 1


@pytest.mark.parametrize(("value", "limit"), [(0, 1), (1, 0), (-1, 1), (1, -2)])
def test_of_limit_is_none_when_it_cannot_be_measured(value: float, limit: float) -> None:
    assert of_limit(value, limit, "s") is None


def test_ingest_is_read_against_pipelined_redis_with_its_goal() -> None:
    entry = annotate(
        "ingest_msgs_per_s", {"value": 20_000, "unit": "msg/s", "baseline": 1_000, "ratio": 20}, LIMITS
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
    slow = annotate("ingest_msgs_per_s", {"value": 16_000, "unit": "msg/s"}, LIMITS)
    assert slow["of_limit"] == 0.4 and slow["met"] is False


def test_time_figures_meet_their_goal_only_within_the_allowed_multiple_of_the_limit() -> None:
    credit = annotate("watchtime_credit_100k_s", {"value": 0.75, "unit": "s"}, LIMITS)
    assert credit["of_limit"] == pytest.approx(0.667, abs=1e-3) and credit["met"] is True  # goal 0.65
    credit = annotate("watchtime_credit_100k_s", {"value": 0.8, "unit": "s"}, LIMITS)
    assert credit["of_limit"] == 0.625 and credit["met"] is False
    top = annotate("leaderboard_top25_p95_ms", {"value": 1.0, "unit": "ms"}, LIMITS)
    assert top["of_limit"] == 0.3 and top["met"] is False  # goal 0.33: at most ~3x the index query
    draw = annotate("draw_1m_memory_s", {"value": 0.3, "unit": "s"}, LIMITS)
    assert draw["of_limit"] == pytest.approx(0.833, abs=1e-3) and draw["met"] is True  # goal 0.8


def test_a_limit_measured_on_other_row_counts_is_scaled_to_the_figures_rows() -> None:
    fold = annotate("watchtime_month_close_s", {"value": 5.0, "unit": "s", "month_rows": 500_000}, LIMITS)
    assert fold["limit"] == 2.5  # 0.5 s per 100,000 rows x 5
    assert fold["of_limit"] == 0.5 and fold["met"] is None  # no goal: reported only


def test_figures_no_primitive_bounds_keep_an_absolute_target() -> None:
    dash = annotate("dashboard_overview_p95_ms", {"value": 90.0, "unit": "ms"}, LIMITS)
    assert dash["limit"] is None and dash["of_limit"] is None and dash["limit_of"] is None
    assert dash["target"] == 150 and dash["met"] is True
    sr = annotate("sr_to_discord_p95_ms", {"value": 600.0, "unit": "ms"}, LIMITS)
    assert sr["target"] == 500 and sr["met"] is False


def test_a_missing_primitive_or_a_unit_mismatch_gives_no_limit_rather_than_a_wrong_one() -> None:
    assert annotate("ingest_msgs_per_s", {"value": 1.0, "unit": "msg/s"}, {})["of_limit"] is None
    wrong = {"redis_setnx_zadd_msgs_per_s": {"value": 5.0, "unit": "s"}}
    entry = annotate("ingest_msgs_per_s", {"value": 1.0, "unit": "msg/s"}, wrong)
    assert entry["limit"] is None and entry["met"] is False  # a goal without a limit is not met
    assert annotate("not_a_known_figure", {"value": 1.0, "unit": "s"}, LIMITS)["limit"] is None


def test_spread_is_the_median_with_every_run_and_its_relative_range() -> None:
    assert spread([10.0, 12.0, 11.0, 30.0, 9.0]) == {
        "value": 11.0,
        "runs": [10.0, 12.0, 11.0, 30.0, 9.0],
        "spread_pct": round(21 / 11 * 100, 1),
    }


def test_table_prints_a_row_per_figure_with_value_limit_of_limit_goal_and_met() -> None:
    results = report.annotate_all(
        {
            "ingest_msgs_per_s": {"value": 20_000, "unit": "msg/s"},
            "draw_1m_memory_s": {"value": 0.5, "unit": "s"},
            "dashboard_overview_p95_ms": {**spread([40, 42, 44, 41, 90]), "unit": "ms"},
            "watchtime_mirror_rebuild_1m_s": {"value": 3.0, "unit": "s"},
        },
        LIMITS,
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
    for name in LIMITS:  # the primitives, after the figures
        assert name in rows
