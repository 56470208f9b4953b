"""``!hunt`` through the real command router and registry."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from django.conf import settings

from botworker.commands.router import ChatLine, CommandRouter
from hunts.models import Hunt, HuntBonus
from hunts.services import hunt_bonus_add, hunt_bonus_result, hunt_finish, hunt_opening_begin, hunt_start
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


def build_hunt(community: Any) -> None:
    hunt_start(community_id=community.pk, title="Friday", start_balance_cents=1000_00, actor_label="t")
    hunt_bonus_add(community_id=community.pk, slot_name="Sweet Bonanza", bet_cents=2_00, actor_label="t")
    hunt_bonus_add(community_id=community.pk, slot_name="Le Bandit", bet_cents=4_00, actor_label="t")
    hunt_opening_begin(community_id=community.pk, actor_label="t")
    hunt_bonus_result(community_id=community.pk, win_cents=250_00, actor_label="t")


async def test_no_hunt_yet(router: CommandRouter, community: Any) -> None:
    assert await say(router, community, "!hunt") == "No bonus hunt yet."


async def test_running_hunt_summary(router: CommandRouter, community: Any) -> None:
    await run_sync(build_hunt)(community)
    text = await say(router, community, "!hunt")
    assert text == (
        'Bonus hunt "Friday" (opening): 1/2 opened, cost $1,000, won $250, profit -$750, '
        "avg 125x, best 125x (Sweet Bonanza), break-even 187.5x"
    )


async def test_finished_hunt_summary_has_no_break_even(router: CommandRouter, community: Any) -> None:
    await run_sync(build_hunt)(community)
    await run_sync(hunt_bonus_result)(community_id=community.pk, win_cents=0, actor_label="t")
    await run_sync(hunt_finish)(community_id=community.pk, actor_label="t")
    text = await say(router, community, "!hunt")
    assert text is not None and text.startswith('Bonus hunt "Friday" (finished): 2/2 opened')
    assert "break-even" not in text


@pytest.mark.parametrize(
    "args",
    ["start 100", "finish", "@everyone", "nan", "-5", "9" * 400, "\u202eevil", "x\x00y", "💰💰"],
)
async def test_viewer_arguments_change_nothing(router: CommandRouter, community: Any, args: str) -> None:
    await run_sync(build_hunt)(community)
    before = await run_sync(lambda: (list(Hunt.objects.values()), list(HuntBonus.objects.values())))()
    text = await say(router, community, f"!hunt {args}")
    assert text is not None and text.startswith('Bonus hunt "Friday"')
    after = await run_sync(lambda: (list(Hunt.objects.values()), list(HuntBonus.objects.values())))()
    assert after == before


async def test_long_slot_names_keep_the_line_within_kick_limits(
    router: CommandRouter, community: Any
) -> None:
    def long_hunt() -> None:
        hunt_start(community_id=community.pk, title="T" * 100, start_balance_cents=1, actor_label="t")
        hunt_bonus_add(community_id=community.pk, slot_name="S" * 100, bet_cents=1, actor_label="t")
        hunt_opening_begin(community_id=community.pk, actor_label="t")
        hunt_bonus_result(community_id=community.pk, win_cents=10**10, actor_label="t")

    await run_sync(long_hunt)()
    text = await say(router, community, "!hunt")
    assert text is not None and len(text) <= 480
