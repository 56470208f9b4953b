"""The fault suite runs only when asked (``make faults`` → ``pytest -m faults tests/faults``)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from tests.faults.harness import (
    POSTGRES_SERVER,
    RESULTS,
    World,
    postgres_problem,
    table,
    throwaway_postgres,
)


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "faults: real processes killed on purpose (make faults)")
    config.addinivalue_line("markers", "load: floods through the real ingestion (make load)")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    wanted = config.getoption("-m") or ""
    for item in items:
        for mark in ("faults", "load"):
            if item.get_closest_marker(mark) and mark not in wanted:
                item.add_marker(pytest.mark.skip(reason=f"run with make {mark}"))


@contextmanager
def _installation(tmp_path: Path, database_url: str | None) -> Iterator[World]:
    w = World(tmp=tmp_path, database_url=database_url)
    try:
        w.setup()
        yield w
    finally:
        w.close()


@pytest.fixture
def world(tmp_path: Path) -> Iterator[World]:
    """SQLite under the scenario's var dir; with FAULTS_DATABASE_URL, a throwaway database on that server."""
    server = os.environ.get("FAULTS_DATABASE_URL")
    if not server:
        with _installation(tmp_path, None) as w:
            yield w
        return
    with throwaway_postgres(server) as url, _installation(tmp_path, url) as w:
        yield w


@pytest.fixture
def pg_world(tmp_path: Path) -> Iterator[World]:
    """Always Postgres: a throwaway database (FAULTS_DATABASE_URL's server, else 127.0.0.1:5432)."""
    server = os.environ.get("FAULTS_DATABASE_URL") or POSTGRES_SERVER
    problem = postgres_problem(server)
    if problem:
        pytest.skip(f"Postgres is not reachable at {server.split('@')[-1]}: {problem}")
    with throwaway_postgres(server) as url, _installation(tmp_path, url) as w:
        yield w


def pytest_sessionfinish(session: pytest.Session) -> None:
    if RESULTS:
        text = table(RESULTS)
        print("\n\n" + text)
        out = Path(__file__).resolve().parents[2] / "var" / "reliability-last-run.md"
        out.parent.mkdir(parents=True, exist_ok=True)
        with out.open("a") as fh:
            fh.write(text + "\n")
