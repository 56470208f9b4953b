"""Chat activity in Redis: ``activity:<community>`` is a sorted set of Kick user id → last line time.

Written by the Kick pipeline for every counted chat line (the bot's own lines are filtered out
upstream); read by the credit tick. Only the last ``RETAIN_S`` seconds are kept.
"""

from __future__ import annotations

import redis.asyncio as aioredis

from kickbot.redis_client import get_redis, key

RETAIN_S = 600  # 10 minutes: covers the 5-minute chatter count and any active window up to that
_EXPIRE_S = RETAIN_S + 300  # an idle community's set disappears by itself


def activity_key(community_id: int) -> str:
    return key("activity", community_id)


async def activity_record(redis: aioredis.Redis, *, community_id: int, kick_user_id: int, ts: float) -> None:
    """Note that ``kick_user_id`` chatted at ``ts`` (epoch seconds). One round trip, O(log N).

    ``GT`` keeps the latest time when lines arrive out of order; the trim drops entries older
    than 10 minutes (usually none, so it costs one index probe).
    """
    await activity_record_many(redis, community_id=community_id, seen={kick_user_id: ts})


async def activity_record_many(redis: aioredis.Redis, *, community_id: int, seen: dict[int, float]) -> None:
    """Note many chatters at once (``kick user id → epoch seconds``): one round trip for a batch."""
    if not seen:
        return
    name = activity_key(community_id)
    newest = max(seen.values())
    pipe = redis.pipeline(transaction=False)
    pipe.zadd(name, {str(uid): ts for uid, ts in seen.items()}, gt=True)
    pipe.zremrangebyscore(name, "-inf", f"({newest - RETAIN_S}")
    pipe.expire(name, _EXPIRE_S)
    await pipe.execute()


def active_viewers(*, community_id: int, since_ts: float, until_ts: float) -> list[int]:
    """Kick user ids whose last line falls in ``(since_ts, until_ts]`` (epoch seconds)."""
    members: list[bytes] = get_redis().zrangebyscore(  # type: ignore[assignment]
        activity_key(community_id), f"({since_ts}", until_ts
    )
    return [int(m) for m in members]


# KEYS: activity set, snapshot. ARGV: lower bound ("(ts", exclusive), snapshot ttl (s).
# The first call for a tick stores who is active; a retry of the same tick gets the same viewers.
_SNAPSHOT = """
if redis.call('EXISTS', KEYS[2]) == 0 then
  if redis.call('ZRANGESTORE', KEYS[2], KEYS[1], ARGV[1], '+inf', 'BYSCORE') > 0 then
    redis.call('EXPIRE', KEYS[2], ARGV[2])
  end
end
return redis.call('ZRANGE', KEYS[2], 0, -1)
"""
SNAPSHOT_TTL_S = 3600  # longer than any redelivery of a killed tick (broker visibility timeout)


def snapshot_key(community_id: int, bucket_ts: int) -> str:
    return key("wt", community_id, "snap", bucket_ts)


def active_viewers_snapshot(*, community_id: int, bucket_ts: int, since_ts: float) -> list[int]:
    """Viewers whose last line is after ``since_ts``, as first seen by this bucket's tick.

    A tick killed after this call (worker OOM, kill -9) is redelivered with the same bucket and
    credits the same viewers, not whoever is active by then. :func:`snapshot_drop` after commit.
    """
    members: list[bytes] = get_redis().eval(  # type: ignore[assignment]
        _SNAPSHOT,
        2,
        activity_key(community_id),
        snapshot_key(community_id, bucket_ts),
        f"({since_ts}",
        SNAPSHOT_TTL_S,
    )
    return [int(m) for m in members]


def snapshot_exists(*, community_id: int, bucket_ts: int) -> bool:
    return bool(get_redis().exists(snapshot_key(community_id, bucket_ts)))


def snapshot_drop(*, community_id: int, bucket_ts: int) -> None:
    get_redis().delete(snapshot_key(community_id, bucket_ts))


def distinct_chatters(*, community_id: int, since_ts: float, until_ts: float) -> int:
    """How many distinct Kick users chatted in ``(since_ts, until_ts]``."""
    count: int = get_redis().zcount(activity_key(community_id), f"({since_ts}", until_ts)  # type: ignore[assignment]
    return count
