"""Each figure beside the primitive that bounds it: ``limit``, ``of_limit``, goal, and the table.

``of_limit`` is 1.0 at the limit: figure / limit for a rate, limit / figure for a time. Each bench
measures its figures' primitives interleaved with the figures' own repetitions
(``bench/paired.py``) and writes ``limit``, ``limit_of`` and ``of_limit`` itself; here they are
checked against the mapping (a primitive other than the figure's gives no limit) and judged
against the goal. Which primitive bounds which figure, and why, is in bench/README.md.
"""

from __future__ import annotations

import statistics
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Bound:
    """How one figure is judged.

    ``limit``: the primitive (a name of bench/limits.py) bounding it, or None when none does.
    ``goal``: the least ``of_limit`` we hold ourselves to. ``target``: an absolute ceiling (same
    unit as the figure) for a figure no primitive bounds.
    """

    limit: str | None
    goal: float | None = None
    target: float | None = None


BOUNDS: dict[str, Bound] = {
    "ingest_msgs_per_s": Bound("redis_setnx_zadd_msgs_per_s", goal=0.45),
    "watchtime_credit_100k_s": Bound("db_upsert_100k_s", goal=0.65),
    "watchtime_month_close_s": Bound("db_upsert_100k_s"),
    "watchtime_mirror_rebuild_1m_s": Bound(None),
    "leaderboard_top25_p95_ms": Bound("mirror_top25_p95_ms", goal=0.33),
    "leaderboard_rank_p95_ms": Bound("mirror_rank_p95_ms"),
    "draw_1m_memory_s": Bound("py_hash_bisect_s", goal=0.8),
    "draw_1m_memory_3_winners_s": Bound("py_hash_bisect_s"),
    "draw_1m_memory_unsorted_s": Bound("py_hash_bisect_s"),
    "draw_1m_db_s": Bound("py_hash_bisect_s"),
    "slot_match_p95_ms": Bound(None, target=20),
    "sr_to_discord_p95_ms": Bound(None, target=500),
    "dashboard_overview_p95_ms": Bound(None, target=150),
}

# The order of a figure's first keys in results.json; the rest follow as measured.
_FIRST = ("value", "unit", "baseline", "ratio", "limit", "limit_of", "of_limit", "goal", "target", "met")


def sig(value: float, digits: int = 4) -> float:
    """``value`` to ``digits`` significant digits: a tiny scale's 40 µs stays 4e-05, not 0.0."""
    return float(f"{value:.{digits}g}")


def percentile95(samples: Sequence[float]) -> float:
    """The p95 of ``samples``: the value below which 95 % of them fall (the nearest-rank estimator)."""
    ordered = sorted(samples)
    return ordered[max(int(len(ordered) * 0.95) - 1, 0)]


def spread(runs: list[float]) -> dict[str, Any]:
    """A figure measured in several runs: the median as ``value``, each run, and (max - min) / median."""
    mid = statistics.median(runs)
    return {
        "value": sig(mid),
        "runs": [sig(r) for r in runs],
        "spread_pct": round((max(runs) - min(runs)) / mid * 100, 1) if mid else None,
    }


def is_rate(unit: str) -> bool:
    """``msg/s``, ``frames/s``: more is better. Anything else (``s``, ``ms``) is a time."""
    return unit.endswith("/s")


def of_limit(value: float, limit: float, unit: str) -> float | None:
    """1.0 = at the limit; below 1 = that fraction of what the primitive does. None if unmeasurable."""
    if not value or not limit or value < 0 or limit < 0:
        return None
    return value / limit if is_rate(unit) else limit / value


def annotate(figure: str, entry: dict[str, Any]) -> dict[str, Any]:
    """``entry`` with its paired ``limit``, ``limit_of``, ``of_limit`` checked; ``goal``/``target``, ``met``.

    A bench writes the three limit keys from its own interleaved measurement; they are kept only when
    they name the figure's primitive (``BOUNDS``) and hold a number, otherwise all three are None
    (never a limit measured apart from the figure, never a wrong one).
    """
    bound = BOUNDS.get(figure, Bound(None))
    out = dict(entry)
    paired = (
        bound.limit is not None and entry.get("limit_of") == bound.limit and entry.get("of_limit") is not None
    )
    ratio = float(entry["of_limit"]) if paired else None
    if not paired:
        out["limit"] = out["limit_of"] = out["of_limit"] = None
    met: bool | None = None
    if bound.goal is not None:
        out["goal"] = bound.goal
        met = ratio is not None and ratio >= bound.goal
    if bound.target is not None:
        out["target"] = bound.target
        met = float(entry["value"]) < bound.target
    out["met"] = met
    ordered = {k: out[k] for k in _FIRST if k in out}
    return {**ordered, **{k: v for k, v in out.items() if k not in ordered}}


def annotate_all(results: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {name: annotate(name, entry) for name, entry in results.items()}


def _num(value: float | None, unit: str = "") -> str:
    if value is None:
        return "-"
    text = f"{value:,.0f}" if abs(value) >= 1000 else f"{value:.4g}"
    return f"{text} {unit}".strip()


def _goal(entry: dict[str, Any]) -> str:
    if entry.get("goal") is not None:
        return f">= {entry['goal']:g}"
    if entry.get("target") is not None:
        return f"< {entry['target']:g} {entry['unit']}"
    return "-"


def _met(entry: dict[str, Any]) -> str:
    return {True: "yes", False: "NO", None: "-"}[entry.get("met")]


def _spread(entry: dict[str, Any]) -> str:
    return f"{entry['spread_pct']:.0f} % of {len(entry['runs'])}" if "spread_pct" in entry else ""


def table(results: dict[str, dict[str, Any]], limits: dict[str, dict[str, Any]]) -> str:
    """The figures (already annotated) as a plain-text table, then the limits stage's machine summary."""
    head = ("figure", "value", "limit", "of_limit", "goal", "met", "bounded by", "spread")
    rows = [head]
    for name, e in results.items():
        rows.append(
            (
                name,
                _num(e["value"], e["unit"]),
                _num(e.get("limit"), e["unit"]),
                f"{e['of_limit']:.2f}" if e.get("of_limit") is not None else "-",
                _goal(e),
                _met(e),
                e.get("limit_of") or "-",
                _spread(e),
            )
        )
    rows.append(("", "", "", "", "", "", "", ""))
    rows.append(("machine (limits stage; of_limit is paired)", "value", "", "", "", "", "", ""))
    for name, p in limits.items():
        rows.append((name, _num(p["value"], p["unit"]), "", "", "", "", "", ""))
    return columns(rows)


def columns(rows: Sequence[Sequence[str]]) -> str:
    """Rows of cells as left-aligned text columns, two spaces apart."""
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    return "\n".join("  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip() for r in rows)
