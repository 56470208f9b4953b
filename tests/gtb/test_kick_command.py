"""``!gtb <amount>`` through the real command router and registry."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import time_machine
from django.conf import settings

from botworker.commands.router import ChatLine, CommandRouter
from gtb.models import GtbGuess
from gtb.services import gtb_session_close, gtb_session_start
from kickbot.bridge import run_sync
from kickbot.commands import autodiscover, registry
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
    router: CommandRouter,
    community: Any,
    text: str,
    *,
    user_id: int = 7,
    mid: str = "m1",
    said_s_ago: float = 1,
) -> str | None:
    line = ChatLine(
        community_id=community.pk,
        message_id=mid,
        user_id=user_id,
        username="Viewer_7",
        content=text,
        badges=(),
        created_at=NOW - timedelta(seconds=said_s_ago),
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


# --- time is the message's time ------------------------------------------------------------------------


async def open_round_before(community: Any) -> None:
    """A round opened a minute before the guesses below were said."""
    with time_machine.travel(NOW - timedelta(minutes=1), tick=False):
        await open_round(community)


async def guess(
    router: CommandRouter, community: Any, amount: str, *, said_s_ago: float, mid: str, user_id: int = 7
) -> str | None:
    return await say(router, community, f"!gtb {amount}", user_id=user_id, mid=mid, said_s_ago=said_s_ago)


async def test_two_guesses_4s_apart_delivered_together_the_later_stands(
    router: CommandRouter, community: Any
) -> None:
    await open_round_before(community)
    assert await guess(router, community, "1500", said_s_ago=10, mid="a") == "Guess saved: $1,500"
    assert (
        await guess(router, community, "1600", said_s_ago=6, mid="b")
        == "Guess changed to $1,600 (was $1,500)"
    )
    g = await GtbGuess.objects.aget()
    assert g.amount_cents == 1600_00
    assert (g.first_guessed_at, g.updated_at) == (NOW - timedelta(seconds=10), NOW - timedelta(seconds=6))


async def test_guesses_arriving_in_reverse_order_the_later_said_still_stands(
    router: CommandRouter, community: Any
) -> None:
    await open_round_before(community)
    assert await guess(router, community, "1600", said_s_ago=6, mid="b") == "Guess saved: $1,600"
    assert (
        await guess(router, community, "1500", said_s_ago=10, mid="a") == "Your later guess of $1,600 stands."
    )
    assert (await GtbGuess.objects.aget()).amount_cents == 1600_00


async def test_a_guess_change_inside_the_cooldown_is_told_not_dropped_silently(
    router: CommandRouter, community: Any
) -> None:
    await open_round_before(community)
    assert await guess(router, community, "1500", said_s_ago=10, mid="a") == "Guess saved: $1,500"
    refused = await guess(router, community, "1600", said_s_ago=9, mid="b")
    assert refused == "@Viewer_7 your guess was not changed: one guess per 3 s, try again in 2 s."
    assert await guess(router, community, "1700", said_s_ago=8.5, mid="c") is None  # told once a window
    assert router.cooldown_refusals[community.pk] == 2  # ... and counted every time
    assert (await GtbGuess.objects.aget()).amount_cents == 1500_00


async def test_a_redelivered_guess_gets_the_same_answer_and_changes_nothing(
    router: CommandRouter, community: Any
) -> None:
    await open_round_before(community)
    await guess(router, community, "1500", said_s_ago=10, mid="a")
    assert (
        await guess(router, community, "1600", said_s_ago=5, mid="b")
        == "Guess changed to $1,600 (was $1,500)"
    )
    again = await guess(router, community, "1600", said_s_ago=5, mid="b")
    assert again == "Guess changed to $1,600 (was $1,500)"
    g = await GtbGuess.objects.aget()
    assert (g.amount_cents, g.previous_amount_cents, g.message_id) == (1600_00, 1500_00, "b")


async def test_tie_priority_is_when_the_guess_was_said(router: CommandRouter, community: Any) -> None:
    await open_round_before(community)
    await guess(router, community, "1500", said_s_ago=5, mid="b", user_id=2)
    await guess(router, community, "1500", said_s_ago=9, mid="a", user_id=1)  # said first, handled second
    rows = [g async for g in GtbGuess.objects.order_by("first_guessed_at")]
    assert [g.kick_user_id for g in rows] == [1, 2]
