"""The combination recipe: parsers → coalescer (gifts) → Redis dedupe → dispatch, per source.

``Ingest`` below is the reference the real pipeline follows; these tests pin down that a chat line
reported by Pusher and by webhook is handled once, in either order, whether the two sources share
a process (and coalescer) or not, and which reports of a gift purchase get through: the first
one, and one more when it names the gifter the first could not. That a purchase then awards once
is the database's promise (tests/gifts/test_attribution.py, through the real pipeline).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
from django.conf import settings

from botworker.kick.dedupe import seen_before
from botworker.kick.events import Event, GiftEvent, GiftEvidence
from botworker.kick.gifts import GiftCoalescer
from botworker.kick.parsers import ParseError, parse_pusher_frame, pusher_to_events, webhook_to_events
from kickbot.redis_client import get_async_redis
from tests.botworker.kick.conftest import NOW, pusher_lines, pusher_raw, webhook


class Clock:
    now = 0.0

    def __call__(self) -> float:
        return self.now


class Ingest:
    """One process's ingestion for one community."""

    def __init__(self, redis: Any, clock: Clock, coalescer: GiftCoalescer | None = None) -> None:
        self.redis = redis
        self.coalescer = coalescer or GiftCoalescer(window_s=10, clock=clock)
        self.prefix = f"{settings.REDIS_KEY_PREFIX}:dedupe:1"
        self.dispatched: list[Event] = []

    async def pusher(self, raw: str) -> None:
        try:
            items = pusher_to_events(parse_pusher_frame(raw), now=NOW)
        except ParseError:
            return  # log event name + length and skip
        for item in items:
            for event in self.coalescer.feed(item) if isinstance(item, GiftEvidence) else [item]:
                await self._dispatch(event)

    async def webhook(self, event_type: str, message_id: str, body: bytes) -> None:
        for event in webhook_to_events(event_type, message_id, body, now=NOW):
            # a webhook gift also goes through the coalescer when it shares the process
            for final in self.coalescer.feed(event) if isinstance(event, GiftEvent) else [event]:
                await self._dispatch(final)

    async def tick(self) -> None:
        """Every second or so: fallback gifts whose window has passed."""
        for event in self.coalescer.flush():
            await self._dispatch(event)

    async def _dispatch(self, event: Event) -> None:
        if await seen_before(self.redis, keys=event.dedupe_keys(), prefix=self.prefix):
            return
        self.dispatched.append(event)


@pytest.fixture
async def redis() -> AsyncIterator[Any]:
    client = get_async_redis()
    yield client
    await client.aclose()


def gifts(ingest: Ingest) -> list[GiftEvent]:
    return [e for e in ingest.dispatched if isinstance(e, GiftEvent)]


def reports(ingest: Ingest) -> list[tuple[str, int | None, int]]:
    return [(g.source, g.gifter_id, g.quantity) for g in gifts(ingest)]


async def test_pusher_gift_then_webhook_in_the_same_process_is_reported_without_then_with_the_id(redis):
    clock = Clock()
    ingest = Ingest(redis, clock)
    for raw in pusher_lines("gift_purchase_5.jsonl"):
        await ingest.pusher(raw)
    await ingest.webhook(*webhook("channel_subscription_gifts"))
    clock.now += 30
    await ingest.tick()
    assert reports(ingest) == [("pusher", None, 5), ("pusher", 4455667, 5)]


async def test_webhook_gift_then_pusher_in_another_process_lets_only_the_report_without_id_through(redis):
    web, bot = Ingest(redis, Clock()), Ingest(redis, Clock())
    await web.webhook(*webhook("channel_subscription_gifts"))
    for raw in pusher_lines("gift_purchase_5.jsonl"):
        await bot.pusher(raw)
    assert reports(web) == [("webhook", 4455667, 5)]
    assert reports(bot) == [("pusher", None, 5)]  # joins the webhook's purchase in the database


async def test_pusher_gift_then_webhook_in_another_process_drops_the_webhook(redis):
    web, bot = Ingest(redis, Clock()), Ingest(redis, Clock())
    for raw in pusher_lines("gift_purchase_5.jsonl"):
        await bot.pusher(raw)
    await web.webhook(*webhook("channel_subscription_gifts"))
    assert reports(bot) == [("pusher", None, 5), ("pusher", 4455667, 5)] and gifts(web) == []


async def test_webhook_redelivery_is_handled_once(redis):
    ingest = Ingest(redis, Clock())
    for _ in range(3):
        await ingest.webhook(*webhook("channel_subscription_gifts"))
        await ingest.webhook(*webhook("channel_subscription_new"))
    assert len(ingest.dispatched) == 2


async def test_replayed_pusher_frames_from_a_second_listener_count_once(redis):
    first, second = Ingest(redis, Clock()), Ingest(redis, Clock())
    for ingest in (first, second):
        for raw in pusher_lines("gift_purchase_5.jsonl"):
            await ingest.pusher(raw)
        await ingest.pusher(pusher_raw("chat_message"))
    assert len(first.dispatched) == 3 and second.dispatched == []  # gift, gift with its id, chat


async def test_chat_line_on_both_sources_is_handled_once(redis):
    ingest = Ingest(redis, Clock())
    await ingest.pusher(pusher_raw("chat_message"))
    await ingest.webhook(*webhook("chat_message_sent"))
    await ingest.pusher(pusher_raw("chat_message"))
    assert len(ingest.dispatched) == 1


async def test_sub_reported_by_three_pusher_frames_and_webhook_is_one(redis):
    ingest = Ingest(redis, Clock())
    await ingest.pusher(pusher_raw("subscription"))
    await ingest.pusher(pusher_raw("channel_subscription"))
    await ingest.webhook(*webhook("channel_subscription_new"))
    assert len(ingest.dispatched) == 1


async def test_junk_between_good_frames_is_skipped(redis):
    ingest = Ingest(redis, Clock())
    await ingest.pusher("{junk")
    await ingest.pusher(pusher_raw("chat_message"))
    assert len(ingest.dispatched) == 1
