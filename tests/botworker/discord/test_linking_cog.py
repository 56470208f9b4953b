"""The linking cog with spec'd discord mocks: replies are private, never ping, admin commands are guarded."""

from __future__ import annotations

import logging
from typing import Any

import discord
import pytest
from discord.ext import commands

from accounts.models import KickUser, Link, LinkLogConfig, LinkRequest
from botworker.discord.bot import BUG_REPLY, KickbotBot
from botworker.discord.cogs.linking import LinkingCog
from botworker.discord.common import AdminRequired, ensure_admin
from kickbot.errors import InvalidInput, KickbotError
from kickbot.models import AuditLog
from tests.botworker.discord.conftest import PUBLIC, all_sends
from tests.fakes.discord import (
    MockBot,
    MockContext,
    MockGuild,
    MockInteraction,
    MockMember,
    MockRole,
    MockTextChannel,
    no_mentions,
)

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def cog() -> LinkingCog:
    return LinkingCog(MockBot())


def admin(guild: MockGuild) -> MockMember:
    return MockMember(guild=guild, guild_permissions=discord.Permissions(manage_guild=True))


def assert_silent(*mocks: Any) -> None:
    calls = all_sends(*mocks)
    assert calls, "expected at least one send"
    for call in calls:
        assert no_mentions(call.kwargs.get("allowed_mentions")), call


async def test_slash_link_answers_privately_with_a_link_button(cog: LinkingCog, guild: MockGuild) -> None:
    ctx = MockContext(guild=guild, interaction=MockInteraction(guild=guild))

    await cog.link.callback(cog, ctx)

    ctx.send.assert_awaited_once()
    kwargs = ctx.send.await_args.kwargs
    assert kwargs["ephemeral"] is True
    [button] = kwargs["view"].children
    assert button.style is discord.ButtonStyle.link
    assert button.url.startswith(f"{PUBLIC}/link/start/?t=")
    request = await LinkRequest.objects.aget()
    assert request.discord_user_id == ctx.author.id
    # the link page shows whose account it links: the member's names and avatar go with the request
    assert (request.discord_username, request.discord_display_name) == (
        ctx.author.name,
        ctx.author.display_name,
    )
    assert request.discord_avatar_url == ctx.author.display_avatar.url
    ctx.channel.send.assert_not_called()
    assert_silent(ctx)


async def test_prefix_link_goes_by_dm_never_to_the_channel(cog: LinkingCog, guild: MockGuild) -> None:
    ctx = MockContext(guild=guild)

    await cog.link.callback(cog, ctx)

    ctx.author.send.assert_awaited_once()
    assert ctx.author.send.await_args.kwargs["view"].children[0].url.startswith(f"{PUBLIC}/link/start/")
    ctx.send.assert_not_called()
    ctx.channel.send.assert_not_called()
    ctx.reply.assert_awaited_once()
    assert "/link/start" not in ctx.reply.await_args.args[0]
    assert_silent(ctx)


async def test_prefix_link_with_closed_dms_points_to_slash_without_the_url(
    cog: LinkingCog, guild: MockGuild
) -> None:
    ctx = MockContext(guild=guild)
    ctx.author.send.side_effect = discord.Forbidden(_response(403), "Cannot send messages to this user")

    await cog.link.callback(cog, ctx)

    text = ctx.reply.await_args.args[0]
    assert "/link" in text and "http" not in text
    ctx.send.assert_not_called()
    ctx.channel.send.assert_not_called()


async def test_link_in_a_guild_without_community_is_refused(cog: LinkingCog, community: Any) -> None:
    ctx = MockContext(guild=MockGuild(id=1234), interaction=MockInteraction())
    with pytest.raises(KickbotError, match="not connected"):
        await cog.link.callback(cog, ctx)
    assert not await LinkRequest.objects.aexists()


async def test_unlink_removes_the_link(cog: LinkingCog, guild: MockGuild, community: Any) -> None:
    ctx = MockContext(guild=guild)
    kick_user = await KickUser.objects.acreate(user_id=9, username="Some_One")
    await Link.objects.acreate(discord_user_id=ctx.author.id, kick_user=kick_user)

    await cog.unlink.callback(cog, ctx)

    assert not await Link.objects.aexists()
    assert "Some\\_One" in ctx.send.await_args.args[0]
    assert await AuditLog.objects.filter(action="link.removed", community=community).aexists()
    assert_silent(ctx)


async def test_unlink_when_not_linked_says_so(cog: LinkingCog, guild: MockGuild) -> None:
    ctx = MockContext(guild=guild)
    await cog.unlink.callback(cog, ctx)
    assert "not linked" in ctx.send.await_args.args[0]


# --- admin commands ----------------------------------------------------------------------

ADMIN_COMMANDS = ["setup_link_panel", "linklogs", "linklogs_on", "linklogs_off", "linklogs_status"]


@pytest.mark.parametrize("name", ADMIN_COMMANDS)
def test_every_admin_command_has_the_admin_check(cog: LinkingCog, name: str) -> None:
    assert ensure_admin in getattr(cog, name).checks


@pytest.mark.parametrize("name", ADMIN_COMMANDS)
async def test_non_admin_is_refused_before_anything_runs(
    cog: LinkingCog, guild: MockGuild, name: str
) -> None:
    ctx = MockContext(guild=guild, author=MockMember(guild=guild))
    with pytest.raises(AdminRequired):
        await getattr(cog, name).can_run(ctx)
    assert not await LinkLogConfig.objects.aexists()
    assert not await AuditLog.objects.aexists()


async def test_admin_role_of_the_community_counts_as_admin(guild: MockGuild, community: Any) -> None:
    from accounts.models import DiscordConfig

    role = MockRole(id=4242)
    await DiscordConfig.objects.acreate(community=community, admin_role_id=role.id)
    assert await ensure_admin(MockContext(guild=guild, author=MockMember(guild=guild, roles=[role])))
    with pytest.raises(AdminRequired):
        await ensure_admin(MockContext(guild=guild, author=MockMember(guild=guild, roles=[MockRole(id=1)])))


async def test_manage_server_counts_as_admin(guild: MockGuild) -> None:
    assert await ensure_admin(MockContext(guild=guild, author=admin(guild)))


async def test_admin_of_another_server_is_not_admin_here(guild: MockGuild, community: Any) -> None:
    # Manage Server in a guild with no community is not a key to this community's settings.
    other = MockGuild(id=5)
    with pytest.raises(KickbotError):
        await ensure_admin(MockContext(guild=other, author=admin(other)))


async def test_linklogs_on_with_channel_turns_logs_on(
    cog: LinkingCog, guild: MockGuild, community: Any
) -> None:
    channel = MockTextChannel(guild=guild)
    ctx = MockContext(guild=guild, author=admin(guild))

    await cog.linklogs_on.callback(cog, ctx, channel)

    cfg = await LinkLogConfig.objects.aget(community=community)
    assert (cfg.enabled, cfg.channel_id) == (True, channel.id)
    assert f"<#{channel.id}>" in ctx.send.await_args.args[0]
    assert await AuditLog.objects.filter(action="linklogs.update").aexists()
    assert_silent(ctx)


async def test_linklogs_on_without_any_channel_asks_for_one(cog: LinkingCog, guild: MockGuild) -> None:
    ctx = MockContext(guild=guild, author=admin(guild))
    with pytest.raises(InvalidInput, match="Name a channel"):
        await cog.linklogs_on.callback(cog, ctx, None)
    assert not await LinkLogConfig.objects.filter(enabled=True).aexists()


async def test_linklogs_on_refuses_a_channel_of_another_server(cog: LinkingCog, guild: MockGuild) -> None:
    ctx = MockContext(guild=guild, author=admin(guild))
    with pytest.raises(InvalidInput, match="this server"):
        await cog.linklogs_on.callback(cog, ctx, MockTextChannel(guild=MockGuild()))
    assert not await LinkLogConfig.objects.aexists()


async def test_linklogs_off_and_status(cog: LinkingCog, guild: MockGuild, community: Any) -> None:
    await LinkLogConfig.objects.acreate(community=community, enabled=True, channel_id=77)
    ctx = MockContext(guild=guild, author=admin(guild))

    await cog.linklogs_status.callback(cog, ctx)
    assert "on in <#77>" in ctx.send.await_args.args[0]
    await cog.linklogs_off.callback(cog, ctx)
    assert not (await LinkLogConfig.objects.aget(community=community)).enabled
    await cog.linklogs_status.callback(cog, ctx)
    assert "off" in ctx.send.await_args.args[0]
    assert_silent(ctx)


async def test_linklogs_with_an_unknown_word_shows_usage(cog: LinkingCog, guild: MockGuild) -> None:
    ctx = MockContext(guild=guild, author=admin(guild))
    await cog.linklogs.callback(cog, ctx)
    assert "linklogs on #channel" in ctx.send.await_args.args[0]
    assert not await LinkLogConfig.objects.aexists()


@pytest.mark.parametrize(
    "argument",
    [
        "junk",
        "@everyone",
        "@here <@&123456789012345678> <@123456789012345678>",
        "x" * 5000,
        "🔥频道 ​",
        "<#999>",
    ],
)
async def test_linklogs_on_bad_channel_input_gets_a_clear_reply_and_changes_nothing(
    guild: MockGuild, argument: str
) -> None:
    bot = KickbotBot(sync_commands=False)
    ctx = MockContext(guild=guild, author=admin(guild), bot=bot, current_parameter=None)
    with pytest.raises(commands.BadArgument) as excinfo:
        await commands.TextChannelConverter().convert(ctx, argument)

    await bot.on_command_error(ctx, excinfo.value)

    text = ctx.send.await_args.args[0]
    assert text == "I can't find that channel in this server. Mention it like #channel."
    assert argument not in text
    assert_silent(ctx)
    assert not await LinkLogConfig.objects.aexists()


# --- the one error handler ---------------------------------------------------------------


async def test_error_handler_turns_domain_errors_into_replies(guild: MockGuild) -> None:
    bot = KickbotBot(sync_commands=False)
    ctx = MockContext(guild=guild, bot=bot)
    await bot.on_command_error(ctx, commands.CommandInvokeError(InvalidInput("Name a channel.")))
    assert ctx.send.await_args.args[0] == "Name a channel."
    await bot.on_command_error(ctx, AdminRequired())
    assert ctx.send.await_args.args[0] == "Only server admins can do that."
    assert_silent(ctx)


async def test_error_handler_logs_real_bugs_and_shows_no_exception_text(
    guild: MockGuild, caplog: Any
) -> None:
    bot = KickbotBot(sync_commands=False)
    ctx = MockContext(guild=guild, bot=bot)
    with caplog.at_level(logging.ERROR):
        await bot.on_command_error(ctx, commands.CommandInvokeError(RuntimeError("secret internals")))
    assert ctx.send.await_args.args[0] == BUG_REPLY
    assert "secret internals" in caplog.text  # in the log (with traceback), not in the reply


async def test_unknown_commands_are_ignored(guild: MockGuild) -> None:
    bot = KickbotBot(sync_commands=False)
    ctx = MockContext(guild=guild, bot=bot)
    await bot.on_command_error(ctx, commands.CommandNotFound("nope"))
    ctx.send.assert_not_called()


def _response(status: int) -> Any:
    from unittest.mock import MagicMock

    response = MagicMock()
    response.status = status
    response.reason = "Forbidden"
    return response
