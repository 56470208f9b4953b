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


SNAPSHOT_TTL_S = 3600  # longer than any redelivery of a killed tick (broker visibility timeout)


def snapshot_key(community_id: int, bucket_ts: int) -> str:
    return key("wt", community_id, "snap", bucket_ts)


def snapshot_get(*, community_id: int, bucket_ts: int) -> list[int] | None:
    """The viewers an earlier run of this bucket's tick saw, or None when no run got that far."""
    packed: bytes | None = get_redis().get(snapshot_key(community_id, bucket_ts))  # type: ignore[assignment]
    if packed is None:
        return None
    return [int(v) for v in packed.split(b",")] if packed else []


def snapshot_put(*, community_id: int, bucket_ts: int, viewers: list[int]) -> None:
    """Remember who this bucket's tick credits, so a run killed before its commit is redone alike.

    One packed string (~1 MB for 100k viewers): cheaper to write and read than a sorted-set copy.
    """
    get_redis().set(
        snapshot_key(community_id, bucket_ts), ",".join(map(str, viewers)), ex=SNAPSHOT_TTL_S, nx=True
    )


def snapshot_drop(*, community_id: int, bucket_ts: int) -> None:
    get_redis().delete(snapshot_key(community_id, bucket_ts))


def distinct_chatters(*, community_id: int, since_ts: float, until_ts: float) -> int:
    """How many distinct Kick users chatted in ``(since_ts, until_ts]``."""
    count: int = get_redis().zcount(activity_key(community_id), f"({since_ts}", until_ts)  # type: ignore[assignment]
    return count
