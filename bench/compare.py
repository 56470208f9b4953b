"""Two ``make bench`` results side by side: did each ``of_limit`` move less than its value?

``python -m bench.compare quiet.json busy.json`` prints, per figure measured in both, the change of
its value and of its ``of_limit`` in %, and whether ``of_limit`` moved less. "Moved" is judged on
the size of the log ratio, ``|ln(b / a)|``, so that a doubling and a halving are the same move
(in plain %, a time that doubles would be +100 % while its ``of_limit`` halving reads -50 %).
"""

from __future__ import annotations

import json
import math
import sys
from pathlib import Path
from typing import Any

from bench.report import columns


def change(a: float | None, b: float | None) -> float | None:
    """``b`` against ``a`` as a log ratio (None when either is missing or not positive)."""
    if not a or not b or a <= 0 or b <= 0:
        return None
    return math.log(b / a)


def compare(a: dict[str, Any], b: dict[str, Any]) -> list[dict[str, Any]]:
    """One row per figure in both documents' ``results``."""
    rows = []
    for name, fa in a["results"].items():
        fb = b["results"].get(name)
        if fb is None:
            continue
        dv = change(fa.get("value"), fb.get("value"))
        dl = change(fa.get("of_limit"), fb.get("of_limit"))
        rows.append(
            {
                "figure": name,
                "value": (fa.get("value"), fb.get("value")),
                "of_limit": (fa.get("of_limit"), fb.get("of_limit")),
                "value_change_pct": None if dv is None else round((math.exp(dv) - 1) * 100, 1),
                "of_limit_change_pct": None if dl is None else round((math.exp(dl) - 1) * 100, 1),
                "of_limit_moved_less": None if dv is None or dl is None else abs(dl) < abs(dv),
            }
        )
    return rows


def render(rows: list[dict[str, Any]]) -> str:
    head = ("figure", "value a -> b", "change", "of_limit a -> b", "change", "of_limit moved less")
    lines = [head]

    def pct(x: float | None) -> str:
        return "-" if x is None else f"{x:+.1f} %"

    for r in rows:
        lines.append(
            (
                r["figure"],
                f"{r['value'][0]} -> {r['value'][1]}",
                pct(r["value_change_pct"]),
                f"{r['of_limit'][0]} -> {r['of_limit'][1]}",
                pct(r["of_limit_change_pct"]),
                {True: "yes", False: "NO", None: "-"}[r["of_limit_moved_less"]],
            )
        )
    return columns(lines)


def main(argv: list[str]) -> int:
    a, b = (json.loads(Path(p).read_text()) for p in argv)
    print(render(compare(a, b)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
