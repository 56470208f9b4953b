"""A Redis lease that lets exactly one process ingest a Kick channel at a time.

The holder sets ``key = holder_id`` with ``SET NX PX ttl`` and renews it every
``renew_every_s`` seconds, but only while the value is still its own (a Lua
compare-and-pexpire); release is a compare-and-delete. A standby running :meth:`hold` polls
at the same pace and takes over at most ``ttl_s + renew_every_s`` after the holder died.

A holder that cannot renew (Redis unreachable or the key taken) stops considering itself the
holder before its key can expire, so two listeners never run at once as long as the
process clocks run at the same rate.

Two ways to stop holding it: another holder has the key (``lost`` set, ``in_doubt`` false: stop
ingesting), or Redis could not confirm it for ``ttl_s - renew_every_s`` (``lost`` set, ``in_doubt``
true). In doubt, nothing can be handled anyway (every event is first claimed in Redis), so the
owner may keep reading chat into memory until Redis answers and says whose the lease is. A key
that vanished (Redis restarted without its data) is simply taken again by its last holder.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any

from redis.exceptions import RedisError

from botworker.aio import sleep_unless_stopped
from botworker.kick.outage import RedisWatch, redis_down
from kickbot.redis_client import key as redis_key

log = logging.getLogger(__name__)

# 1: ours, extended; 2: free (never taken, expired, or wiped by a Redis restart), now ours; 0: not ours.
_TAKE = """
local holder = redis.call('get', KEYS[1])
if holder == ARGV[1] then
  redis.call('pexpire', KEYS[1], ARGV[2])
  return 1
end
if not holder then
  redis.call('set', KEYS[1], ARGV[1], 'PX', ARGV[2])
  return 2
end
return 0
"""
_RELEASE = """
if redis.call('get', KEYS[1]) == ARGV[1] then
  return redis.call('del', KEYS[1])
end
return 0
"""


class IngestionLease:
    """``IngestionLease(redis, "kick:<community id>", holder_id)``; key under REDIS_KEY_PREFIX."""

    def __init__(
        self,
        redis: Any,
        name: str,
        holder_id: str,
        ttl_s: float = 10.0,
        renew_every_s: float = 3.0,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        watch: RedisWatch | None = None,
    ) -> None:
        if renew_every_s >= ttl_s:
            raise ValueError("renew_every_s must be shorter than ttl_s")
        self.redis = redis
        self.key = redis_key("lease", name)
        self.holder_id = holder_id
        self.ttl_ms = int(ttl_s * 1000)
        self.ttl_s = ttl_s
        self.renew_every_s = renew_every_s
        self._clock = clock
        self._sleep = sleep
        self._confirmed_at: float | None = None  # when Redis last confirmed we hold it
        self.held = asyncio.Event()  # set while we hold the lease
        self.lost = asyncio.Event()  # set while we do not
        self.lost.set()
        self.in_doubt = False  # stepped down only because Redis could not confirm the lease
        self.watch = watch or RedisWatch()

    @property
    def is_held(self) -> bool:
        return self.held.is_set()

    async def acquire(self) -> bool:
        """Take the lease if free (or already ours). True if we now hold it."""
        return await self._take()

    async def renew(self) -> bool:
        """Extend the lease if we still hold it, or take it again if its key vanished (Redis restarted
        without its data: nobody holds it). False, and no longer held, when another holder has it."""
        return await self._take()

    async def confirm(self) -> bool:
        """Ask Redis now whether the lease is ours (taking it if free); raises while Redis is down."""
        return await self._take()

    async def _take(self) -> bool:
        started = self._clock()
        was_held = self.is_held or self.in_doubt
        outcome = int(await self.redis.eval(_TAKE, 1, self.key, self.holder_id, self.ttl_ms))
        if outcome == 2 and was_held:
            log.warning("ingestion lease %s had vanished (Redis restarted?); taken again", self.key)
        self._set_held(outcome > 0, started)
        return outcome > 0

    async def release(self) -> bool:
        """Give the lease up if we hold it (compare-and-delete)."""
        self._set_held(False, None)
        return bool(await self.redis.eval(_RELEASE, 1, self.key, self.holder_id))

    async def hold(self, stop: asyncio.Event) -> None:
        """Acquire, renew and re-acquire until ``stop``; releases the lease on the way out."""
        failing = standing_by = False
        try:
            while not stop.is_set():
                started = self.watch.clock()
                try:
                    if self.is_held or self.in_doubt:
                        if not await self.renew():
                            log.warning("ingestion lease %s lost to another holder", self.key)
                    elif await self.acquire():
                        log.info("ingestion lease %s acquired by %s", self.key, self.holder_id)
                        standing_by = False
                    elif not standing_by:  # once per stand-by, not every try
                        log.info(
                            "ingestion lease %s held by another process; %s stands by",
                            self.key,
                            self.holder_id,
                        )
                        standing_by = True
                    self.watch.ok(since=started)
                    failing = False
                except (RedisError, OSError) as exc:
                    if redis_down(exc):
                        self.watch.failed(exc, since=started)
                    if not failing:  # once per run of failures, not every renewal
                        log.warning("ingestion lease %s: redis error %s", self.key, type(exc).__name__)
                    failing = True
                    self._expire_if_unconfirmed()
                await sleep_unless_stopped(self._sleep, self.renew_every_s, stop)
        finally:
            if self.is_held:
                try:
                    await asyncio.shield(self.release())
                except (RedisError, OSError):
                    log.warning("ingestion lease %s: release failed, it expires by itself", self.key)
            self._set_held(False, None)

    def _expire_if_unconfirmed(self) -> None:
        # Our key expires ttl after the last confirmed renewal; stop well before that.
        if (
            self._confirmed_at is not None
            and self._clock() - self._confirmed_at >= self.ttl_s - self.renew_every_s
        ):
            log.warning("ingestion lease %s: cannot confirm, stepping down until Redis answers", self.key)
            self._set_held(False, None)
            self.in_doubt = True

    def _set_held(self, held: bool, confirmed_at: float | None) -> None:
        self.in_doubt = False
        if held:
            self._confirmed_at = confirmed_at
            self.held.set()
            self.lost.clear()
        else:
            self._confirmed_at = None
            self.held.clear()
            self.lost.set()
