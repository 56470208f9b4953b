"""Linking commands: ``link``, ``unlink``, ``setup_link_panel`` and ``linklogs on|off|status``.

Thin: check permission → parse → ``await run_sync(service)(...)`` → reply. No ORM here.
"""

from __future__ import annotations

import logging
from typing import Any

import discord
from discord.ext import commands

from accounts.selectors import link_log_settings
from accounts.services import link_log_set, link_panel_posted, link_remove
from botworker.discord.common import NO_MENTIONS, community_admin, community_of, reply
from botworker.discord.views import LINK_TEXT, LinkButtonView, LinkPanelView, link_offer_for, link_panel_embed
from kickbot.bridge import run_sync
from kickbot.errors import InvalidInput
from kickbot.text import discord_safe

log = logging.getLogger(__name__)

LINKLOGS_USAGE = "Use `linklogs on #channel`, `linklogs off` or `linklogs status`."


def _same_guild(channel: discord.abc.GuildChannel, guild: discord.Guild | None) -> None:
    # Converters look in this guild first; this makes "never another server's channel" explicit.
    if guild is None or channel.guild.id != guild.id:
        raise InvalidInput("Pick a channel of this server.")


class LinkingCog(commands.Cog, name="Linking"):
    def __init__(self, bot: commands.Bot) -> None:
        self.bot = bot

    @commands.hybrid_command(  # type: ignore[arg-type]  # discord.py#9788
        name="link", description="Link your Kick account (private link, 10 minutes)"
    )
    @commands.guild_only()
    async def link(self, ctx: commands.Context[Any]) -> None:
        offer = await link_offer_for(guild=ctx.guild, user=ctx.author)
        view = LinkButtonView(offer.url)
        if ctx.interaction is not None:
            await ctx.send(LINK_TEXT, view=view, ephemeral=True, allowed_mentions=NO_MENTIONS)
            return
        # A prefix command is public: the link goes by DM only, never to the channel (docs/lessons.md #8).
        try:
            await ctx.author.send(LINK_TEXT, view=view, allowed_mentions=NO_MENTIONS)
        except discord.HTTPException:
            await ctx.reply(
                "I can't DM you. Use `/link` (only you see the answer) or the Link panel button.",
                allowed_mentions=NO_MENTIONS,
            )
            return
        await ctx.reply("I sent you a DM with your private link.", allowed_mentions=NO_MENTIONS)

    @commands.hybrid_command(  # type: ignore[arg-type]  # discord.py#9788
        name="unlink", description="Unlink your Kick account"
    )
    @commands.guild_only()
    async def unlink(self, ctx: commands.Context[Any]) -> None:
        community = await community_of(ctx.guild)
        name = await run_sync(link_remove)(community_id=community.community_id, discord_user_id=ctx.author.id)
        if name is None:
            await reply(ctx, "Your Discord account is not linked to a Kick account.")
        else:
            await reply(ctx, f"Unlinked the Kick account **{discord_safe(name)}**.")

    @commands.hybrid_command(name="setup_link_panel", description="Post the Link Kick account panel (admins)")
    @commands.guild_only()
    @community_admin()
    async def setup_link_panel(
        self, ctx: commands.Context[Any], channel: discord.TextChannel | None = None
    ) -> None:
        community = await community_of(ctx.guild)
        target = channel or ctx.channel
        if not isinstance(target, discord.TextChannel):
            raise InvalidInput("Run this in a text channel or name one: `setup_link_panel #channel`.")
        _same_guild(target, ctx.guild)
        await target.send(embed=link_panel_embed(), view=LinkPanelView(), allowed_mentions=NO_MENTIONS)
        await run_sync(link_panel_posted)(
            community_id=community.community_id, channel_id=target.id, actor_discord_id=ctx.author.id
        )
        await reply(ctx, f"Link panel posted in {target.mention}.")

    @commands.hybrid_group(name="linklogs", description="Link logs (admins)", invoke_without_command=True)
    @commands.guild_only()
    @community_admin()
    async def linklogs(self, ctx: commands.Context[Any]) -> None:
        # Prefix only: `!linklogs` alone or with an unknown word.
        await reply(ctx, LINKLOGS_USAGE)

    @linklogs.command(name="on", description="Post link events in a channel")
    @commands.guild_only()
    @community_admin()
    async def linklogs_on(
        self, ctx: commands.Context[Any], channel: discord.TextChannel | None = None
    ) -> None:
        community = await community_of(ctx.guild)
        if channel is not None:
            _same_guild(channel, ctx.guild)
        settings = await run_sync(link_log_set)(
            community_id=community.community_id,
            enabled=True,
            channel_id=channel.id if channel else None,
            actor_discord_id=ctx.author.id,
        )
        await reply(ctx, f"Link logs are on in <#{settings.channel_id}>.")

    @linklogs.command(name="off", description="Stop posting link events")
    @commands.guild_only()
    @community_admin()
    async def linklogs_off(self, ctx: commands.Context[Any]) -> None:
        community = await community_of(ctx.guild)
        await run_sync(link_log_set)(
            community_id=community.community_id,
            enabled=False,
            channel_id=None,
            actor_discord_id=ctx.author.id,
        )
        await reply(ctx, "Link logs are off.")

    @linklogs.command(name="status", description="Show where link events go")
    @commands.guild_only()
    @community_admin()
    async def linklogs_status(self, ctx: commands.Context[Any]) -> None:
        community = await community_of(ctx.guild)
        settings = await run_sync(link_log_settings)(community_id=community.community_id)
        if settings.enabled:
            await reply(ctx, f"Link logs are on in <#{settings.channel_id}>.")
        else:
            await reply(ctx, "Link logs are off. " + LINKLOGS_USAGE)


async def setup(bot: commands.Bot) -> None:
    await bot.add_cog(LinkingCog(bot))
