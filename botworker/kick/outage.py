"""Redis outages as the bot process lives through them: what counts as one, when it began and
ended, and what it cost each community (events delayed until Redis was back, events dropped).

Redis is where the bot normally keeps its state and where health pages read it, and Redis is what
went away: the record lives in this process's memory during the outage and is published (with the
ingestion stats, ``CommunityPipeline.publish_stats``) once Redis answers again.
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import redis.exceptions as redis_errors

from kickbot.redis_client import key

log = logging.getLogger(__name__)

# Errors that mean "Redis did not answer", not "Redis refused this command": worth waiting out.
# BusyLoadingError (a restarted server still loading its data) is a ConnectionError; ReadOnlyError
# is a failover in progress (we are still talking to the old primary, now a replica).
REDIS_DOWN: tuple[type[BaseException], ...] = (
    redis_errors.ConnectionError,
    redis_errors.TimeoutError,
    redis_errors.ReadOnlyError,
)
# How long a finished outage stays on the health pages.
OUTAGE_SHOWN_S = 24 * 3600
# Failures this soon after an outage ended are the same outage going on (the first calls after a
# restart often meet connections the old server closed): one record, not a 0 s outage hiding it.
MERGE_WITHIN_S = 10.0
RETRY_BASE_S = 0.2
RETRY_CAP_S = 2.0


def redis_down(exc: BaseException) -> bool:
    return isinstance(exc, REDIS_DOWN)


def outage_key() -> str:
    return key("redis", "last_outage")


class IngestionHalted(Exception):
    """Work waiting for Redis was abandoned: the process stops, or another process holds the lease."""


class Backoff:
    """Exponential backoff with jitter in [d/2, d]: never a busy loop, never all retries in step."""

    def __init__(self, base_s: float = RETRY_BASE_S, cap_s: float = RETRY_CAP_S) -> None:
        self.base_s, self.cap_s = base_s, cap_s
        self.attempt = 0

    def next(self) -> float:
        delay = min(self.cap_s, self.base_s * (2**self.attempt))
        self.attempt += 1
        return delay / 2 + random.uniform(0, delay / 2)

    def reset(self) -> None:
        self.attempt = 0


@dataclass
class Outage:
    """One span during which this process could not reach Redis (epoch seconds)."""

    started: float
    error: str
    ended: float | None = None
    retries: int = 0
    delayed: dict[int, int] = field(default_factory=dict)  # community id → events handled late
    dropped: dict[int, int] = field(default_factory=dict)  # community id → events never handled

    @property
    def seconds(self) -> float | None:
        return None if self.ended is None else round(self.ended - self.started, 1)

    def fields(self) -> dict[str, str]:
        """The process-wide record, as published in ``kb:redis:last_outage``."""
        return {
            "started": f"{self.started:.3f}",
            "ended": "" if self.ended is None else f"{self.ended:.3f}",
            "seconds": "" if self.seconds is None else f"{self.seconds:.1f}",
            "error": self.error,
            "retries": str(self.retries),
            "delayed": str(sum(self.delayed.values())),
            "dropped": str(sum(self.dropped.values())),
        }

    def community_fields(self, community_id: int) -> dict[str, str]:
        """One community's share, as published in its ingestion hash ``kb:ingest:<id>``."""
        return {
            "outage_started": f"{self.started:.3f}",
            "outage_ended": "" if self.ended is None else f"{self.ended:.3f}",
            "outage_delayed": str(self.delayed.get(community_id, 0)),
            "outage_dropped": str(self.dropped.get(community_id, 0)),
        }


class RedisWatch:
    """Process-wide: every part of the bot reports its Redis failures and successes here.

    An outage begins with the first failed call (at the time that call started: redis-py retries a
    few seconds inside one call) and ends with the first successful call that started after the
    last failure was seen (a call already under way proves nothing).
    """

    def __init__(self, clock: Callable[[], float] = time.time) -> None:
        self.clock = clock
        self.current: Outage | None = None
        self.last: Outage | None = None
        self._failed_at = float("-inf")

    @property
    def down(self) -> bool:
        return self.current is not None

    def failed(self, exc: BaseException, *, since: float | None = None) -> None:
        """A call that started at ``since`` (default: now) found Redis unreachable."""
        now = self.clock()
        last = self.last
        if self.current is None and last is not None and last.ended is not None:
            if now - last.ended <= MERGE_WITHIN_S:
                self.current, self.last, last.ended = last, None, None
        if self.current is None:
            started = now if since is None else min(since, now)
            self.current = Outage(started=started, error=type(exc).__name__)
            log.warning("Redis unreachable (%s): Kick events wait in memory", type(exc).__name__)
        self.current.retries += 1
        self._failed_at = self.clock()

    def ok(self, *, since: float) -> None:
        """A call that started at ``since`` got its answer from Redis."""
        outage = self.current
        if outage is None or since < self._failed_at:
            return
        outage.ended = self.clock()
        self.current, self.last = None, outage
        log.warning(
            "Redis answers again after %.1f s (%s retries, %s events delayed, %s dropped so far)",
            outage.seconds,
            outage.retries,
            sum(outage.delayed.values()),
            sum(outage.dropped.values()),
        )

    def count(self, community_id: int, *, delayed: int = 0, dropped: int = 0) -> None:
        """Charge events to the outage going on, or to the last one (a backlog handled after it)."""
        outage = self.current or self.last
        if outage is None or not (delayed or dropped):
            return
        if delayed:
            outage.delayed[community_id] = outage.delayed.get(community_id, 0) + delayed
        if dropped:
            if not outage.dropped.get(community_id):  # once per outage; the total is logged at its end
                log.warning("Redis outage: dropping Kick events of community %s", community_id)
            outage.dropped[community_id] = outage.dropped.get(community_id, 0) + dropped

    def shown(self) -> Outage | None:
        """The last finished outage while it is recent enough to show."""
        last = self.last
        if last is None or last.ended is None or self.clock() - last.ended > OUTAGE_SHOWN_S:
            return None
        return last

    def publish_into(self, pipe: Any, *, community_id: int) -> None:
        """Add the last outage's record (process-wide and this community's share) to a Redis pipeline."""
        outage = self.shown()
        if outage is None or outage.ended is None:
            return
        ttl = max(60, int(OUTAGE_SHOWN_S - (self.clock() - outage.ended)))
        pipe.hset(outage_key(), mapping=outage.fields())
        pipe.expire(outage_key(), ttl)
        pipe.hset(key("ingest", community_id), mapping=outage.community_fields(community_id))
