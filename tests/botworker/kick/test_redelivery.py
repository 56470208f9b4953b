"""A webhook delivery whose handling failed (or whose process died mid-way) is handled on redelivery.

Found by the fault suite (tests/faults): the Redis dedupe key was set for good before the effect,
and a failed handler still let the stream entry be acknowledged, so a gift whose award hit a
database error was lost for ever.
"""

from __future__ import annotations

from typing import Any

import pytest

from botworker.commands.router import CommandRouter
from botworker.kick.pipeline import CLAIM_TTL_S, CommunityConfig, CommunityPipeline, DeliveryFailed
from botworker.kick.webhook_queue import WebhookReader
from kickbot.commands import registry
from kickbot.event_handlers import EventHandlers
from kickbot.integrations.kick.events import GiftEvent
from kickbot.integrations.kick.parsers import webhook_to_events
from kickbot.redis_client import get_async_redis, get_redis
from kickbot.webhook_stream import stream_key, webhook_enqueue
from tests.botworker.kick.conftest import webhook

CFG = CommunityConfig(
    id=1, slug="s", prefix="!", chatroom_id=1, channel_id=2, broadcaster_user_id=3, bot_user_id=None
)


class FlakyAward:
    def __init__(self, failures: int) -> None:
        self.failures = failures
        self.awarded: list[str] = []

    async def __call__(self, ctx: Any, event: GiftEvent) -> None:
        if self.failures:
            self.failures -= 1
            raise RuntimeError("database went away")
        self.awarded.append(event.event_key)


async def _reply(*_: Any) -> None:
    return None


def pipeline(redis: Any, award: FlakyAward) -> CommunityPipeline:
    handlers = EventHandlers()
    handlers.add(GiftEvent, award)
    router = CommandRouter(registry=registry, redis=redis, key_prefix="kbtest-redelivery")
    return CommunityPipeline(community=CFG, redis=redis, router=router, handlers=handlers, on_reply=_reply)


async def test_failed_gift_webhook_is_not_acknowledged_and_awards_on_redelivery() -> None:
    redis = get_async_redis()
    award = FlakyAward(failures=1)
    pipe = pipeline(redis, award)
    event_type, message_id, body = webhook("channel_subscription_gifts")
    webhook_enqueue(get_redis(), community_id=CFG.id, event_type=event_type, message_id=message_id, body=body)
    reader = WebhookReader(redis, community_id=CFG.id, consumer="c1", block_ms=10)
    await reader.ensure_group()

    assert await reader.read_once(pipe.on_webhook) == 0  # failed: left pending
    assert award.awarded == []
    pending = await redis.xpending(stream_key(CFG.id), "ingest")
    assert pending["pending"] == 1

    # another consumer (a restarted process) claims it once it is idle
    reader2 = WebhookReader(redis, community_id=CFG.id, consumer="c2", block_ms=10)
    result = await redis.xautoclaim(stream_key(CFG.id), "ingest", "c2", min_idle_time=0, start_id="0-0")
    assert await reader2._handle(result[1], pipe.on_webhook) == 1
    assert len(award.awarded) == 1
    await redis.aclose()


async def test_failed_event_releases_its_dedupe_keys() -> None:
    redis = get_async_redis()
    award = FlakyAward(failures=1)
    pipe = pipeline(redis, award)
    event_type, message_id, body = webhook("channel_subscription_gifts")
    with pytest.raises(DeliveryFailed):
        await pipe.on_webhook(event_type, message_id, body)
    await pipe.on_webhook(event_type, message_id, body)
    assert len(award.awarded) == 1
    await pipe.on_webhook(event_type, message_id, body)  # handled now: a third copy is a duplicate
    assert len(award.awarded) == 1
    await redis.aclose()


async def test_dedupe_key_is_only_a_short_claim_until_the_event_is_handled() -> None:
    """A process killed between the dedupe and the effect must not hide the event for ten minutes."""
    redis = get_async_redis()
    award = FlakyAward(failures=0)
    pipe = pipeline(redis, award)
    event_type, message_id, body = webhook("channel_subscription_gifts")
    [event] = pipe.coalescer.feed(webhook_to_events(event_type, message_id, body)[0])
    names = [f"{pipe._dedupe_prefix}:{k}" for k in event.dedupe_keys()]
    assert await pipe._fresh([event]) == [event]  # claimed, not yet handled
    assert 0 < await redis.ttl(names[0]) <= CLAIM_TTL_S
    await pipe.dispatch(event)  # a claimed event is a duplicate for others...
    assert award.awarded == []
    await redis.delete(*names)  # ...until the claim expires (the process died)
    await pipe.dispatch(event)
    assert len(award.awarded) == 1
    assert await redis.ttl(names[0]) > CLAIM_TTL_S  # handled: confirmed for the full window
    await redis.aclose()
