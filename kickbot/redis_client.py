"""The process's Redis clients (sync and async), built lazily from ``settings.REDIS_URL``.

Keys the application owns are namespaced with ``settings.REDIS_KEY_PREFIX`` via :func:`key`.
"""

from __future__ import annotations

import threading

import redis
import redis.asyncio as aioredis
from django.conf import settings

_lock = threading.Lock()
_sync: redis.Redis | None = None


def key(*parts: object) -> str:
    """``key("activity", 3)`` → ``"kb:activity:3"``."""
    return ":".join([settings.REDIS_KEY_PREFIX, *(str(p) for p in parts)])


def get_redis() -> redis.Redis:
    """A shared, thread-safe sync client (connection pool inside)."""
    global _sync
    if _sync is None:
        with _lock:
            if _sync is None:
                _sync = redis.Redis.from_url(settings.REDIS_URL, socket_timeout=5, socket_connect_timeout=3)
    return _sync


def get_async_redis() -> aioredis.Redis:
    """A new async client; the caller owns it (one per event loop) and closes it."""
    return aioredis.Redis.from_url(settings.REDIS_URL, socket_timeout=5, socket_connect_timeout=3)


def reset_clients() -> None:
    """Forget the cached client (tests switch servers; forked workers must not share sockets)."""
    global _sync
    with _lock:
        if _sync is not None:
            _sync.close()
        _sync = None
