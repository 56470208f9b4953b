"""A Redis lease that lets exactly one process ingest a Kick channel at a time.

The holder sets ``key = holder_id`` with ``SET NX PX ttl`` and renews it every
``renew_every_s`` seconds, but only while the value is still its own (a Lua
compare-and-pexpire); release is a compare-and-delete. A standby running :meth:`hold` polls
at the same pace and takes over at most ``ttl_s + renew_every_s`` after the holder died.

A holder that cannot renew (Redis unreachable or the key taken) stops considering itself the
holder before its key can expire, so two listeners never run at once as long as the
process clocks run at the same rate.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any

from redis.exceptions import RedisError

from kickbot.redis_client import key as redis_key

log = logging.getLogger(__name__)

_RENEW = """
if redis.call('get', KEYS[1]) == ARGV[1] then
  return redis.call('pexpire', KEYS[1], ARGV[2])
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

    @property
    def is_held(self) -> bool:
        return self.held.is_set()

    async def acquire(self) -> bool:
        """Take the lease if free (or already ours). True if we now hold it."""
        started = self._clock()
        ok = await self.redis.set(self.key, self.holder_id, nx=True, px=self.ttl_ms)
        if not ok:
            ok = bool(await self.redis.eval(_RENEW, 1, self.key, self.holder_id, self.ttl_ms))
        self._set_held(bool(ok), started)
        return bool(ok)

    async def renew(self) -> bool:
        """Extend the lease only if we still hold it (compare-and-pexpire)."""
        started = self._clock()
        ok = bool(await self.redis.eval(_RENEW, 1, self.key, self.holder_id, self.ttl_ms))
        self._set_held(ok, started)
        return ok

    async def release(self) -> bool:
        """Give the lease up if we hold it (compare-and-delete)."""
        self._set_held(False, None)
        return bool(await self.redis.eval(_RELEASE, 1, self.key, self.holder_id))

    async def hold(self, stop: asyncio.Event) -> None:
        """Acquire, renew and re-acquire until ``stop``; releases the lease on the way out."""
        try:
            while not stop.is_set():
                try:
                    if self.is_held:
                        if not await self.renew():
                            log.warning("ingestion lease %s lost to another holder", self.key)
                    elif await self.acquire():
                        log.info("ingestion lease %s acquired by %s", self.key, self.holder_id)
                except (RedisError, OSError) as exc:
                    log.warning("ingestion lease %s: redis error %s", self.key, type(exc).__name__)
                    self._expire_if_unconfirmed()
                await self._pause(stop)
        finally:
            if self.is_held:
                try:
                    await asyncio.shield(self.release())
                except (RedisError, OSError):
                    log.warning("ingestion lease %s: release failed, it expires by itself", self.key)
            self._set_held(False, None)

    async def _pause(self, stop: asyncio.Event) -> None:
        sleeper = asyncio.ensure_future(self._sleep(self.renew_every_s))
        stopper = asyncio.ensure_future(stop.wait())
        try:
            await asyncio.wait({sleeper, stopper}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            sleeper.cancel()
            stopper.cancel()

    def _expire_if_unconfirmed(self) -> None:
        # Our key expires ttl after the last confirmed renewal; stop well before that.
        if (
            self._confirmed_at is not None
            and self._clock() - self._confirmed_at >= self.ttl_s - self.renew_every_s
        ):
            log.warning("ingestion lease %s: cannot confirm, stepping down", self.key)
            self._set_held(False, None)

    def _set_held(self, held: bool, confirmed_at: float | None) -> None:
        if held:
            self._confirmed_at = confirmed_at
            self.held.set()
            self.lost.clear()
        else:
            self._confirmed_at = None
            self.held.clear()
            self.lost.set()
