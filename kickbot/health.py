"""Health checks shared by /healthz, the dashboard's health page and the bot's !health."""

from __future__ import annotations

import logging
import time
from typing import Any

from django.db import connection

from kickbot.heartbeat import heartbeat_ages
from kickbot.redis_client import get_redis

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


def health_report() -> dict[str, Any]:
    """Database, Redis and process heartbeats. ``ok`` needs only the database and Redis."""
    database = _check_database()
    redis_state = _check_redis()
    processes: dict[str, Any] = {}
    if redis_state["ok"]:
        try:
            for name, age in heartbeat_ages().items():
                processes[name] = {
                    "heartbeat_age_s": age,
                    "ok": age is not None and age < HEARTBEAT_STALE_SECONDS,
                }
        except Exception as exc:
            log.warning("heartbeat read failed: %s", type(exc).__name__)
    return {
        "ok": bool(database["ok"] and redis_state["ok"]),
        "database": database,
        "redis": redis_state,
        "processes": processes,
    }
