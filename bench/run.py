"""`make bench`: the limits stage, then every bench/bench_*.py; a table, and bench/results.json.

Each bench measures its figures' primitives interleaved with the figures' own repetitions
(``bench/paired.py``) and writes ``limit``, ``limit_of`` and ``of_limit`` itself; here they are
checked against the mapping and judged against the goals (``bench/report.py``; which primitive and
why: bench/README.md). The ``limits`` stage (``bench/limits.py``) runs every primitive once first,
in this process, against the same database and Redis db: a summary of how fast the machine was
in this run (``limits`` in results.json), not what any ``of_limit`` is computed from.

Each module exposes ``run(scale: float) -> dict[str, dict]`` returning figures named as in
docs/architecture.md (value, unit, and baseline/ratio where a naive path is compared).
A figure that was not measured is absent, never zero. Figures are not tests: this exits 0
whether goals are met or not.

``python -m bench.run [bench_x ...]`` runs only those modules (the limits stage always runs);
figures of earlier runs are kept, each with the paired limit of its own run. ``BENCH_SCALE`` scales
every size; ``BENCH_OUT`` writes elsewhere than bench/results.json.
"""

from __future__ import annotations

import datetime as dt
import importlib
import json
import os
import platform
import sys
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent


def machine() -> str:
    mem = ""
    try:
        with open("/proc/meminfo") as fh:
            kb = int(fh.readline().split()[1])
        mem = f"{kb / 1024 / 1024:.0f} GiB RAM"
    except OSError:
        pass
    from django.db import connection

    db = connection.vendor
    if db == "postgresql":
        with connection.cursor() as cur:
            cur.execute("SHOW server_version")
            db += " " + cur.fetchone()[0]
    return f"{os.cpu_count()} cores, {mem}, Python {platform.python_version()}, {db}"


def _limits(scale: float) -> dict[str, Any]:
    from bench import limits as limits_stage

    print(f"== limits (the machine in this run; scale {scale})", flush=True)
    measured = limits_stage.run(scale)
    for key, value in measured.items():
        print(f"   {key}: {value}", flush=True)
    return measured


def collect(scale: float, only: set[str], out: Path) -> dict[str, Any]:
    """Run the stage and the benches, write ``out``; returns the document written."""
    from bench import report

    started = time.perf_counter()
    limits = _limits(scale)
    results: dict[str, Any] = {}
    for path in sorted(HERE.glob("bench_*.py")):
        name = path.stem
        if only and name not in only:
            continue
        module = importlib.import_module(f"bench.{name}")
        print(f"== {name} (scale {scale})", flush=True)
        figures = module.run(scale)
        for key, value in figures.items():
            print(f"   {key}: {value}", flush=True)
        results.update(figures)
    previous: dict[str, Any] = {}
    if only and out.exists():
        previous = json.loads(out.read_text()).get("results", {})
    results = {**previous, **report.annotate_all(results)}
    doc = {
        "machine": machine(),
        "when": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "scale": scale,
        "seconds": round(time.perf_counter() - started),
        "limits": limits,
        "results": results,
    }
    out.write_text(json.dumps(doc, indent=2) + "\n")
    print()
    print(report.table(results, limits))
    print(f"\nwrote {out} in {doc['seconds']} s")
    return doc


def main() -> int:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "kickbot.settings")
    sys.path.insert(0, str(HERE.parent))
    import django

    django.setup()
    from django.conf import settings

    from kickbot import embedded_redis

    redis_proc = None
    if settings.EMBEDDED_REDIS:  # like make run: the embedded server, unless one already answers
        redis_proc = embedded_redis.start_background(settings.EMBEDDED_REDIS_SOCKET)
    try:
        collect(
            float(os.environ.get("BENCH_SCALE", "1.0")),
            set(sys.argv[1:]),
            Path(os.environ.get("BENCH_OUT") or HERE / "results.json"),
        )
    finally:
        if redis_proc is not None:
            redis_proc.terminate()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
