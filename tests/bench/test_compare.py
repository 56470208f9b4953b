"""Two runs side by side: a move is judged on the log ratio, so halving and doubling weigh the same."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bench.compare import compare, main


def _doc(**figures: tuple[float, float | None]) -> dict:
    return {"results": {k: {"value": v, "unit": "s", "of_limit": o} for k, (v, o) in figures.items()}}


def test_of_limit_that_tracked_the_machine_moved_less_than_the_value() -> None:
    quiet = _doc(credit=(0.5, 0.8), draw=(0.3, 0.85), dash=(40.0, None), only_a=(1.0, 1.0))
    busy = _doc(credit=(1.0, 0.7), draw=(0.45, 0.8), dash=(60.0, None))
    rows = {r["figure"]: r for r in compare(quiet, busy)}
    assert set(rows) == {"credit", "draw", "dash"}  # figures in both runs only
    assert rows["credit"]["value_change_pct"] == 100.0 and rows["credit"]["of_limit_change_pct"] == -12.5
    assert rows["credit"]["of_limit_moved_less"] is True
    assert rows["dash"]["of_limit_moved_less"] is None  # no limit: nothing to judge


def test_a_limit_that_did_not_move_with_the_value_is_not_moving_less() -> None:
    # the time doubled and the limit did not move: of_limit halved, the same move in log terms
    rows = compare(_doc(x=(1.0, 1.0)), _doc(x=(2.0, 0.5)))
    assert rows[0]["value_change_pct"] == 100.0 and rows[0]["of_limit_change_pct"] == -50.0
    assert rows[0]["of_limit_moved_less"] is False
    # the limit moved against the value: of_limit moved more
    rows = compare(_doc(x=(1.0, 1.0)), _doc(x=(1.1, 0.8)))
    assert rows[0]["of_limit_moved_less"] is False


def test_main_prints_one_line_per_figure(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    a, b = tmp_path / "a.json", tmp_path / "b.json"
    a.write_text(json.dumps(_doc(credit=(0.5, 0.8))))
    b.write_text(json.dumps(_doc(credit=(1.0, 0.7))))
    assert main([str(a), str(b)]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split()[0] == "figure" and len(lines) == 2
    expected = ["credit", "0.5", "->", "1.0", "+100.0", "%", "0.8", "->", "0.7", "-12.5", "%", "yes"]
    assert lines[1].split() == expected
