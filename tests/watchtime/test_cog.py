"""The watchtime cog with spec'd discord mocks: replies never ping, bad input changes nothing."""

from __future__ import annotations

from typing import Any

import discord
import pytest

from accounts.models import KickUser, Link
from botworker.discord.cogs.watchtime import WatchtimeCog, parse_count
from botworker.discord.common import AdminRequired, ensure_admin
from kickbot.errors import InvalidInput, KickbotError
from kickbot.models import AuditLog
from outbox.models import OutboxMessage
from tests.fakes.discord import (
    MockBot,
    MockContext,
    MockGuild,
    MockInteraction,
    MockMember,
    MockRole,
    no_mentions,
)
from watchtime.models import WatchRole, WatchSettings, WatchTotal

pytestmark = pytest.mark.django_db(transaction=True)


def role(
    guild: MockGuild, *, position: int = 3, managed: bool = False, default: bool = False, **kw: Any
) -> MockRole:
    r = MockRole(position=position, managed=managed, guild=guild, members=[], **kw)
    r.is_default.return_value = default
    guild.roles.append(r)
    return r


@pytest.fixture
def guild(community: Any) -> MockGuild:
    g = MockGuild(id=community.discord_guild_id, name="Streamer's server")
    everyone = role(g, position=0, default=True, name="@everyone", id=g.id)
    bot_top = role(g, position=10, name="Bot")
    g.me = MockMember(guild=g, top_role=bot_top, roles=[everyone, bot_top])
    return g


@pytest.fixture
def cog() -> WatchtimeCog:
    return WatchtimeCog(MockBot())


def admin_ctx(guild: MockGuild, **kw: Any) -> MockContext:
    staff = role(guild, position=9, name="Staff")
    author = MockMember(
        guild=guild,
        guild_permissions=discord.Permissions(manage_guild=True, manage_roles=True),
        top_role=staff,
    )
    return MockContext(guild=guild, author=author, **kw)


def said(ctx: MockContext) -> str:
    call = ctx.send.await_args
    assert no_mentions(call.kwargs.get("allowed_mentions")), call
    return call.args[0] if call.args else ""


# --- leaderboard -------------------------------------------------------------------------


@pytest.mark.parametrize(
    "n",
    ["0", "-1", "26", "1000000000000", "nan", "1e3", "ten", "٣", "５", "@everyone", "<@&123>", "2.5", "inf"],
)
def test_leaderboard_bad_n_is_refused_clearly(n: str) -> None:
    with pytest.raises(InvalidInput, match="1 to 25"):
        parse_count(n)


@pytest.mark.parametrize(("n", "value"), [(None, 10), ("", 10), ("1", 1), (" 25 ", 25), ("07", 7)])
def test_leaderboard_n_values(n: str | None, value: int) -> None:
    assert parse_count(n) == value


async def test_leaderboard_bad_n_sends_nothing_else(cog: WatchtimeCog, guild: MockGuild) -> None:
    ctx = MockContext(guild=guild)
    with pytest.raises(InvalidInput):
        await cog.leaderboard.callback(cog, ctx, "-3")
    ctx.send.assert_not_called()


async def test_leaderboard_embed_escapes_names(cog: WatchtimeCog, guild: MockGuild, community: Any) -> None:
    await KickUser.objects.acreate(user_id=1, username="@everyone_*bold*")
    await KickUser.objects.acreate(user_id=2, username="bob")
    await WatchTotal.objects.acreate(community=community, kick_user_id=1, minutes=125)
    await WatchTotal.objects.acreate(community=community, kick_user_id=2, minutes=30)
    ctx = MockContext(guild=guild, interaction=MockInteraction(guild=guild))

    await cog.leaderboard.callback(cog, ctx, "5")

    embed = ctx.send.await_args.kwargs["embed"]
    assert no_mentions(ctx.send.await_args.kwargs["allowed_mentions"])
    assert "`#1` **@\u200beveryone\\_\\*bold\\***: 2h 5m" in embed.description
    assert "`#2` **bob**: 30m" in embed.description


# --- watchtime ---------------------------------------------------------------------------


async def test_watchtime_shows_minutes_rank_and_next_role(
    cog: WatchtimeCog, guild: MockGuild, community: Any
) -> None:
    ctx = MockContext(guild=guild)
    kick = await KickUser.objects.acreate(user_id=1, username="alice")
    await Link.objects.acreate(discord_user_id=ctx.author.id, kick_user=kick)
    await WatchTotal.objects.acreate(community=community, kick_user_id=1, minutes=125)
    await WatchTotal.objects.acreate(community=community, kick_user_id=2, minutes=300)
    await WatchRole.objects.acreate(
        community=community, discord_role_id=77, name="Regular", minutes_required=180
    )

    await cog.watchtime.callback(cog, ctx, None)

    assert said(ctx) == "**alice**: 2h 5m, rank #2 of 2. Next role: Regular in 55m."


async def test_watchtime_of_an_unlinked_member_says_so(cog: WatchtimeCog, guild: MockGuild) -> None:
    ctx = MockContext(guild=guild)
    other = MockMember(guild=guild, display_name="@everyone")
    await cog.watchtime.callback(cog, ctx, other)
    assert "hasn't linked" in said(ctx)
    assert "@everyone" not in said(ctx)


# --- tracking ----------------------------------------------------------------------------


async def test_tracking_is_admin_only(guild: MockGuild) -> None:
    ctx = MockContext(guild=guild)
    with pytest.raises(AdminRequired):
        await ensure_admin(ctx)


async def test_tracking_off_and_on_is_audited(cog: WatchtimeCog, guild: MockGuild, community: Any) -> None:
    ctx = admin_ctx(guild)
    await cog.tracking_off.callback(cog, ctx)
    assert "paused" in said(ctx)
    assert not (await WatchSettings.objects.aget(community=community)).tracking_enabled
    await cog.tracking_status.callback(cog, ctx)
    assert "paused" in said(ctx)
    await cog.tracking_on.callback(cog, ctx)
    assert (await WatchSettings.objects.aget(community=community)).tracking_enabled
    actions = [a async for a in AuditLog.objects.order_by("id").values_list("action", flat=True)]
    assert actions == ["watchtime.tracking_off", "watchtime.tracking_on"]


# --- roles -------------------------------------------------------------------------------


async def test_roles_add_then_list(cog: WatchtimeCog, guild: MockGuild, community: Any) -> None:
    regular = role(guild, name="Regular")
    ctx = admin_ctx(guild)
    await cog.roles_add.callback(cog, ctx, regular.mention, "10h")
    assert "10h 0m" in said(ctx)
    row = await WatchRole.objects.aget(community=community)
    assert (row.discord_role_id, row.minutes_required, row.name) == (regular.id, 600, "Regular")
    await cog.roles_list.callback(cog, ctx)
    assert f"<@&{regular.id}> at 10h 0m" in said(ctx)


def _bad_role_cases(guild: MockGuild) -> dict[str, str]:
    return {
        "unknown": "<@&123456789012345678>",
        "everyone": "@everyone",
        "above": role(guild, position=11, name="Mods").mention,
        "same": role(guild, position=10, name="Peer").mention,
        "managed": role(guild, managed=True, name="Booster").mention,
        "junk": "not a role at all",
    }


@pytest.mark.parametrize("case", ["unknown", "everyone", "above", "same", "managed", "junk"])
async def test_roles_add_refuses_unusable_roles(cog: WatchtimeCog, guild: MockGuild, case: str) -> None:
    text = _bad_role_cases(guild)[case]
    with pytest.raises(KickbotError):
        await cog.roles_add.callback(cog, admin_ctx(guild), text, "60")
    assert not await WatchRole.objects.aexists()
    assert not await AuditLog.objects.aexists()


@pytest.mark.parametrize("minutes", ["-5", "abc", "5256001", "1e3", "nan", "٣", "@everyone"])
async def test_roles_add_refuses_bad_minutes(cog: WatchtimeCog, guild: MockGuild, minutes: str) -> None:
    regular = role(guild, name="Regular")
    with pytest.raises(InvalidInput):
        await cog.roles_add.callback(cog, admin_ctx(guild), regular.mention, minutes)
    assert not await WatchRole.objects.aexists()


async def test_roles_add_duplicate_is_refused(cog: WatchtimeCog, guild: MockGuild) -> None:
    regular = role(guild, name="Regular")
    await cog.roles_add.callback(cog, admin_ctx(guild), str(regular.id), "60")
    with pytest.raises(InvalidInput, match="already"):
        await cog.roles_add.callback(cog, admin_ctx(guild), "Regular", "90")
    assert (await WatchRole.objects.aget()).minutes_required == 60


@pytest.mark.parametrize("command", ["roles_update", "roles_remove", "roles_enable", "roles_disable"])
async def test_roles_commands_on_a_role_that_is_not_a_watchtime_role(
    cog: WatchtimeCog, guild: MockGuild, command: str
) -> None:
    regular = role(guild, name="Regular")
    args = (regular.mention, "60") if command == "roles_update" else (regular.mention,)
    with pytest.raises(InvalidInput, match="not a watchtime role"):
        await getattr(cog, command).callback(cog, admin_ctx(guild), *args)


async def test_roles_update_refuses_bad_minutes_and_keeps_the_old(
    cog: WatchtimeCog, guild: MockGuild
) -> None:
    regular = role(guild, name="Regular")
    await cog.roles_add.callback(cog, admin_ctx(guild), regular.mention, "60")
    with pytest.raises(InvalidInput):
        await cog.roles_update.callback(cog, admin_ctx(guild), regular.mention, "-1")
    assert (await WatchRole.objects.aget()).minutes_required == 60


async def test_disable_takes_the_role_off_members(
    cog: WatchtimeCog, guild: MockGuild, community: Any
) -> None:
    regular = role(guild, name="Regular")
    member_id = 444_444_444_444_444_444
    kick = await KickUser.objects.acreate(user_id=1, username="alice")
    await Link.objects.acreate(discord_user_id=member_id, kick_user=kick)
    await WatchTotal.objects.acreate(community=community, kick_user_id=1, minutes=100)

    await cog.roles_add.callback(cog, admin_ctx(guild), regular.mention, "60")
    assert [m.kind async for m in OutboxMessage.objects.all()] == ["discord_role_add"]
    await cog.roles_disable.callback(cog, admin_ctx(guild), regular.mention)

    kinds = [m.kind async for m in OutboxMessage.objects.order_by("id")]
    assert kinds == ["discord_role_add", "discord_role_remove"]


async def test_roles_members_lists_without_pinging(cog: WatchtimeCog, guild: MockGuild) -> None:
    regular = role(guild, name="Regular")
    regular.members = [MockMember(guild=guild), MockMember(guild=guild)]
    ctx = admin_ctx(guild)
    await cog.roles_members.callback(cog, ctx, regular.mention)
    assert said(ctx).startswith("2 with")


async def test_daily_reconcile_repairs_a_role_removed_by_hand(
    cog: WatchtimeCog, guild: MockGuild, community: Any
) -> None:
    regular = role(guild, name="Regular")
    alice = MockMember(guild=guild, roles=[regular])
    await cog.roles_add.callback(cog, admin_ctx(guild), regular.mention, "60")
    kick = await KickUser.objects.acreate(user_id=1, username="alice")
    await Link.objects.acreate(discord_user_id=alice.id, kick_user=kick)
    await WatchTotal.objects.acreate(community=community, kick_user_id=1, minutes=100)
    guild.members = [alice]
    assert await cog.reconcile_guild(guild) == 1
    assert not await OutboxMessage.objects.aexists()  # she has it: nothing to do

    alice.roles = []  # removed by hand
    await cog.reconcile_guild(guild)
    assert [m.kind async for m in OutboxMessage.objects.all()] == ["discord_role_add"]
