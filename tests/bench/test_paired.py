"""A figure and its primitive in turns: which runs first, how the pairs become one ``of_limit``.

Nothing here reads a clock: the samples are made-up numbers, the callables fakes that record
their order.
"""

from __future__ import annotations

from collections.abc import Callable
from itertools import pairwise

import pytest

from bench.compare import compare
from bench.paired import Turns, by_median, by_p95, interleave, pairs, ratios, scaled
from bench.report import percentile95


def test_interleave_runs_the_primitive_before_each_figure_run_and_after_the_last() -> None:
    calls: list[str] = []

    def side(name: str) -> Callable[[], str]:
        def once() -> str:
            calls.append(name)
            return f"{name}{sum(c == name for c in calls)}"

        return once

    turns = interleave(side("p"), side("f"), 3)
    assert calls == ["p", "f", "p", "f", "p", "f", "p"]
    assert turns.primitive == ["p1", "p2", "p3", "p4"] and turns.figure == ["f1", "f2", "f3"]


def test_turns_need_one_primitive_run_more_than_figure_runs() -> None:
    with pytest.raises(ValueError):
        Turns([1.0, 2.0], [1.0, 2.0])


def test_each_figure_run_is_paired_with_the_geometric_mean_of_the_primitive_runs_either_side() -> None:
    # the load doubled during the second figure run: its primitive neighbours say so
    assert pairs(Turns([1.0, 1.0, 4.0], [2.0, 4.0])) == [(1.0, 2.0), (2.0, 4.0)]


def test_a_pairs_ratio_is_figure_over_primitive_for_a_rate_and_primitive_over_figure_for_a_time() -> None:
    assert ratios([(40_000.0, 20_000.0)], "msg/s") == [0.5]
    assert ratios([(0.25, 0.5)], "s") == [0.5]
    assert ratios([(0.0, 0.5), (0.25, 0.0)], "s") == [None, None]  # nothing measured: no ratio


def test_by_median_reports_both_medians_and_the_median_of_the_pairs_ratios() -> None:
    # primitive runs either side of each draw; the third draw ran while something slowed both sides
    turns = Turns([0.25, 0.25, 0.25, 0.64, 0.25, 0.25], [0.30, 0.31, 0.80, 0.33, 0.29])
    out = by_median(turns, "s", "py_hash_bisect_s")
    assert out["value"] == 0.31 and out["limit"] == 0.25 and out["unit"] == "s"
    assert out["limit_of"] == "py_hash_bisect_s"
    each = [0.25 / 0.30, 0.25 / 0.31, 0.4 / 0.80, 0.4 / 0.33, 0.25 / 0.29]
    assert out["paired"]["of_limit_pairs"] == [round(r, 3) for r in each]
    assert out["of_limit"] == round(sorted(each)[2], 3) == 0.833  # not 0.25 / 0.31 = 0.806
    assert out["paired"]["primitive_runs"] == turns.primitive
    assert out["paired"]["figure_runs"] == turns.figure


def test_by_median_of_rates_rounds_thousands_to_whole_numbers() -> None:
    turns = Turns([40_000.4, 40_000.4, 30_000.0, 48_400.0], [20_000.2, 18_000.0, 26_400.0])
    out = by_median(turns, "msg/s", "redis_setnx_zadd_msgs_per_s")
    assert out["value"] == 20_000 and out["limit"] == 40_000
    # ratios: 20,000 / 40,000; 18,000 / sqrt(40,000 x 30,000); 26,400 / sqrt(30,000 x 48,400)
    assert out["paired"]["of_limit_pairs"] == [0.5, 0.52, 0.693]
    assert out["of_limit"] == 0.52


def test_by_median_skips_a_pair_without_a_ratio_and_refuses_no_runs() -> None:
    out = by_median(Turns([0.0, 0.5, 0.5, 0.6], [1.0, 1.0, 1.0]), "s", "db_upsert_100k_s")
    assert out["paired"]["of_limit_pairs"] == [None, 0.5, round((0.5 * 0.6) ** 0.5, 3)]
    assert out["of_limit"] == round((0.5 + (0.5 * 0.6) ** 0.5) / 2, 3)
    assert by_median(Turns([0.0, 0.0], [1.0]), "s", "x")["of_limit"] is None
    with pytest.raises(ValueError):
        by_median(Turns([1.0], []), "s", "x")


def test_a_slowdown_shared_by_both_sides_leaves_of_limit_where_it_was() -> None:
    """The acceptance of issue 23 in arithmetic: a busy machine slows every turn by its own factor."""
    primitive, figure = [0.25, 0.26, 0.24, 0.25, 0.25, 0.26], [0.30, 0.31, 0.30, 0.32, 0.29]
    load = [1.4, 1.9, 1.3, 1.6, 1.5, 1.7]  # the load of each moment...
    between = [(a * b) ** 0.5 for a, b in pairwise(load)]  # ...and between two
    quiet = by_median(Turns(primitive, figure), "s", "p")
    busy = by_median(
        Turns(
            [p * k for p, k in zip(primitive, load, strict=True)],
            [f * k for f, k in zip(figure, between, strict=True)],
        ),
        "s",
        "p",
    )
    assert busy["of_limit"] == quiet["of_limit"]
    [row] = compare({"results": {"x": quiet}}, {"results": {"x": busy}})
    assert row["value_change_pct"] > 40 and row["of_limit_change_pct"] == 0.0
    assert row["of_limit_moved_less"] is True


def test_by_p95_reports_each_sides_p95_and_the_ratio_of_their_fastest_tenths() -> None:
    primitive = [[float(i)] for i in range(1, 101)]  # 1..100 ms, one call a turn
    figure = [[2.0 * i, 2.0 * i + 1] for i in range(1, 100)]  # two calls a turn: 2..199 ms
    out = by_p95(Turns(primitive, figure), "ms", "mirror_top25_p95_ms")
    assert out["limit"] == percentile95([float(i) for i in range(1, 101)]) == 95.0
    assert out["value"] == percentile95([x for f in figure for x in f]) == 189.0
    assert out["paired"]["p10"] == [10.0, 20.0]  # the 10th of 100, the 19th of 198
    assert out["of_limit"] == 0.5
    assert out["paired"]["median"] == [50.5, 100.5]
    assert out["paired"]["turns"] == 99 and out["paired"]["calls"] == [100, 198]
    with pytest.raises(ValueError):
        by_p95(Turns([[], []], [[1.0]]), "ms", "x")


def test_waits_for_the_cpu_move_the_p95s_and_medians_not_the_of_limit() -> None:
    """Busy: more than half the calls of each side wait 2 ms for the CPU, whatever their work."""
    quiet_p, quiet_f = [0.5 + i / 1000 for i in range(100)], [1.0 + i / 1000 for i in range(99)]
    busy_p = [x + (2.0 if i % 10 >= 4 else 0.0) for i, x in enumerate(quiet_p)]
    busy_f = [x + (2.0 if i % 10 >= 4 else 0.0) for i, x in enumerate(quiet_f)]
    quiet = by_p95(Turns([[x] for x in quiet_p], [[x] for x in quiet_f]), "ms", "p")
    busy = by_p95(Turns([[x] for x in busy_p], [[x] for x in busy_f]), "ms", "p")
    assert busy["value"] > 2 * quiet["value"] and busy["paired"]["median"] != quiet["paired"]["median"]
    medians = [m[0] / m[1] for m in (quiet["paired"]["median"], busy["paired"]["median"])]
    assert medians[1] > 1.3 * medians[0]  # the medians' ratio drifts toward 1
    assert busy["of_limit"] == pytest.approx(quiet["of_limit"], rel=0.02)


def test_percentile95_is_the_nearest_rank_below_which_95_percent_fall() -> None:
    assert percentile95(list(range(100, 0, -1))) == 95  # any order
    assert percentile95([7.0]) == 7.0
    assert percentile95([1.0, 2.0, 3.0]) == 2.0


def test_scaled_multiplies_only_the_primitive_side() -> None:
    # an upsert of 100,000 rows against a fold of 500,000: the limit is five upserts
    assert scaled(Turns([0.4, 0.5], [3.0]), 5) == Turns([2.0, 2.5], [3.0])
