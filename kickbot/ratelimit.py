"""Per-IP rate limits for public endpoints (link pages, webhooks): a Redis counter per fixed window."""

from __future__ import annotations

import logging
import time

import redis
from django.http import HttpRequest

from kickbot.redis_client import get_redis, key

log = logging.getLogger(__name__)


def client_ip(request: HttpRequest) -> str:
    """The client's address: REMOTE_ADDR, which the ASGI edge set to what the outermost trusted proxy
    saw (``kickbot.edge.ForwardedClientMiddleware``, ``TRUSTED_PROXY_HOPS``); never a client's own header."""
    return str(request.META.get("REMOTE_ADDR") or "unknown")


def rate_limit_exceeded(*, scope: str, ident: str, limit: int, window_seconds: int) -> bool:
    """Count one hit for ``ident`` in the current window; True when it is over ``limit``.

    Fails open (and logs) when Redis is down: a rate limit must not take the link pages offline.
    """
    bucket = int(time.time()) // window_seconds
    counter = key("ratelimit", scope, ident, bucket)
    try:
        pipe = get_redis().pipeline()
        pipe.incr(counter)
        pipe.expire(counter, window_seconds + 5)
        count, _ = pipe.execute()
    except redis.RedisError as exc:
        log.warning("rate limit check skipped, redis unavailable: %s", type(exc).__name__)
        return False
    return int(count) > limit
