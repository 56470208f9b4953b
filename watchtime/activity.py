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


def distinct_chatters(*, community_id: int, since_ts: float, until_ts: float) -> int:
    """How many distinct Kick users chatted in ``(since_ts, until_ts]``."""
    count: int = get_redis().zcount(activity_key(community_id), f"({since_ts}", until_ts)  # type: ignore[assignment]
    return count
