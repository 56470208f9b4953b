"""Verifiable draw: snapshot hashing + winner selection over ~1M entrants held in memory.

The data is what the raffle service holds after ``SELECT kick_user_id, tickets ... ORDER BY
kick_user_id``: a list of ``(kick_user_id, tickets)`` pairs in id order, about 50 tickets
each (1..99), ids 8 digits. Built deterministically from ``random.Random(7)``.

Measured (best of a few runs, after ``gc.collect()``): ``build_snapshot`` (validation,
snapshot bytes with one join, SHA-256, cumulative ranges) + ``draw_winners(..., 1)``. The naive
baseline is a per-row Python loop building the snapshot string with ``+=`` and a linear scan
for the ticket; it validates nothing and keeps no ranges (CPython's in-place ``+=`` keeps it
linear), so the ratio is small. The limit (``py_hash_bisect_s`` of the limits stage) is the same
work over the same pairs without the checks; bench/README.md says why the draw used to be slower
than this naive loop and what changed.
Extra figures: the same with 3 winners, and with the pairs in random order (adds a sort).
"""

from __future__ import annotations

import gc
import hashlib
import random
import time
from collections.abc import Callable
from typing import Any

from bench.report import sig
from raffle.draw import build_snapshot, draw_winners, pick_ticket

SEED = "11c4e7c42ccc1eb2fa6a8575b796c303ed2f78b81524f59159a0571ed3e7d1f4"
BEACON = "fc1873a13f3545aeade8401532ef5519920652eee6b0d2b19ca12643b87b3587"


def entrant_count(scale: float) -> int:
    """Entrants at ``scale`` (1,000,000 at 1.0)."""
    return max(10, int(1_000_000 * scale))


def make_entrants(n: int) -> list[tuple[int, int]]:
    """``n`` ``(kick_user_id, tickets)`` pairs in id order (the limits stage draws over the same)."""
    rng = random.Random(7)
    entrants: list[tuple[int, int]] = []
    uid = 10_000_000
    for _ in range(n):
        uid += rng.randint(1, 60)
        entrants.append((uid, rng.randint(1, 99)))
    return entrants


def naive(entrants: list[tuple[int, int]]) -> tuple[str, int]:
    """The obvious code: string += per row, then scan the rows for the ticket."""
    text = ""
    total = 0
    for uid, tickets in entrants:
        text += f"{uid},{tickets}\n"
        total += tickets
    snapshot_hash = hashlib.sha256(text.encode()).hexdigest()
    ticket, _ = pick_ticket(SEED, snapshot_hash, BEACON, 0, total)
    start = 0
    for uid, tickets in entrants:
        if ticket < start + tickets:
            return snapshot_hash, uid
        start += tickets
    raise AssertionError("ticket out of range")


def best_of(fn: Callable[[], Any], repeat: int) -> tuple[float, Any]:
    best = float("inf")
    result = None
    for _ in range(repeat):
        gc.collect()
        t0 = time.perf_counter()
        result = fn()
        best = min(best, time.perf_counter() - t0)
    return best, result


def run(scale: float) -> dict[str, dict[str, Any]]:
    n = entrant_count(scale)
    entrants = make_entrants(n)

    def fast(winners: int, data: list[tuple[int, int]] = entrants) -> tuple[str, int]:
        snap = build_snapshot(data)
        return snap.snapshot_hash, draw_winners(SEED, snap, BEACON, winners)[0].kick_user_id

    fast_1, result_1 = best_of(lambda: fast(1), 5)
    fast_3, result_3 = best_of(lambda: fast(3), 3)
    slow, result_naive = best_of(lambda: naive(entrants), 3)
    shuffled = entrants[:]
    random.Random(7).shuffle(shuffled)
    fast_shuffled, result_s = best_of(lambda: fast(1, shuffled), 2)
    if not result_1 == result_3 == result_s == result_naive:
        raise AssertionError(f"fast and naive draws disagree: {result_1} {result_naive}")
    tickets = sum(t for _, t in entrants)
    note = f"{n} entrants, {tickets} tickets"
    return {
        "draw_1m_memory_s": {
            "value": sig(fast_1),
            "unit": "s",
            "baseline": sig(slow),
            "ratio": round(slow / fast_1, 2),
            "note": f"snapshot bytes+sha256+ranges and 1 winner; {note}; pairs in id order",
        },
        "draw_1m_memory_3_winners_s": {
            "value": sig(fast_3),
            "unit": "s",
            "note": f"same with 3 winners; {note}",
        },
        "draw_1m_memory_unsorted_s": {
            "value": sig(fast_shuffled),
            "unit": "s",
            "note": f"same with 1 winner, pairs in random order (adds the sort); {note}",
        },
    }


if __name__ == "__main__":
    import os

    print(run(float(os.environ.get("BENCH_SCALE", "1.0"))))
