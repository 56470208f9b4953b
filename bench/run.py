"""`make bench`: run every bench/bench_*.py and write bench/results.json.

Each module exposes ``run(scale: float) -> dict[str, dict]`` returning figures named as in
docs/architecture.md (value, unit, and baseline/ratio where a naive path is compared).
A figure that was not measured is absent, never zero.
"""

from __future__ import annotations

import datetime as dt
import importlib
import json
import os
import platform
import sys
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
    scale = float(os.environ.get("BENCH_SCALE", "1.0"))
    only = set(sys.argv[1:])
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
    out = HERE / "results.json"
    previous: dict[str, Any] = {}
    if only and out.exists():
        previous = json.loads(out.read_text()).get("results", {})
    doc = {
        "machine": machine(),
        "when": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "scale": scale,
        "results": {**previous, **results},
    }
    out.write_text(json.dumps(doc, indent=2) + "\n")
    print(f"wrote {out}")
    if redis_proc is not None:
        redis_proc.terminate()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
