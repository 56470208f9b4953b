"""Buttons. ``LinkPanelView`` is persistent: fixed custom_id, no timeout, registered in setup_hook,
so a panel posted before a restart keeps working after it."""

from __future__ import annotations

from typing import Any

import discord

from accounts.link_flow import LINK_TTL, LinkOffer, link_request_create
from botworker.discord.common import NO_MENTIONS, ReplyingView, community_of
from kickbot.bridge import run_sync

LINK_PANEL_CUSTOM_ID = "kickbot:link:start"
LINK_TEXT = (
    "Press the button to link your Kick account. The link is only for you: it works once and "
    f"expires in {int(LINK_TTL.total_seconds() // 60)} minutes. Don't share it."
)


class LinkButtonView(discord.ui.View):
    """One URL button with a fresh signed link (link buttons need no custom_id and no callback)."""

    def __init__(self, url: str) -> None:
        super().__init__(timeout=None)
        self.add_item(discord.ui.Button(style=discord.ButtonStyle.link, label="Link with Kick", url=url))


async def link_offer_for(*, guild: discord.Guild | None, user: discord.abc.User) -> LinkOffer:
    """A fresh single-use link for this member in this guild's community; their name and avatar go
    with it, for the link page to show whose account it links."""
    community = await community_of(guild)
    return await run_sync(link_request_create)(
        community_id=community.community_id,
        discord_user_id=user.id,
        discord_username=str(user.name),
        discord_display_name=str(user.display_name),
        discord_avatar_url=str(user.display_avatar.url),
    )


class LinkPanelView(ReplyingView):
    """The panel an admin posts with ``setup_link_panel``; the button answers each user privately."""

    failure_label = "link panel button"

    def __init__(self) -> None:
        super().__init__(timeout=None)

    @discord.ui.button(
        label="Link Kick account", style=discord.ButtonStyle.primary, custom_id=LINK_PANEL_CUSTOM_ID
    )
    async def start_link(self, interaction: discord.Interaction, button: discord.ui.Button[Any]) -> None:
        offer = await link_offer_for(guild=interaction.guild, user=interaction.user)
        await interaction.response.send_message(
            LINK_TEXT, view=LinkButtonView(offer.url), ephemeral=True, allowed_mentions=NO_MENTIONS
        )


def link_panel_embed() -> discord.Embed:
    return discord.Embed(
        title="Link your Kick account",
        description=(
            "Linking lets the bot credit your Kick watchtime and tickets to you here.\n"
            "Press the button: you get a private link that works once, for 10 minutes."
        ),
        colour=discord.Colour.green(),
    )
