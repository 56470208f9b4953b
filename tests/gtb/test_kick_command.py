"""``!gtb <amount>`` through the real command router and registry."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from django.conf import settings

from botworker.bridge import run_sync
from botworker.commands import autodiscover, registry
from botworker.commands.router import ChatLine, CommandRouter
from gtb.models import GtbGuess
from gtb.services import gtb_session_close, gtb_session_start
from kickbot.redis_client import get_async_redis

pytestmark = pytest.mark.django_db(transaction=True)

NOW = datetime(2026, 11, 27, 20, 0, tzinfo=UTC)


@pytest.fixture
async def router() -> AsyncIterator[CommandRouter]:
    autodiscover()
    client = get_async_redis()
    yield CommandRouter(registry=registry, redis=client, key_prefix=settings.REDIS_KEY_PREFIX)
    await client.aclose()


async def say(
    router: CommandRouter, community: Any, text: str, *, user_id: int = 7, mid: str = "m1"
) -> str | None:
    line = ChatLine(
        community_id=community.pk,
        message_id=mid,
        user_id=user_id,
        username="Viewer_7",
        content=text,
        badges=(),
        created_at=NOW - timedelta(seconds=1),
    )
    reply = await router.handle(line, prefix="!", now=NOW)
    return reply.text if reply else None


async def open_round(community: Any) -> None:
    await run_sync(gtb_session_start)(community_id=community.pk, title="Hunt", prize_cents=0, actor_label="t")


async def test_gtb_guess_is_saved_and_confirmed(router: CommandRouter, community: Any) -> None:
    await open_round(community)
    assert await say(router, community, "!gtb $1,500.50") == "Guess saved: $1,500.50"
    guess = await GtbGuess.objects.aget()
    assert (guess.kick_user_id, guess.username, guess.amount_cents) == (7, "Viewer_7", 1_500_50)


@pytest.mark.parametrize(
    ("text", "reply"),
    [
        ("!gtb", "Add an amount, like 1500 or 1.5k."),
        ("!gtb nan", "That's not a number."),
        ("!gtb 1e3", "Write the amount out, like 1500 or 1.5k (no 1e3)."),
        ("!gtb -5", "The amount can't be negative."),
        ("!gtb @everyone", "That's not an amount. Try 1500, $1,500.50 or 1.5k."),
        ("!gtb " + "z" * 200, "That's too long for an amount."),
    ],
)
async def test_bad_guesses_get_a_short_reply_and_change_nothing(
    router: CommandRouter, community: Any, text: str, reply: str
) -> None:
    await open_round(community)
    assert await say(router, community, text) == reply
    assert not await GtbGuess.objects.aexists()


async def test_a_refused_guess_does_not_cost_the_cooldown(router: CommandRouter, community: Any) -> None:
    await open_round(community)
    await say(router, community, "!gtb junk", mid="m1")
    assert await say(router, community, "!gtb 100", mid="m2") == "Guess saved: $100"


async def test_guess_while_closed_is_refused(router: CommandRouter, community: Any) -> None:
    await open_round(community)
    await run_sync(gtb_session_close)(community_id=community.pk, actor_label="t")
    assert await say(router, community, "!gtb 100") == "Guessing is closed for this round."
    assert not await GtbGuess.objects.aexists()


async def test_guess_with_no_round_is_refused(router: CommandRouter, community: Any) -> None:
    assert await say(router, community, "!gtb 100") == "No Guess the Balance is open right now."
