from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import Any

import pytest

from accounts.models import KickUser, Link
from kickbot.redis_client import get_async_redis
from watchtime.activity import activity_record
from watchtime.tasks import tick_bucket

T0 = datetime(2026, 3, 10, 20, 0, tzinfo=UTC)  # a bucket boundary for 60 s intervals


def chat(community_id: int, kick_user_id: int, ts: float) -> None:
    """What the Kick pipeline does for a counted chat line."""

    async def go() -> None:
        redis = get_async_redis()
        try:
            await activity_record(redis, community_id=community_id, kick_user_id=kick_user_id, ts=ts)
        finally:
            await redis.aclose()

    asyncio.run(go())


def bucket_at(ts: float, interval: int = 60) -> datetime:
    return tick_bucket(ts, interval)[0]


@pytest.fixture
def live(community: Any) -> Any:
    community.is_live = True
    community.save(update_fields=["is_live"])
    return community


def kick_user(user_id: int, username: str, discord_user_id: int | None = None) -> KickUser:
    user = KickUser.objects.create(user_id=user_id, username=username)
    if discord_user_id is not None:
        Link.objects.create(discord_user_id=discord_user_id, kick_user=user)
    return user
