"""Each figure measured in turns with its primitive, inside the figure's own bench (issue 23).

A limit measured at another moment than its figure does not divide the machine out: on a shared
2-core box the load changes within seconds, and a run beside a CPU hog moved ``of_limit`` *more*
than the raw value for the draws and the watchtime credit when the limit came from a stage run
minutes away. So every bench that has a limit runs its primitive between its own repetitions:
primitive, figure, primitive, figure, ..., primitive (:func:`interleave`), and reads each figure
sample against the primitive runs right before and right after it (their geometric mean: a load
that rises or falls during the turn is met halfway from both sides, and neither side always runs
first, on the other's warm caches).

Two ways to read the turns, both here so that they are the same for every bench:

* :func:`by_median`, for figures repeated a few times (a draw, a credit tick, a segment of the
  ingest stream): ``value`` and ``limit`` are the medians of their sides, ``of_limit`` the median
  of the per-pair ratios (so it is close to ``value``/``limit``, not always equal: a pair that a
  burst of load slowed on both sides keeps its ratio, and a burst that hit one side only is one
  outlier among the pairs).
* :func:`by_p95`, for latencies sampled hundreds of times (top 25, rank): each turn is one call (or
  a few); ``value`` and ``limit`` are the p95 of all calls of their side, ``of_limit`` the ratio
  of their fastest tenths (a busy machine's waits fill a latency's tail, and then its median,
  whatever the call's work, so the ratio of two p95s drifts toward 1 as the load rises; see
  :func:`by_p95`).

Nothing here times anything except :func:`timed` and :func:`calls_ms`, which the benches use to
produce their samples; the arithmetic is tested without a clock (tests/bench/test_paired.py).
"""

from __future__ import annotations

import gc
import math
import statistics
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from bench.report import of_limit, percentile95, sig

P = TypeVar("P")
F = TypeVar("F")


@dataclass(frozen=True)
class Turns(Generic[P, F]):
    """What :func:`interleave` measured: ``primitive`` has one run more than ``figure``
    (before the first figure run, between each two, after the last)."""

    primitive: list[P]
    figure: list[F]

    def __post_init__(self) -> None:
        if len(self.primitive) != len(self.figure) + 1:
            raise ValueError("a primitive run before each figure run and one after the last")


def interleave(primitive: Callable[[], P], figure: Callable[[], F], n: int) -> Turns[P, F]:
    """Primitive, figure, primitive, ..., figure, primitive: ``n`` figure runs, ``n + 1`` primitive runs.

    Each callable measures itself and returns its sample: a time, a rate, or a list of call times.
    """
    primitives, figures = [primitive()], []
    for _ in range(n):
        figures.append(figure())
        primitives.append(primitive())
    return Turns(primitives, figures)


def pairs(turns: Turns[float, float]) -> list[tuple[float, float]]:
    """Each figure sample with the geometric mean of the primitive runs right before and after it."""
    p = turns.primitive
    return [(math.sqrt(p[i] * p[i + 1]), f) for i, f in enumerate(turns.figure)]


def figure_number(value: float) -> float:
    """A rate of thousands as a whole number, anything else to 4 significant digits."""
    return round(value) if value >= 1000 else sig(value)


def ratios(pairs: Sequence[tuple[float, float]], unit: str) -> list[float | None]:
    """Each pair's ``of_limit`` (figure / primitive for a rate, primitive / figure for a time)."""
    return [of_limit(f, p, unit) for p, f in pairs]


def by_median(turns: Turns[float, float], unit: str, primitive: str) -> dict[str, Any]:
    """Runs of single samples: medians of both sides, and the median of the per-pair ratios."""
    if not turns.figure:
        raise ValueError("no figure runs measured")
    each = ratios(pairs(turns), unit)
    measured = [r for r in each if r is not None]
    return {
        "value": figure_number(statistics.median(turns.figure)),
        "unit": unit,
        "limit": figure_number(statistics.median(turns.primitive)),
        "limit_of": primitive,
        "of_limit": round(statistics.median(measured), 3) if measured else None,
        "paired": {
            "how": "median of per-pair ratios; a pair: a figure run and the primitive runs either side",
            "primitive_runs": [figure_number(x) for x in turns.primitive],
            "figure_runs": [figure_number(x) for x in turns.figure],
            "of_limit_pairs": [None if r is None else round(r, 3) for r in each],
        },
    }


def fastest_tenth(samples: Sequence[float]) -> float:
    """The p10 of ``samples``: the call time that a tenth of the calls beat (nearest rank)."""
    ordered = sorted(samples)
    return ordered[max(int(len(ordered) * 0.1) - 1, 0)]


def by_p95(turns: Turns[Sequence[float], Sequence[float]], unit: str, primitive: str) -> dict[str, Any]:
    """Turns of a call or a few of each: ``value`` and ``limit`` the p95 of each side's calls,
    ``of_limit`` the ratio of their fastest tenths (p10).

    Not the ratio of the p95s, nor of the medians: a call of a millisecond on a busy machine either
    runs through or waits for the CPU, and the wait does not grow with the call's work (a
    descheduled process waits its turn whatever it was doing). The waits fill the tail first and,
    on a loaded machine, reach the median, so two p95s (or medians) converge as the load rises and
    their ratio drifts toward 1. The fastest tenth of each side, measured in the same turns, are the
    calls that did not wait: their ratio is the ratio of the work.
    """
    limit_calls = [x for calls in turns.primitive for x in calls]
    figure_calls = [x for calls in turns.figure for x in calls]
    if not limit_calls or not figure_calls:
        raise ValueError("no calls measured")
    fastest = fastest_tenth(limit_calls), fastest_tenth(figure_calls)
    ratio = of_limit(fastest[1], fastest[0], unit)
    return {
        "value": sig(percentile95(figure_calls)),
        "unit": unit,
        "limit": sig(percentile95(limit_calls)),
        "limit_of": primitive,
        "of_limit": None if ratio is None else round(ratio, 3),
        "paired": {
            "how": "value and limit: p95 of each side's calls, in turns; of_limit: ratio of their p10s",
            "turns": len(turns.figure),
            "calls": [len(limit_calls), len(figure_calls)],
            "p10": [sig(x) for x in fastest],
            "median": [sig(statistics.median(limit_calls)), sig(statistics.median(figure_calls))],
        },
    }


def scaled(turns: Turns[float, F], factor: float) -> Turns[float, F]:
    """The primitive's side times ``factor``: a time measured on other row counts, scaled to the figure's."""
    return Turns([p * factor for p in turns.primitive], turns.figure)


# --- producing samples (the benches' side; not unit-tested: it reads a clock) ---------------


def timed(fn: Callable[[], Any]) -> tuple[float, Any]:
    """Seconds one call of ``fn`` took (after a ``gc.collect()``), and what it returned."""
    gc.collect()
    t0 = time.perf_counter()
    result = fn()
    return time.perf_counter() - t0, result


def calls_ms(fn: Callable[[], Any], n: int) -> list[float]:
    """The time of each of ``n`` calls, in ms."""
    out = []
    for _ in range(n):
        t0 = time.perf_counter()
        fn()
        out.append((time.perf_counter() - t0) * 1000)
    return out
