"""Process heartbeats in Redis: each long-running process writes its own, /healthz reads them."""

from __future__ import annotations

import logging
import time

from kickbot.redis_client import get_redis, key

log = logging.getLogger(__name__)

PROCESSES = ("worker", "bot")


def heartbeat_write(*, name: str, now: float | None = None) -> None:
    """Record that process ``name`` is alive at ``now`` (unix seconds). Never raises."""
    try:
        get_redis().set(key("heartbeat", name), repr(now if now is not None else time.time()), ex=3600)
    except Exception as exc:  # a heartbeat must never take its process down
        log.warning("could not write %s heartbeat: %s", name, type(exc).__name__)


def heartbeat_ages(*, now: float | None = None) -> dict[str, float | None]:
    """Seconds since each process last wrote its heartbeat (None: never, or over an hour)."""
    now = now if now is not None else time.time()
    values = get_redis().mget([key("heartbeat", n) for n in PROCESSES])
    return {
        name: (round(max(0.0, now - float(raw)), 1) if raw is not None else None)
        for name, raw in zip(PROCESSES, values, strict=True)
    }
