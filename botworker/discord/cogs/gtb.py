"""Guess the Balance on Discord: ``gtbpanel`` (admins), ``gtbstats``, and the persistent panel.

The panel's buttons have fixed custom_ids and the view has no timeout, so a panel posted before a
restart keeps working (the view is registered in ``KickbotBot.setup_hook``). Every button checks
that the presser is an admin of the guild's community before anything else: a refusal is private
and changes nothing. Panel updates after a change go through the outbox (``gtb.services``).
Thin: check → parse → ``await run_sync(service)(...)`` → private reply. No ORM here.
"""

from __future__ import annotations

from typing import Any

import discord
from discord.ext import commands

from accounts.selectors import GuildContext
from botworker.discord.common import (
    NO_MENTIONS,
    ReplyingModal,
    ReplyingView,
    actor_label,
    community_admin,
    community_of,
    member_is_admin,
    reply,
    reply_private,
)
from gtb.embeds import panel_embed, safe, stats_embed
from gtb.selectors import SessionView, gtb_session_current, gtb_stats
from gtb.services import (
    MSG_NOTHING_RUNNING,
    TITLE_MAX,
    gtb_panel_posted,
    gtb_session_cancel,
    gtb_session_close,
    gtb_session_resolve,
    gtb_session_start,
)
from kickbot.bridge import run_sync
from kickbot.errors import InvalidInput
from kickbot.money import MAX_INPUT_CHARS, format_cents, parse_amount

START_ID = "kickbot:gtb:start"
CLOSE_ID = "kickbot:gtb:close"
FINAL_ID = "kickbot:gtb:final"
CANCEL_ID = "kickbot:gtb:cancel"
NOT_ADMIN = "Only server admins can run Guess the Balance."


async def admin_context(interaction: discord.Interaction) -> GuildContext | None:
    """The guild's community when the presser is one of its admins; otherwise a private refusal."""
    context = await community_of(interaction.guild)
    if not member_is_admin(interaction.user, context):
        await reply_private(interaction, NOT_ADMIN)
        return None
    return context


async def running_round(interaction: discord.Interaction) -> SessionView | None:
    """The round a panel button acts on, for an admin (None: refused privately); none running: a refusal."""
    context = await admin_context(interaction)
    if context is None:
        return None
    current = await run_sync(gtb_session_current)(community_id=context.community_id)
    if current is None or not current.running:
        raise InvalidInput(MSG_NOTHING_RUNNING)
    return current


class GtbStartModal(ReplyingModal, title="Start Guess the Balance"):
    failure_label = "gtb start modal"

    title_input: discord.ui.TextInput[Any] = discord.ui.TextInput(
        label="Title", placeholder="Bonus hunt #12", required=False, max_length=TITLE_MAX
    )
    prize_input: discord.ui.TextInput[Any] = discord.ui.TextInput(
        label="Prize (optional)", placeholder="$50 or 50", required=False, max_length=MAX_INPUT_CHARS
    )

    def __init__(self) -> None:
        super().__init__(timeout=600, custom_id="kickbot:gtb:start-modal")

    async def on_submit(self, interaction: discord.Interaction) -> None:
        context = await admin_context(interaction)
        if context is None:
            return
        prize_text = self.prize_input.value.strip()
        try:
            prize_cents = parse_amount(prize_text) if prize_text else 0
        except InvalidInput as exc:
            raise InvalidInput(f"Prize: {exc.message}") from exc
        view = await run_sync(gtb_session_start)(
            community_id=context.community_id,
            title=self.title_input.value,
            prize_cents=prize_cents,
            actor_label=actor_label(interaction.user),
        )
        prize = f" Prize: {format_cents(view.prize_cents)}." if view.prize_cents else ""
        await reply_private(
            interaction, f"Started **{safe(view.title)}**.{prize} Guesses are open in Kick chat."
        )


class GtbFinalModal(ReplyingModal, title="Final balance"):
    failure_label = "gtb final balance modal"

    balance_input: discord.ui.TextInput[Any] = discord.ui.TextInput(
        label="Final balance", placeholder="1,234.56 or 1.2k", required=True, max_length=MAX_INPUT_CHARS
    )

    def __init__(self, session_id: int) -> None:
        super().__init__(timeout=600, custom_id="kickbot:gtb:final-modal")
        # The round the button was pressed for: a late submit never resolves a newer round.
        self.session_id = session_id

    async def on_submit(self, interaction: discord.Interaction) -> None:
        context = await admin_context(interaction)
        if context is None:
            return
        final_cents = parse_amount(self.balance_input.value)  # the same rules as a viewer's guess
        view = await run_sync(gtb_session_resolve)(
            community_id=context.community_id,
            final_balance_cents=final_cents,
            actor_label=actor_label(interaction.user),
            session_id=self.session_id,
        )
        if view.winner_username is None:
            outcome = "No guesses, no winner."
        else:
            amount = format_cents(view.winner_amount_cents or 0)
            outcome = f"Winner: **{safe(view.winner_username)}** with {amount}."
        await reply_private(interaction, f"Final balance {format_cents(final_cents)}. {outcome}")


class GtbCancelConfirmView(ReplyingView):
    """A private "are you sure" for Cancel: a cancelled round can't be resumed."""

    failure_label = "gtb cancel confirm"

    def __init__(self) -> None:
        super().__init__(timeout=60)

    @discord.ui.button(label="Yes, cancel the round", style=discord.ButtonStyle.danger)
    async def confirm(self, interaction: discord.Interaction, button: discord.ui.Button[Any]) -> None:
        context = await admin_context(interaction)
        if context is None:
            return
        view = await run_sync(gtb_session_cancel)(
            community_id=context.community_id, actor_label=actor_label(interaction.user)
        )
        self.stop()
        await interaction.response.edit_message(
            content=f"Cancelled **{safe(view.title)}**.", view=None, allowed_mentions=NO_MENTIONS
        )


class GtbPanelView(ReplyingView):
    """The panel an admin posts with ``gtbpanel``. Persistent: fixed custom_ids, no timeout."""

    failure_label = "gtb panel button"

    def __init__(self) -> None:
        super().__init__(timeout=None)

    @discord.ui.button(label="Start", style=discord.ButtonStyle.success, custom_id=START_ID)
    async def start(self, interaction: discord.Interaction, button: discord.ui.Button[Any]) -> None:
        if await admin_context(interaction) is None:
            return
        await interaction.response.send_modal(GtbStartModal())

    @discord.ui.button(label="Close guessing", style=discord.ButtonStyle.primary, custom_id=CLOSE_ID)
    async def close(self, interaction: discord.Interaction, button: discord.ui.Button[Any]) -> None:
        context = await admin_context(interaction)
        if context is None:
            return
        view = await run_sync(gtb_session_close)(
            community_id=context.community_id, actor_label=actor_label(interaction.user)
        )
        await reply_private(
            interaction, f"Guessing closed with {view.guess_count} guesses. Enter the final balance next."
        )

    @discord.ui.button(label="Enter final balance", style=discord.ButtonStyle.secondary, custom_id=FINAL_ID)
    async def final(self, interaction: discord.Interaction, button: discord.ui.Button[Any]) -> None:
        current = await running_round(interaction)
        if current is None:
            return
        await interaction.response.send_modal(GtbFinalModal(current.id))

    @discord.ui.button(label="Cancel", style=discord.ButtonStyle.danger, custom_id=CANCEL_ID)
    async def cancel(self, interaction: discord.Interaction, button: discord.ui.Button[Any]) -> None:
        current = await running_round(interaction)
        if current is None:
            return
        await interaction.response.send_message(
            f"Cancel **{safe(current.title)}** ({current.guess_count} guesses)? This can't be undone.",
            view=GtbCancelConfirmView(),
            ephemeral=True,
            allowed_mentions=NO_MENTIONS,
        )


class GtbCog(commands.Cog, name="Guess the Balance"):
    def __init__(self, bot: commands.Bot) -> None:
        self.bot = bot

    async def cog_load(self) -> None:
        # Persistent view: buttons on panels posted before a restart keep working.
        self.bot.add_view(GtbPanelView())

    @commands.hybrid_command(name="gtbpanel", description="Post the Guess the Balance panel (admins)")
    @commands.guild_only()
    @community_admin()
    async def gtbpanel(self, ctx: commands.Context[Any], channel: discord.TextChannel | None = None) -> None:
        community = await community_of(ctx.guild)
        target = channel or ctx.channel
        if not isinstance(target, discord.TextChannel):
            raise InvalidInput("Run this in a text channel or name one: `gtbpanel #channel`.")
        if ctx.guild is None or target.guild.id != ctx.guild.id:
            raise InvalidInput("Pick a channel of this server.")
        current = await run_sync(gtb_session_current)(community_id=community.community_id)
        message = await target.send(
            embed=panel_embed(current), view=GtbPanelView(), allowed_mentions=NO_MENTIONS
        )
        await run_sync(gtb_panel_posted)(
            community_id=community.community_id,
            channel_id=target.id,
            message_id=message.id,
            actor_label=actor_label(ctx.author),
        )
        await reply(ctx, f"Guess the Balance panel posted in {target.mention}. Results go there too.")

    @commands.hybrid_command(  # type: ignore[arg-type]  # discord.py#9788
        name="gtbstats", description="Guess the Balance stats"
    )
    @commands.guild_only()
    @commands.cooldown(1, 10, commands.BucketType.user)
    async def gtbstats(self, ctx: commands.Context[Any]) -> None:
        community = await community_of(ctx.guild)
        stats = await run_sync(gtb_stats)(community_id=community.community_id)
        await ctx.send(embed=stats_embed(stats), ephemeral=True, allowed_mentions=NO_MENTIONS)


async def setup(bot: commands.Bot) -> None:
    await bot.add_cog(GtbCog(bot))
