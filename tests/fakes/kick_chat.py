"""A small Kick world for end-to-end tests: chat frames and webhook bodies for one channel."""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime
from typing import Any

CHATROOM, CHANNEL, BROADCASTER = 2915314, 2930000, 777


def chat_frame(
    mid: str, sender_id: int, username: str, content: str, *, when: datetime | None = None
) -> dict[str, Any]:
    created = (when or datetime.now(UTC)).isoformat(timespec="seconds")
    return {
        "event": "App\\Events\\ChatMessageEvent",
        "channel": f"chatrooms.{CHATROOM}.v2",
        "data": {
            "id": mid,
            "chatroom_id": CHATROOM,
            "content": content,
            "type": "message",
            "created_at": created,
            "sender": {
                "id": sender_id,
                "username": username,
                "slug": username.lower(),
                "identity": {"badges": []},
            },
        },
    }


def chat_webhook(mid: str, sender_id: int, username: str, content: str, *, when: datetime) -> bytes:
    return json.dumps(
        {
            "message_id": mid,
            "broadcaster": {"user_id": BROADCASTER, "username": "streamer", "channel_slug": "streamer"},
            "sender": {
                "user_id": sender_id,
                "username": username,
                "channel_slug": username.lower(),
                "identity": {"badges": []},
            },
            "content": content,
            "emotes": [],
            "created_at": when.isoformat(timespec="seconds").replace("+00:00", "Z"),
        }
    ).encode()


async def until(predicate: Callable[[], Any], within_s: float = 10.0) -> None:
    async with asyncio.timeout(within_s):
        while not await predicate() if asyncio.iscoroutinefunction(predicate) else not predicate():  # noqa: ASYNC110
            await asyncio.sleep(0.02)


@contextlib.asynccontextmanager
async def ingesting(**options: Any) -> AsyncIterator[tuple[Any, Any]]:
    """Run the real KickIngestion for every configured community against a fake Pusher server.

    Yields ``(server, ingestion)`` once the first connection has subscribed its five channels.
    Kick HTTP goes wherever the test pointed ``kickbot.kick``'s client factories (the fake API).
    """
    from asgiref.sync import sync_to_async

    from botworker.kick.component import KickIngestion, _config
    from kickbot.redis_client import get_async_redis
    from kickbot.selectors import kick_communities
    from tests.fakes.kick_pusher import FakePusherServer

    redis = get_async_redis()
    rows = await sync_to_async(kick_communities)()
    async with FakePusherServer() as server:
        settings = {
            "lease_ttl_s": 2.0,
            "lease_renew_s": 0.5,
            "chat_rate": 100.0,
            "chat_burst": 10,
            "listener_options": {"backoff_base_s": 0.05, "backoff_cap_s": 0.2},
            **options,
        }
        ingestion = KickIngestion(
            communities=[_config(r) for r in rows], redis=redis, pusher_url=server.url, **settings
        )
        stop = asyncio.Event()
        task = asyncio.create_task(ingestion.run(stop))
        try:
            await server.wait_subscribed(5, within_s=10)
            yield server, ingestion
        finally:
            stop.set()
            await asyncio.wait_for(task, timeout=10)
            await redis.aclose()
