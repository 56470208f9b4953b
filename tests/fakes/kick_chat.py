"""A small Kick world for end-to-end tests: chat frames and webhook bodies for one channel."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
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
