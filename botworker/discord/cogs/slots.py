"""Slot requests on Discord: ``callblacklist``, ``slotsettings``, ``slotpanel`` and the panel's buttons.

Thin: check permission → parse → ``await run_sync(service)(...)`` → reply. No ORM, no rules here.
The panel is a persistent view (fixed custom_ids, registered in ``KickbotBot.setup_hook``); its
message is kept up to date by the services through the outbox (``discord_edit``), not by the view.
"""

from __future__ import annotations

from typing import Any

import discord
from discord.ext import commands

from botworker.discord.common import (
    NO_MENTIONS,
    ReplyingView,
    actor_label,
    community_admin,
    community_of,
    member_is_admin,
    reply,
    reply_private,
)
from kickbot.bridge import run_sync
from kickbot.errors import InvalidInput, NotAllowed
from slots.embeds import panel_embed, safe
from slots.panel import (
    slot_panel_posted,
    slot_pick_random,
    slot_queue_clear,
    slot_request_finish,
    slot_requests_set_open,
)
from slots.selectors import slot_blacklist_entries, slot_queue_view, slot_settings_view
from slots.services import slot_blacklist_add, slot_blacklist_remove, slot_settings_update

CUSTOM_IDS = {
    "open": "kickbot:slots:open",
    "close": "kickbot:slots:close",
    "pick": "kickbot:slots:pick",
    "played": "kickbot:slots:played",
    "skipped": "kickbot:slots:skipped",
    "clear": "kickbot:slots:clear",
}
BLACKLIST_USAGE = (
    "Use `callblacklist add <kick user> [reason]`, `callblacklist remove <kick user>` "
    "or `callblacklist list`."
)
ADMIN_ONLY = "Only server admins can do that."


async def _admin_community_id(interaction: discord.Interaction) -> int:
    """The community of the button's guild, if the presser is its admin; else a refusal."""
    context = await community_of(interaction.guild)
    if not member_is_admin(interaction.user, context):
        raise NotAllowed(ADMIN_ONLY)
    return context.community_id


async def _finish(interaction: discord.Interaction, status: str) -> None:
    """Played / Skipped: the current pick (or the oldest request) is done."""
    community_id = await _admin_community_id(interaction)
    await run_sync(slot_request_finish)(
        community_id=community_id, status=status, actor_label=actor_label(interaction.user)
    )
    await reply_private(interaction, f"Marked as {status}.")


class ClearConfirmView(discord.ui.View):
    """The confirm step of "Clear queue": private to the admin who pressed it, gone after a minute."""

    def __init__(self, *, community_id: int, admin_id: int) -> None:
        super().__init__(timeout=60)
        self.community_id = community_id
        self.admin_id = admin_id

    async def interaction_check(self, interaction: discord.Interaction) -> bool:
        return interaction.user.id == self.admin_id

    @discord.ui.button(label="Yes, clear the queue", style=discord.ButtonStyle.danger)
    async def confirm(self, interaction: discord.Interaction, button: discord.ui.Button[Any]) -> None:
        count = await run_sync(slot_queue_clear)(
            community_id=self.community_id, actor_label=actor_label(interaction.user)
        )
        self.stop()
        await interaction.response.edit_message(
            content=f"Cleared {count} request{'s' if count != 1 else ''}.", view=None
        )

    @discord.ui.button(label="Cancel", style=discord.ButtonStyle.secondary)
    async def cancel(self, interaction: discord.Interaction, button: discord.ui.Button[Any]) -> None:
        self.stop()
        await interaction.response.edit_message(content="Nothing was cleared.", view=None)


class SlotPanelView(ReplyingView):
    """The slot request panel. Every button checks for an admin first; a refusal changes nothing."""

    failure_label = "slot panel button"

    def __init__(self) -> None:
        super().__init__(timeout=None)

    @discord.ui.button(label="Open requests", style=discord.ButtonStyle.success, custom_id=CUSTOM_IDS["open"])
    async def open_requests(self, interaction: discord.Interaction, button: discord.ui.Button[Any]) -> None:
        community_id = await _admin_community_id(interaction)
        await run_sync(slot_requests_set_open)(
            community_id=community_id, requests_open=True, actor_label=actor_label(interaction.user)
        )
        await reply_private(interaction, "Slot requests are open.")

    @discord.ui.button(
        label="Close requests", style=discord.ButtonStyle.secondary, custom_id=CUSTOM_IDS["close"]
    )
    async def close_requests(self, interaction: discord.Interaction, button: discord.ui.Button[Any]) -> None:
        community_id = await _admin_community_id(interaction)
        await run_sync(slot_requests_set_open)(
            community_id=community_id, requests_open=False, actor_label=actor_label(interaction.user)
        )
        await reply_private(interaction, "Slot requests are closed.")

    @discord.ui.button(label="Pick random", style=discord.ButtonStyle.primary, custom_id=CUSTOM_IDS["pick"])
    async def pick(self, interaction: discord.Interaction, button: discord.ui.Button[Any]) -> None:
        community_id = await _admin_community_id(interaction)
        result = await run_sync(slot_pick_random)(
            community_id=community_id, actor_label=actor_label(interaction.user)
        )
        what = result.slot.name if result.slot else result.text
        await reply_private(
            interaction,
            f"Pick #{result.number}: {safe(what)} from {safe(result.username, 64)} "
            f"(ticket {result.ticket} of {result.total}).",
        )

    @discord.ui.button(
        label="Played", style=discord.ButtonStyle.success, custom_id=CUSTOM_IDS["played"], row=1
    )
    async def played(self, interaction: discord.Interaction, button: discord.ui.Button[Any]) -> None:
        await _finish(interaction, "played")

    @discord.ui.button(
        label="Skipped", style=discord.ButtonStyle.secondary, custom_id=CUSTOM_IDS["skipped"], row=1
    )
    async def skipped(self, interaction: discord.Interaction, button: discord.ui.Button[Any]) -> None:
        await _finish(interaction, "skipped")

    @discord.ui.button(
        label="Clear queue", style=discord.ButtonStyle.danger, custom_id=CUSTOM_IDS["clear"], row=1
    )
    async def clear(self, interaction: discord.Interaction, button: discord.ui.Button[Any]) -> None:
        community_id = await _admin_community_id(interaction)
        await interaction.response.send_message(
            "Clear every open request? This can't be undone.",
            view=ClearConfirmView(community_id=community_id, admin_id=interaction.user.id),
            ephemeral=True,
            allowed_mentions=NO_MENTIONS,
        )


class SlotsCog(commands.Cog, name="Slots"):
    def __init__(self, bot: commands.Bot) -> None:
        self.bot = bot

    async def cog_load(self) -> None:
        # Persistent: a panel posted before a restart keeps working (custom_ids are fixed).
        self.bot.add_view(SlotPanelView())

    @commands.hybrid_command(name="slotpanel", description="Post the slot request panel (admins)")
    @commands.guild_only()
    @community_admin()
    async def slotpanel(self, ctx: commands.Context[Any]) -> None:
        community = await community_of(ctx.guild)
        channel = ctx.channel
        if not isinstance(channel, discord.TextChannel):
            raise InvalidInput("Run this in a text channel.")
        queue = await run_sync(slot_queue_view)(community_id=community.community_id)
        message = await channel.send(
            embed=discord.Embed.from_dict(panel_embed(queue)),
            view=SlotPanelView(),
            allowed_mentions=NO_MENTIONS,
        )
        await run_sync(slot_panel_posted)(
            community_id=community.community_id,
            channel_id=channel.id,
            message_id=message.id,
            actor_label=actor_label(ctx.author),
        )
        await reply(ctx, "Slot panel posted. It updates as the queue changes.")

    @commands.hybrid_command(name="slotsettings", description="Show or change slot request rules (admins)")
    @commands.guild_only()
    @community_admin()
    async def slotsettings(
        self,
        ctx: commands.Context[Any],
        channel: discord.TextChannel | None = None,
        cooldown: int | None = None,
        limit: int | None = None,
        max_length: int | None = None,
    ) -> None:
        community = await community_of(ctx.guild)
        changes: dict[str, Any] = {}
        if channel is not None:
            if ctx.guild is None or channel.guild.id != ctx.guild.id:
                raise InvalidInput("Pick a channel of this server.")
            changes["channel_id"] = channel.id
        for name, value in (
            ("cooldown_s", cooldown),
            ("max_open_per_user", limit),
            ("max_length", max_length),
        ):
            if value is not None:
                changes[name] = value
        if changes:
            await run_sync(slot_settings_update)(
                community_id=community.community_id, actor_label=actor_label(ctx.author), **changes
            )
        s = await run_sync(slot_settings_view)(community_id=community.community_id)
        where = f"<#{s.channel_id}>" if s.channel_id else "no channel (use `slotsettings #channel`)"
        await reply(
            ctx,
            f"Requests are {'open' if s.requests_open else 'closed'} and go to {where}. "
            f"Cooldown {s.cooldown_s} s, {s.max_open_per_user} open per viewer, "
            f"at most {s.max_length} characters.",
        )

    @commands.hybrid_group(
        name="callblacklist", description="Slot request blacklist (admins)", invoke_without_command=True
    )
    @commands.guild_only()
    @community_admin()
    async def callblacklist(self, ctx: commands.Context[Any]) -> None:
        await reply(ctx, BLACKLIST_USAGE)

    @callblacklist.command(name="add", description="Stop a Kick viewer from requesting slots")
    @commands.guild_only()
    @community_admin()
    async def callblacklist_add(
        self, ctx: commands.Context[Any], kick_user: str, *, reason: str = ""
    ) -> None:
        community = await community_of(ctx.guild)
        added = await run_sync(slot_blacklist_add)(
            community_id=community.community_id,
            username=kick_user,
            reason=reason,
            actor_label=actor_label(ctx.author),
        )
        name = safe(kick_user.strip().lstrip("@"), 64)
        await reply(
            ctx,
            f"**{name}** can no longer request slots." if added else f"**{name}** was already blacklisted.",
        )

    @callblacklist.command(name="remove", description="Let a Kick viewer request slots again")
    @commands.guild_only()
    @community_admin()
    async def callblacklist_remove(self, ctx: commands.Context[Any], kick_user: str) -> None:
        community = await community_of(ctx.guild)
        removed = await run_sync(slot_blacklist_remove)(
            community_id=community.community_id, username=kick_user, actor_label=actor_label(ctx.author)
        )
        name = safe(kick_user.strip().lstrip("@"), 64)
        await reply(
            ctx, f"**{name}** may request slots again." if removed else f"**{name}** was not blacklisted."
        )

    @callblacklist.command(name="list", description="Who may not request slots")
    @commands.guild_only()
    @community_admin()
    async def callblacklist_list(self, ctx: commands.Context[Any]) -> None:
        community = await community_of(ctx.guild)
        entries = await run_sync(slot_blacklist_entries)(community_id=community.community_id)
        if not entries:
            await reply(ctx, "Nobody is blacklisted from slot requests.")
            return
        lines = [
            f"**{safe(e.username, 64)}**" + (f": {safe(e.reason)}" if e.reason else "") for e in entries[:50]
        ]
        more = f"\n…and {len(entries) - 50} more (see the dashboard)." if len(entries) > 50 else ""
        await reply(ctx, ("Blacklisted from slot requests:\n" + "\n".join(lines))[:1900] + more)


async def setup(bot: commands.Bot) -> None:
    await bot.add_cog(SlotsCog(bot))
