"""The real ``CommunityPipeline`` per source: parsers → coalescer (gifts) → Redis dedupe → effects.

Each ``Process`` below is one bot (or web) process's pipeline for the community, on the test Redis
and database; a second ``Process`` is another process sharing them. Handlers record what reached
them. These tests pin down that a chat line reported by Pusher and by webhook is handled once, in
either order, whether the two sources share a process (and coalescer) or not; that a burst is
handled in the order it came, each line once; and which reports of a gift purchase get through:
the first one, and one more when it names the gifter the first could not. That a purchase then
awards once is the database's promise (tests/gifts/test_attribution.py).
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Any

import pytest

from botworker.commands.router import CommandRouter, Reply
from botworker.kick.gifts import GiftCoalescer
from botworker.kick.pipeline import CommunityConfig, CommunityPipeline
from kickbot.commands import CommandRegistry
from kickbot.event_handlers import EventContext, EventHandlers
from kickbot.integrations.kick.events import (
    BanEvent,
    ChatEvent,
    Event,
    FollowEvent,
    GiftEvent,
    LiveEvent,
    SubEvent,
)
from kickbot.integrations.kick.parsers import PusherFrame, parse_pusher_frame
from kickbot.redis_client import get_async_redis, key
from tests.botworker.kick.conftest import pusher_lines, pusher_raw, webhook
from tests.fakes.kick_chat import chat_frame, until

pytestmark = pytest.mark.django_db(transaction=True)


class Clock:
    now = 1_000.0

    def __call__(self) -> float:
        return self.now


class Process:
    """One process's ingestion of the community: the real pipeline, handlers that record."""

    def __init__(self, redis: Any, community: Any, clock: Clock | None = None) -> None:
        self.clock = clock or Clock()
        self.handled: list[Event] = []
        self.replies: list[Reply] = []
        handlers = EventHandlers()
        for kind in (ChatEvent, GiftEvent, SubEvent, LiveEvent, FollowEvent, BanEvent):
            handlers.add(kind, self._record)
        config = CommunityConfig(
            id=community.pk,
            slug=community.kick_channel_slug,
            prefix="!",
            chatroom_id=community.kick_chatroom_id,
            channel_id=community.kick_channel_id,
            broadcaster_user_id=community.kick_broadcaster_user_id,
            bot_user_id=None,
        )
        router = CommandRouter(registry=CommandRegistry(), redis=redis, key_prefix=key("pipeline-test"))
        self.pipeline = CommunityPipeline(
            community=config,
            redis=redis,
            router=router,
            handlers=handlers,
            on_reply=self._reply,
            coalescer=GiftCoalescer(window_s=10, clock=self.clock),
            clock=self.clock,
        )

    async def _record(self, ctx: EventContext, event: Event) -> None:
        self.handled.append(event)

    async def _reply(self, community: CommunityConfig, reply: Reply) -> None:
        self.replies.append(reply)

    async def pusher(self, raw: str) -> None:
        """A frame on its own, as the drain worker takes one when chat is quiet."""
        await self.pipeline.on_frames([parse_pusher_frame(raw)])

    async def webhook(self, event_type: str, message_id: str, body: bytes) -> None:
        await self.pipeline.on_webhook(event_type, message_id, body)

    async def tick(self, *, after_s: float = 0.0) -> None:
        self.clock.now += after_s
        await self.pipeline.tick()

    def gifts(self) -> list[GiftEvent]:
        return [e for e in self.handled if isinstance(e, GiftEvent)]

    def reports(self) -> list[tuple[str, int | None, int]]:
        return [(g.source, g.gifter_id, g.quantity) for g in self.gifts()]


@pytest.fixture
async def redis() -> AsyncIterator[Any]:
    client = get_async_redis()
    yield client
    await client.aclose()


async def chat_lines_counted(redis: Any, community: Any) -> int:
    """The community's chat-line count (what watchtime and the dashboard read), written per line."""
    return int(await redis.get(key("chatlines", community.pk)) or 0)


async def test_pusher_gift_then_webhook_in_the_same_process_is_reported_without_then_with_the_id(
    redis: Any, community: Any
) -> None:
    bot = Process(redis, community)
    for raw in pusher_lines("gift_purchase_5.jsonl"):
        await bot.pusher(raw)
    await bot.webhook(*webhook("channel_subscription_gifts"))
    await bot.tick(after_s=30)
    assert bot.reports() == [("pusher", None, 5), ("pusher", 4455667, 5)]


async def test_webhook_gift_then_pusher_in_the_same_process_is_reported_once(
    redis: Any, community: Any
) -> None:
    bot = Process(redis, community)
    await bot.webhook(*webhook("channel_subscription_gifts"))
    for raw in pusher_lines("gift_purchase_5.jsonl"):
        await bot.pusher(raw)
    await bot.tick(after_s=30)
    assert bot.reports() == [("webhook", 4455667, 5)]


async def test_webhook_gift_then_pusher_in_another_process_lets_only_the_report_without_id_through(
    redis: Any, community: Any
) -> None:
    web, bot = Process(redis, community), Process(redis, community)
    await web.webhook(*webhook("channel_subscription_gifts"))
    for raw in pusher_lines("gift_purchase_5.jsonl"):
        await bot.pusher(raw)
    await bot.tick(after_s=30)
    assert web.reports() == [("webhook", 4455667, 5)]
    assert bot.reports() == [("pusher", None, 5)]  # joins the webhook's purchase in the database


async def test_pusher_gift_then_webhook_in_another_process_drops_the_webhook(
    redis: Any, community: Any
) -> None:
    web, bot = Process(redis, community), Process(redis, community)
    for raw in pusher_lines("gift_purchase_5.jsonl"):
        await bot.pusher(raw)
    await web.webhook(*webhook("channel_subscription_gifts"))
    assert bot.reports() == [("pusher", None, 5), ("pusher", 4455667, 5)]
    assert web.handled == [] and web.pipeline.stats.duplicates == 1


async def test_webhook_redelivery_is_handled_once(redis: Any, community: Any) -> None:
    web = Process(redis, community)
    for _ in range(3):
        await web.webhook(*webhook("channel_subscription_gifts"))
        await web.webhook(*webhook("channel_subscription_new"))
    assert [type(e) for e in web.handled] == [GiftEvent, SubEvent]


async def test_replayed_pusher_frames_from_a_second_listener_count_once(redis: Any, community: Any) -> None:
    first, second = Process(redis, community), Process(redis, community)
    for process in (first, second):
        for raw in pusher_lines("gift_purchase_5.jsonl"):
            await process.pusher(raw)
        await process.pusher(pusher_raw("chat_message"))
    # the gift, the gift again with its gifter's id, the chat line
    assert [type(e) for e in first.handled] == [GiftEvent, GiftEvent, ChatEvent]
    assert second.handled == []
    assert await chat_lines_counted(redis, community) == 1


async def test_chat_line_on_both_sources_is_handled_once(redis: Any, community: Any) -> None:
    bot = Process(redis, community)
    await bot.pusher(pusher_raw("chat_message"))
    await bot.webhook(*webhook("chat_message_sent"))
    await bot.pusher(pusher_raw("chat_message"))
    [line] = bot.handled
    assert isinstance(line, ChatEvent) and line.source == "pusher"
    assert bot.pipeline.stats.duplicates == 2
    assert await chat_lines_counted(redis, community) == 1


async def test_chat_line_by_webhook_in_one_process_and_pusher_in_another_is_handled_once(
    redis: Any, community: Any
) -> None:
    web, bot = Process(redis, community), Process(redis, community)
    await web.webhook(*webhook("chat_message_sent"))
    await bot.pusher(pusher_raw("chat_message"))
    assert [(type(e), e.source) for e in web.handled] == [(ChatEvent, "webhook")]
    assert bot.handled == []
    assert await chat_lines_counted(redis, community) == 1


async def test_sub_reported_by_three_pusher_frames_and_webhook_is_one(redis: Any, community: Any) -> None:
    bot = Process(redis, community)
    await bot.pusher(pusher_raw("subscription"))
    await bot.pusher(pusher_raw("channel_subscription"))
    await bot.webhook(*webhook("channel_subscription_new"))
    assert [type(e) for e in bot.handled] == [SubEvent]


async def test_junk_between_good_frames_is_skipped_and_counted(redis: Any, community: Any) -> None:
    bot = Process(redis, community)
    junk = PusherFrame(event="App\\Events\\ChatMessageEvent", channel=None, data={"sender": "nobody"})
    first, second = (
        parse_pusher_frame(json.dumps(chat_frame(f"m{i}", 7, "vic", f"line {i}"))) for i in (1, 2)
    )
    await bot.pipeline.on_frames([first, junk, second])
    assert [e.message_id for e in bot.handled if isinstance(e, ChatEvent)] == ["m1", "m2"]
    assert bot.pipeline.stats.errors == 1


async def test_a_burst_of_frames_is_handled_in_the_order_it_came_each_line_once(
    redis: Any, community: Any
) -> None:
    """1,200 lines (with every tenth sent twice, one right after itself, and the first 50 again at the
    end) queued faster than they are handled: the drain worker takes them in batches of at most 500."""
    bot = Process(redis, community)
    lines = [chat_frame(f"b{i}", 1_000 + i % 37, f"viewer{i % 37}", f"line {i}") for i in range(1_200)]
    sent: list[dict[str, Any]] = []
    for i, frame in enumerate(lines):
        sent += [frame, frame] if i % 10 == 0 else [frame]
    sent += lines[:50]
    for frame in sent:
        await bot.pipeline.on_frame(parse_pusher_frame(json.dumps(frame)))
    assert bot.pipeline.queue.qsize() == len(sent)  # all waiting before the worker starts

    stop = asyncio.Event()
    worker = asyncio.create_task(bot.pipeline.drain(stop))
    stats = bot.pipeline.stats
    await until(lambda: bot.pipeline.queue.empty() and stats.events + stats.duplicates == len(sent), 30)
    stop.set()
    await worker

    assert [e.message_id for e in bot.handled if isinstance(e, ChatEvent)] == [f"b{i}" for i in range(1_200)]
    assert bot.pipeline.stats.duplicates == len(sent) - 1_200
    assert await chat_lines_counted(redis, community) == 1_200
