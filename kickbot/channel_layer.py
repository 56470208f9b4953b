"""The channel layer: channels-redis's, with a receive that stays cancelled.

A websocket's consumer waits for its next message in a loop of 5 s BZPOPMINs. When the consumer is
cancelled (its socket closed) just as a Redis command answers, the cancellation can be lost below
channels-redis, which then blocks again, and again: a receive loop with nobody behind it, forever
(reproduced by closing many sockets near the 5 s mark; a test run's event loop then never closes).
redis-py's old 5 s read timeout ended such a loop with an error, and every idle socket with it;
with a read timeout that outlasts BZPOPMIN (issue 15) nothing did. So a receive whose task is
being cancelled stops at the next empty answer.
"""

from __future__ import annotations

import asyncio
from typing import Any

from channels_redis.core import RedisChannelLayer as _RedisChannelLayer


def _cancelling() -> bool:
    task = asyncio.current_task()
    return task is not None and task.cancelling() > 0


class RedisChannelLayer(_RedisChannelLayer):  # type: ignore[misc]
    async def _brpop_with_clean(self, index: int, channel: Any, timeout: float) -> Any:  # noqa: ASYNC109
        if _cancelling():
            raise asyncio.CancelledError
        member = await super()._brpop_with_clean(index, channel, timeout)
        if member is None and _cancelling():
            raise asyncio.CancelledError
        return member
