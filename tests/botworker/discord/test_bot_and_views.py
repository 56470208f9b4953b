"""The bot's setup: persistent link panel, mentions off by default, cogs loaded; the panel button."""

from __future__ import annotations

from typing import Any
from unittest import mock

import discord
import pytest

from accounts.models import LinkRequest
from botworker.discord.bot import KickbotBot
from botworker.discord.views import LINK_PANEL_CUSTOM_ID, LinkPanelView
from kickbot.errors import KickbotError
from kickbot.models import AuditLog
from tests.botworker.discord.conftest import PUBLIC, all_sends
from tests.fakes.discord import (
    MockContext,
    MockGuild,
    MockInteraction,
    MockMember,
    MockTextChannel,
    no_mentions,
)


def panel_button(view: LinkPanelView) -> Any:
    [button] = [c for c in view.children if getattr(c, "custom_id", None) == LINK_PANEL_CUSTOM_ID]
    return button


def test_link_panel_view_is_persistent() -> None:
    view = LinkPanelView()
    assert view.timeout is None
    assert view.is_persistent()
    assert panel_button(view).custom_id == "kickbot:link:start"


async def test_setup_hook_registers_the_panel_view_and_the_cog() -> None:
    bot = KickbotBot(sync_commands=False)
    await bot.setup_hook()
    # Every panel (link, GTB, slots) is registered once; extensions load their own module copy,
    # so views are compared by their fixed custom_ids, not by class.
    custom_ids = [item.custom_id for v in bot.persistent_views for item in v.children]
    assert custom_ids.count(LinkPanelView().children[0].custom_id) == 1  # type: ignore[attr-defined]
    assert len(custom_ids) == len(set(custom_ids))
    assert all(v.timeout is None for v in bot.persistent_views)
    assert bot.get_cog("Linking") is not None
    for name in ("link", "unlink", "setup_link_panel", "linklogs"):
        assert bot.get_command(name) is not None
        assert bot.tree.get_command(name) is not None
    assert {c.name for c in bot.get_command("linklogs").commands} == {"on", "off", "status"}  # type: ignore[union-attr]


async def test_setup_hook_syncs_slash_commands_when_asked(settings: Any) -> None:
    settings.DISCORD_GUILD_ID = 123
    bot = KickbotBot()
    with mock.patch.object(bot.tree, "sync", new=mock.AsyncMock()) as sync:
        await bot.setup_hook()
    assert sync.await_args_list[0].kwargs["guild"].id == 123
    assert len(sync.await_args_list) == 2


def test_bot_mentions_nobody_by_default() -> None:
    bot = KickbotBot(sync_commands=False)
    assert no_mentions(bot.allowed_mentions)
    assert bot.intents.members and bot.intents.message_content and bot.intents.guilds


@pytest.mark.django_db(transaction=True)
async def test_a_fresh_panel_view_answers_the_custom_id_with_a_private_link(guild: MockGuild) -> None:
    # A new instance, as after a restart: the custom_id alone is enough to route the press.
    view = LinkPanelView()
    interaction = MockInteraction(guild=guild)

    await panel_button(view).callback(interaction)
    second = MockInteraction(guild=guild, user=interaction.user)
    await panel_button(LinkPanelView()).callback(second)

    kwargs = interaction.response.send_message.await_args.kwargs
    assert kwargs["ephemeral"] is True
    assert no_mentions(kwargs["allowed_mentions"])
    url = kwargs["view"].children[0].url
    assert url.startswith(f"{PUBLIC}/link/start/?t=")
    assert url != second.response.send_message.await_args.kwargs["view"].children[0].url
    assert await LinkRequest.objects.filter(discord_user_id=interaction.user.id).acount() == 2


@pytest.mark.django_db(transaction=True)
async def test_panel_button_in_an_unconfigured_guild_answers_privately(community: Any) -> None:
    view = LinkPanelView()
    interaction = MockInteraction(guild=MockGuild(id=42))
    with pytest.raises(KickbotError) as excinfo:
        await panel_button(view).callback(interaction)

    await view.on_error(interaction, excinfo.value, panel_button(view))

    args, kwargs = interaction.response.send_message.await_args
    assert "not connected" in args[0]
    assert kwargs["ephemeral"] is True and no_mentions(kwargs["allowed_mentions"])


@pytest.mark.django_db(transaction=True)
async def test_setup_link_panel_posts_the_persistent_view(guild: MockGuild, community: Any) -> None:
    from botworker.discord.cogs.linking import LinkingCog
    from tests.fakes.discord import MockBot

    cog = LinkingCog(MockBot())
    channel = MockTextChannel(guild=guild)
    ctx = MockContext(
        guild=guild, author=MockMember(guild=guild, guild_permissions=discord.Permissions(manage_guild=True))
    )

    await cog.setup_link_panel.callback(cog, ctx, channel)

    kwargs = channel.send.await_args.kwargs
    assert isinstance(kwargs["view"], LinkPanelView)
    assert await AuditLog.objects.filter(action="link.panel_posted", community=community).aexists()
    for call in all_sends(channel, ctx):
        assert no_mentions(call.kwargs["allowed_mentions"])
