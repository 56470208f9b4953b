"""Health checks shared by /healthz, the dashboard's health page and the bot's !health.

Besides the live checks, the report says what happened during the bot's last Redis outage
(``redis.last_outage``, and per channel ``outage`` in the detailed report): the bot keeps that record
in memory while Redis is away and publishes it once Redis answers (``botworker.kick.outage``).
"""

from __future__ import annotations

import logging
import time
from datetime import UTC, datetime
from typing import Any

from django.db import connection

from kickbot.heartbeat import heartbeat_ages
from kickbot.models import Community
from kickbot.redis_client import get_redis, key

log = logging.getLogger(__name__)

# A process is "fresh" when its heartbeat is younger than this (three missed beats).
HEARTBEAT_STALE_SECONDS = 60


def _check_database() -> dict[str, Any]:
    started = time.perf_counter()
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except Exception as exc:
        log.warning("database check failed: %s", type(exc).__name__)
        return {"ok": False, "error": type(exc).__name__}
    return {"ok": True, "ms": round((time.perf_counter() - started) * 1000, 1), "vendor": connection.vendor}


def _check_redis() -> dict[str, Any]:
    started = time.perf_counter()
    try:
        get_redis().ping()
    except Exception as exc:
        log.warning("redis check failed: %s", type(exc).__name__)
        return {"ok": False, "error": type(exc).__name__}
    return {"ok": True, "ms": round((time.perf_counter() - started) * 1000, 1)}


def health_report(*, detail: bool = False) -> dict[str, Any]:
    """Database, Redis, process heartbeats and Kick ingestion. ``ok`` needs only the database and Redis.

    The public /healthz gets ingestion as totals only; ``detail`` (dashboard) lists it per channel.
    """
    database = _check_database()
    redis_state = _check_redis()
    processes: dict[str, Any] = {}
    if redis_state["ok"]:
        try:
            redis_state["last_outage"] = last_outage()
        except Exception as exc:
            log.warning("last outage read failed: %s", type(exc).__name__)
        try:
            for name, age in heartbeat_ages().items():
                processes[name] = {
                    "heartbeat_age_s": age,
                    "ok": age is not None and age < HEARTBEAT_STALE_SECONDS,
                }
        except Exception as exc:
            log.warning("heartbeat read failed: %s", type(exc).__name__)
    kick: dict[str, Any] = {}
    if redis_state["ok"] and database["ok"]:
        try:
            kick = _kick_ingest()
            if not detail:
                kick = _summary(kick)
        except Exception as exc:
            log.warning("ingest state read failed: %s", type(exc).__name__)
    return {
        "ok": bool(database["ok"] and redis_state["ok"]),
        "database": database,
        "redis": redis_state,
        "processes": processes,
        "kick": kick,
    }


def _summary(per_channel: dict[str, Any]) -> dict[str, Any]:
    lags = [c["lag_p95_ms"] for c in per_channel.values() if c["lag_p95_ms"] is not None]
    return {
        "channels": len(per_channel),
        "ingesting": sum(1 for c in per_channel.values() if c["ingesting"]),
        "connected": sum(1 for c in per_channel.values() if c["connected"]),
        "lag_p95_ms_max": max(lags) if lags else None,
        "errors": sum(c["errors"] for c in per_channel.values()),
    }


def _num(raw: bytes | None) -> float | None:
    try:
        return float(raw) if raw else None
    except ValueError:
        return None


def _kick_ingest() -> dict[str, Any]:
    """Per community: Pusher connection, ingestion lag (p50/p95 over 5 min), last event age."""
    now = time.time()
    out: dict[str, Any] = {}
    rows = list(Community.objects.order_by("id").values_list("pk", "kick_channel_slug", "is_live")[:50])
    if not rows:
        return out
    pipe = get_redis().pipeline(transaction=False)
    for pk, _slug, _live in rows:
        pipe.hgetall(key("ingest", pk))
    for (_pk, slug, live), data in zip(rows, pipe.execute(), strict=True):
        out[slug] = {"live": live, **_ingest_entry(data, now=now)}
    return out


def _ingest_entry(data: dict[bytes, bytes], *, now: float) -> dict[str, Any]:
    """One community's ingestion hash (written by ``CommunityPipeline.publish_stats``), parsed."""
    updated = _num(data.get(b"updated_at"))
    last = _num(data.get(b"last_event_at"))
    return {
        "ingesting": updated is not None and now - updated < 30,
        "connected": data.get(b"connected") == b"1",
        "lag_p50_ms": _num(data.get(b"lag_p50_ms")),
        "lag_p95_ms": _num(data.get(b"lag_p95_ms")),
        "last_event_age_s": None if last is None else round(now - last, 1),
        "events": int(_num(data.get(b"events")) or 0),
        # unparseable frames and webhooks, failed handlers, gifts left without a gifter
        "errors": int(_num(data.get(b"errors")) or 0),
        "outage": _outage(
            data.get(b"outage_started"),
            data.get(b"outage_ended"),
            data.get(b"outage_delayed"),
            data.get(b"outage_dropped"),
        ),
    }


def _iso(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def _outage(
    started_raw: bytes | None, ended_raw: bytes | None, delayed: bytes | None, dropped: bytes | None
) -> dict[str, Any] | None:
    started, ended = _num(started_raw), _num(ended_raw)
    if started is None or ended is None:
        return None
    return {
        "started": _iso(started),
        "ended": _iso(ended),
        "seconds": round(ended - started, 1),
        "events_delayed": int(_num(delayed) or 0),
        "events_dropped": int(_num(dropped) or 0),
    }


def last_outage() -> dict[str, Any] | None:
    """The bot's last Redis outage (``kb:redis:last_outage``): when, how long, events delayed/dropped."""
    data: Any = get_redis().hgetall(key("redis", "last_outage"))
    outage = _outage(data.get(b"started"), data.get(b"ended"), data.get(b"delayed"), data.get(b"dropped"))
    if outage is None:
        return None
    error = data.get(b"error", b"").decode("ascii", "replace")[:64]
    return {**outage, "retries": int(_num(data.get(b"retries")) or 0), "error": error}


def outage_text(outage: dict[str, Any] | None) -> str | None:
    """One line for ``!health`` and the dashboard, or None when there was no outage to tell."""
    if not outage:
        return None
    dropped = outage["events_dropped"]
    mark = "⚠️" if dropped else "✅"  # over, and nothing lost
    return (
        f"{mark} Last Redis outage: {outage['started']} to {outage['ended']} ({outage['seconds']:.1f} s), "
        f"{outage['events_delayed']} Kick events delayed, {dropped} dropped"
    )


def ingest_for(*, community_id: int) -> dict[str, Any] | None:
    """One community's ingestion state for ``!health``; None while the pipeline has written nothing."""
    data: Any = get_redis().hgetall(key("ingest", community_id))
    return _ingest_entry(data, now=time.time()) if data else None
