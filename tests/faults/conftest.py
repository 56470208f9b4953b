"""The fault suite runs only when asked (``make faults`` → ``pytest -m faults tests/faults``)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.faults.harness import RESULTS, World, table


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "faults: real processes killed on purpose (make faults)")
    config.addinivalue_line("markers", "load: floods through the real ingestion (make load)")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    wanted = config.getoption("-m") or ""
    for item in items:
        for mark in ("faults", "load"):
            if item.get_closest_marker(mark) and mark not in wanted:
                item.add_marker(pytest.mark.skip(reason=f"run with make {mark}"))


@pytest.fixture
def world(tmp_path: Path) -> Iterator[World]:
    w = World(tmp=tmp_path)
    try:
        w.setup()
        yield w
    finally:
        w.close()


def pytest_sessionfinish(session: pytest.Session) -> None:
    if RESULTS:
        text = table(RESULTS)
        print("\n\n" + text)
        out = Path(__file__).resolve().parents[2] / "var" / "reliability-last-run.md"
        out.parent.mkdir(parents=True, exist_ok=True)
        with out.open("a") as fh:
            fh.write(text + "\n")
