"""The channel layer keeps an idle websocket up and never outlives a cancelled one (issue 15)."""

from __future__ import annotations

import asyncio
from typing import Any

from channels.layers import get_channel_layer
from channels_redis.core import RedisChannelLayer as StockLayer
from django.conf import settings

from kickbot.channel_layer import RedisChannelLayer


def test_the_redis_read_outlasts_the_blocking_pop_of_an_idle_socket() -> None:
    host = settings.CHANNEL_LAYERS["default"]["CONFIG"]["hosts"][0]
    layer = get_channel_layer()
    assert isinstance(layer, RedisChannelLayer)
    # redis-py's default (5 s) against a 5 s BZPOPMIN dropped every idle socket after ~6 s.
    assert host["socket_timeout"] >= layer.brpop_timeout + 5
    assert host["health_check_interval"] > 0


async def test_a_cancel_lost_below_channels_redis_still_ends_the_receive(monkeypatch: Any) -> None:
    calls = 0

    async def cancel_lost_then_empty(self: Any, index: int, channel: Any, timeout: float) -> Any:  # noqa: ASYNC109
        """What happens now and then when a socket closes just as a Redis command answers."""
        nonlocal calls
        calls += 1
        if calls > 1:  # a later call just waits, as BZPOPMIN does
            await asyncio.sleep(0.05)
            return None
        task = asyncio.current_task()
        assert task is not None
        task.cancel()
        try:
            await asyncio.sleep(0)
        except asyncio.CancelledError:
            pass  # lost
        return None  # BZPOPMIN: nothing came

    monkeypatch.setattr(StockLayer, "_brpop_with_clean", cancel_lost_then_empty)
    layer = RedisChannelLayer(hosts=[settings.REDIS_URL], prefix=f"{settings.REDIS_KEY_PREFIX}:asgitest")
    receive = asyncio.ensure_future(layer.receive_single("specific.test!"))
    done, _ = await asyncio.wait([receive], timeout=5)
    if not done:  # the stock layer: blocks again forever
        receive.cancel()
    assert done and receive.cancelled()
    assert calls == 1
