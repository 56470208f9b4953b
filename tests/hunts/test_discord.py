"""``/hunt`` on Discord with spec'd mocks: admins only, refusals that change nothing, no pings."""

from __future__ import annotations

from typing import Any

import pytest

from botworker.discord.bot import KickbotBot
from botworker.discord.cogs.hunts import USAGE, HuntsCog, slot_autocomplete
from botworker.discord.common import AdminRequired, ensure_admin
from hunts.models import Hunt, HuntBonus
from kickbot.bridge import run_sync
from kickbot.errors import InvalidInput
from kickbot.models import AuditLog
from slots.catalogue import slots_import
from slots.matching import name_cache
from tests.fakes.discord import MockBot, MockContext, MockGuild, MockInteraction, MockMember, no_mentions
from tests.hunts.conftest import admin_member

pytestmark = pytest.mark.django_db(transaction=True)

ADMIN_COMMANDS = ["start", "add", "remove", "open_bonuses", "result", "finish"]
BAD_MONEY = [
    "",
    "junk",
    "-5",
    "nan",
    "inf",
    "1e3",
    "9" * 40,
    "99999999999",
    "１２\x00",
    "@everyone",
    "💰",
    "1.234",
]
BAD_NUMBERS = ["0", "-1", "x", "@everyone", "1\x00", "１", "9999999", "nan", "1.5"]


@pytest.fixture
def cog() -> HuntsCog:
    return HuntsCog(MockBot())


def ctx_for(guild: MockGuild) -> Any:
    return MockContext(guild=guild, author=admin_member(guild))


def said(ctx: Any) -> str:
    call = ctx.send.await_args
    assert no_mentions(call.kwargs["allowed_mentions"])
    return str(call.args[0])


async def snapshot() -> tuple[Any, ...]:
    def read() -> tuple[Any, ...]:
        return (
            list(Hunt.objects.values().order_by("id")),
            list(HuntBonus.objects.values().order_by("id")),
            AuditLog.objects.count(),
        )

    return await run_sync(read)()


async def test_setup_hook_loads_the_hunt_group() -> None:
    bot = KickbotBot(sync_commands=False)
    await bot.setup_hook()
    group = bot.get_command("hunt")
    assert group is not None
    assert {c.name for c in group.commands} == {  # type: ignore[attr-defined]
        "start",
        "add",
        "remove",
        "open",
        "result",
        "finish",
        "stats",
    }
    for extension in list(bot.extensions):
        await bot.unload_extension(extension)


@pytest.mark.parametrize("name", ADMIN_COMMANDS)
async def test_management_is_for_admins_only(cog: HuntsCog, guild: MockGuild, name: str) -> None:
    command = getattr(cog, name)
    assert ensure_admin in command.checks
    with pytest.raises(AdminRequired):
        await command.can_run(MockContext(guild=guild, author=MockMember(guild=guild)))


async def test_stats_is_for_everyone(cog: HuntsCog, guild: MockGuild) -> None:
    assert ensure_admin not in cog.stats.checks
    ctx = MockContext(guild=guild)
    await cog.stats.callback(cog, ctx)
    assert said(ctx) == "No bonus hunt yet."


async def test_bare_group_shows_usage(cog: HuntsCog, guild: MockGuild) -> None:
    ctx = MockContext(guild=guild)
    await cog.hunt.callback(cog, ctx)
    assert said(ctx) == USAGE


async def test_a_whole_hunt_from_discord(cog: HuntsCog, guild: MockGuild) -> None:
    ctx = ctx_for(guild)
    await cog.start.callback(cog, ctx, "$1,000", "eur", title="Friday @everyone")
    assert said(ctx) == "Started **Friday @\u200beveryone** with €1,000. Add bonuses with `/hunt add`."
    await cog.add.callback(cog, ctx, "Sweet Bonanza", "2", "", notes="")
    assert said(ctx) == "#1 **Sweet Bonanza** at €2 added (1 bonuses)."
    await cog.add.callback(cog, ctx, "<@&123> Le Bandit", "0.40", "80", notes="buy")
    assert "<@&123>" not in said(ctx)
    await cog.add.callback(cog, ctx, "Gates", "1", "", notes="")
    await cog.remove.callback(cog, ctx, "#3")
    assert said(ctx) == "Bonus #3 removed (2 left)."
    await cog.open_bonuses.callback(cog, ctx)
    assert "Break-even: 450x" in said(ctx)  # (€1,000 + the €80 buy) / (€2 + €0.40) of bets
    await cog.result.callback(cog, ctx, "100", "")
    assert "Win €100 entered." in said(ctx)
    await cog.result.callback(cog, ctx, "0", "")
    await cog.finish.callback(cog, ctx)
    text = said(ctx)
    assert text.startswith("Finished.") and "profit -€980" in text
    hunt = await Hunt.objects.aget()
    assert (hunt.status, hunt.currency, hunt.start_balance_cents) == ("finished", "EUR", 1000_00)
    bonus = await HuntBonus.objects.aget(position=2)
    assert (bonus.bet_cents, bonus.cost_cents, bonus.win_cents) == (40, 80_00, 0)


@pytest.mark.parametrize("bad", BAD_MONEY)
async def test_bad_money_is_refused_everywhere_and_changes_nothing(
    cog: HuntsCog, guild: MockGuild, bad: str
) -> None:
    ctx = ctx_for(guild)
    with pytest.raises(InvalidInput, match=r"^Start balance: "):
        await cog.start.callback(cog, ctx, bad, "USD", title="x")
    assert await snapshot() == ([], [], 0)
    await cog.start.callback(cog, ctx, "100", "USD", title="x")
    before = await snapshot()
    with pytest.raises(InvalidInput, match=r"^Bet: "):
        await cog.add.callback(cog, ctx, "Slot", bad, "", notes="")
    if bad.strip():  # a blank cost means "not a buy"
        with pytest.raises(InvalidInput, match=r"^Cost: "):
            await cog.add.callback(cog, ctx, "Slot", "1", bad, notes="")
    assert await snapshot() == before
    await cog.add.callback(cog, ctx, "Slot", "1", "", notes="")
    await cog.open_bonuses.callback(cog, ctx)
    before = await snapshot()
    with pytest.raises(InvalidInput, match=r"^Win: "):
        await cog.result.callback(cog, ctx, bad, "")
    assert await snapshot() == before


@pytest.mark.parametrize("bad", BAD_NUMBERS)
async def test_bad_bonus_numbers_are_refused_and_change_nothing(
    cog: HuntsCog, guild: MockGuild, bad: str
) -> None:
    ctx = ctx_for(guild)
    await cog.start.callback(cog, ctx, "100", "USD", title="x")
    await cog.add.callback(cog, ctx, "Slot", "1", "", notes="")
    before = await snapshot()
    with pytest.raises(InvalidInput, match="Give the bonus number"):
        await cog.remove.callback(cog, ctx, bad)
    await cog.open_bonuses.callback(cog, ctx)
    before = await snapshot()
    with pytest.raises(InvalidInput, match="Give the bonus number"):
        await cog.result.callback(cog, ctx, "5", bad)
    assert await snapshot() == before


@pytest.mark.parametrize(
    "slot,message",
    [("", "Name the slot"), ("\x00", "Name the slot"), ("s" * 101, "under 100")],
)
async def test_bad_slot_names_are_refused(cog: HuntsCog, guild: MockGuild, slot: str, message: str) -> None:
    ctx = ctx_for(guild)
    await cog.start.callback(cog, ctx, "100", "USD", title="x")
    before = await snapshot()
    with pytest.raises(InvalidInput, match=message):
        await cog.add.callback(cog, ctx, slot, "1", "", notes="")
    assert await snapshot() == before


async def test_bad_currency_and_title_are_refused(cog: HuntsCog, guild: MockGuild) -> None:
    ctx = ctx_for(guild)
    with pytest.raises(InvalidInput, match="Pick a currency"):
        await cog.start.callback(cog, ctx, "100", "@everyone", title="")
    with pytest.raises(InvalidInput, match="under 100"):
        await cog.start.callback(cog, ctx, "100", "USD", title="t" * 500)
    assert await snapshot() == ([], [], 0)


async def test_slot_autocomplete_offers_catalogue_names(community: Any) -> None:
    name_cache.invalidate()
    rows = [{"name": "Sweet Bonanza", "provider": "Pragmatic"}, {"name": "Le Bandit", "provider": "Hacksaw"}]
    await run_sync(slots_import)(rows=rows, source="json")
    choices = await slot_autocomplete(MockInteraction(), "sweet bon")
    names = [c.name for c in choices]
    assert names[0] == "sweet bon" and "Sweet Bonanza" in names
    assert await slot_autocomplete(MockInteraction(), "  ") == []
