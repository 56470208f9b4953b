"""``!sr`` / ``!call`` through the real command router: replies, refusals, cooldown only on acceptance."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from django.conf import settings

from botworker.commands.router import ChatLine, CommandRouter
from kickbot.commands import autodiscover, registry
from kickbot.redis_client import get_async_redis
from outbox.models import OutboxMessage
from slots.models import SlotRequest, SlotSettings

pytestmark = pytest.mark.django_db(transaction=True)
NOW = datetime.now(UTC)


@pytest.fixture
async def router() -> AsyncIterator[CommandRouter]:
    autodiscover()
    client = get_async_redis()
    yield CommandRouter(registry=registry, redis=client, key_prefix=settings.REDIS_KEY_PREFIX)
    await client.aclose()


def line(community: Any, content: str, *, mid: str = "m1", user: int = 7) -> ChatLine:
    return ChatLine(
        community_id=community.pk,
        message_id=mid,
        user_id=user,
        username="viewer_1",
        content=content,
        badges=(),
        created_at=NOW - timedelta(seconds=1),
    )


async def test_sr_replies_with_the_matched_slot(
    router: CommandRouter, community: Any, catalogue: None
) -> None:
    reply = await router.handle(line(community, "!sr gates of olympus"), prefix="!", now=NOW)
    assert reply is not None
    assert reply.text == "@viewer_1 added Gates of Olympus to the queue (#1)."
    assert reply.reply_to_message_id == "m1"
    assert await SlotRequest.objects.acount() == 1


async def test_call_alias_and_free_text_reply(router: CommandRouter, community: Any, catalogue: None) -> None:
    reply = await router.handle(line(community, "!CALL something nobody knows"), prefix="!", now=NOW)
    assert reply is not None and "isn't in our slot list" in reply.text


async def test_redelivered_message_gets_the_same_reply_and_changes_nothing(
    router: CommandRouter, community: Any
) -> None:
    """The reply is rendered again (it is keyed by the message: queued at most once, see below)."""
    await SlotSettings.objects.acreate(community=community, channel_id=1234)
    first = await router.handle(line(community, "!sr mental"), prefix="!", now=NOW)
    again = await router.handle(line(community, "!sr mental"), prefix="!", now=NOW)
    assert first is not None and again is not None and again.text == first.text
    assert await SlotRequest.objects.acount() == 1
    assert await OutboxMessage.objects.filter(kind="discord_message").acount() == 1


async def test_a_reply_lost_with_its_process_is_sent_on_redelivery_once(community: Any) -> None:
    """The request was stored, then the process died before the reply was queued (here: the reply
    write fails once). The webhook delivery is not acknowledged; its redelivery queues the reply, and
    a later duplicate queues nothing more."""
    from botworker.kick.component import KickIngestion
    from botworker.kick.pipeline import CommunityConfig, CommunityPipeline, DeliveryFailed
    from kickbot.event_handlers import EventHandlers
    from tests.fakes.kick_chat import chat_webhook

    redis = get_async_redis()
    ingestion = KickIngestion(communities=[], redis=redis)
    cfg = CommunityConfig(
        id=community.pk,
        slug="s",
        prefix="!",
        chatroom_id=1,
        channel_id=2,
        broadcaster_user_id=3,
        bot_user_id=None,
    )
    died = {"once": True}

    async def on_reply(config: CommunityConfig, reply: Any) -> None:
        if died.pop("once", False):
            raise RuntimeError("killed before the reply was written")
        await ingestion.on_reply(config, reply)

    pipe = CommunityPipeline(
        community=cfg, redis=redis, router=ingestion.router, handlers=EventHandlers(), on_reply=on_reply
    )
    # the pipeline runs on the real clock: a line said just now
    body = chat_webhook("sr-lost-1", 4321, "SlotFan", "!sr mental", when=datetime.now(UTC))
    try:
        with pytest.raises(DeliveryFailed):
            await pipe.on_webhook("chat.message.sent", "01JWEBHOOKSR0000000000001", body)
        assert await SlotRequest.objects.acount() == 1
        assert await OutboxMessage.objects.filter(kind="kick_chat").acount() == 0
        await pipe.on_webhook("chat.message.sent", "01JWEBHOOKSR0000000000001", body)  # redelivered
        [row] = [r async for r in OutboxMessage.objects.filter(kind="kick_chat")]
        assert row.payload["reply_to"] == "sr-lost-1" and "added your request" in row.payload["text"]
        await redis.delete(*[k async for k in redis.scan_iter(match=f"{settings.REDIS_KEY_PREFIX}:dedupe:*")])
        await pipe.on_webhook("chat.message.sent", "01JWEBHOOKSR0000000000001", body)  # once more, late
        assert await OutboxMessage.objects.filter(kind="kick_chat").acount() == 1
        assert await SlotRequest.objects.acount() == 1
    finally:
        await redis.aclose()


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        ("!sr", "Which slot? Use !sr <slot name>."),
        ("!sr " + "a" * 201, "That request is too long (max 200 characters)."),
    ],
)
async def test_refusals_reply_and_store_nothing(
    router: CommandRouter, community: Any, content: str, expected: str
) -> None:
    reply = await router.handle(line(community, content), prefix="!", now=NOW)
    assert reply is not None and reply.text == expected
    assert not await SlotRequest.objects.aexists()


async def test_refusal_costs_no_cooldown_and_a_second_try_is_accepted(
    router: CommandRouter, community: Any
) -> None:
    refused = await router.handle(line(community, "!sr", mid="a"), prefix="!", now=NOW)
    accepted = await router.handle(line(community, "!sr sweet bonanza", mid="b"), prefix="!", now=NOW)
    assert refused is not None and accepted is not None
    assert "added" in accepted.text


async def test_accepted_request_starts_the_cooldown_with_its_own_reply(
    router: CommandRouter, community: Any
) -> None:
    await SlotSettings.objects.acreate(community=community, max_open_per_user=5)
    await router.handle(line(community, "!sr a", mid="a"), prefix="!", now=NOW)
    reply = await router.handle(line(community, "!sr b", mid="b"), prefix="!", now=NOW)
    assert reply is not None and reply.text.startswith("Slow down: you can request again in")
    assert await SlotRequest.objects.acount() == 1


async def test_limit_closed_and_blacklist_replies(router: CommandRouter, community: Any) -> None:
    from slots.models import SlotBlacklist

    rules = await SlotSettings.objects.acreate(community=community, cooldown_s=0)
    await router.handle(line(community, "!sr a", mid="a"), prefix="!", now=NOW)
    limit = await router.handle(line(community, "!sr b", mid="b"), prefix="!", now=NOW)
    rules.requests_open = False
    await rules.asave()
    closed = await router.handle(line(community, "!sr c", mid="c", user=8), prefix="!", now=NOW)
    await SlotBlacklist.objects.acreate(community=community, username="viewer_1")
    rules.requests_open = True
    await rules.asave()
    banned = await router.handle(line(community, "!sr d", mid="d", user=9), prefix="!", now=NOW)
    assert [r.text if r else None for r in (limit, closed, banned)] == [
        "You already have a request in the queue.",
        "Slot requests are closed right now.",
        "You can't request slots here.",
    ]
    assert await SlotRequest.objects.acount() == 1


async def test_the_request_cooldown_runs_on_the_messages_own_time(
    router: CommandRouter, community: Any
) -> None:
    """Said 40 s apart, delivered in one burst: both pass a 30 s cooldown; said 20 s apart: refused."""
    await SlotSettings.objects.acreate(community=community, cooldown_s=30, max_open_per_user=5)

    async def say(text: str, mid: str, said_s_ago: float) -> str | None:
        chat = ChatLine(
            community_id=community.pk,
            message_id=mid,
            user_id=7,
            username="viewer_1",
            content=text,
            badges=(),
            created_at=NOW - timedelta(seconds=said_s_ago),
        )
        reply = await router.handle(chat, prefix="!", now=NOW)
        return reply.text if reply else None

    assert "added" in (await say("!sr mental", "a", 90) or "")
    assert "added" in (await say("!sr book of dead", "b", 50) or "")
    assert await say("!sr wanted", "c", 30) == "Slow down: you can request again in 10 s."
    # a line said between the two accepted ones that arrives last is as close to them as any
    assert await say("!sr sugar rush", "d", 70) == "Slow down: you can request again in 10 s."
    assert await SlotRequest.objects.acount() == 2
