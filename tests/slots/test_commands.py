"""``!sr`` / ``!call`` through the real command router: replies, refusals, cooldown only on acceptance."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from django.conf import settings

from botworker.commands import autodiscover, registry
from botworker.commands.router import ChatLine, CommandRouter
from botworker.models import OutboxMessage
from kickbot.redis_client import get_async_redis
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


async def test_redelivered_message_gets_no_second_reply(router: CommandRouter, community: Any) -> None:
    await SlotSettings.objects.acreate(community=community, channel_id=1234)
    assert await router.handle(line(community, "!sr mental"), prefix="!", now=NOW) is not None
    assert await router.handle(line(community, "!sr mental"), prefix="!", now=NOW) is None
    assert await SlotRequest.objects.acount() == 1
    assert await OutboxMessage.objects.filter(kind="discord_message").acount() == 1


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
