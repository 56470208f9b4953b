"""Raffle commands on Discord (hybrid: ``!name`` and ``/name``).

Thin: check permission → parse → ``await run_sync(service)(...)`` → reply. Tickets belong to Kick
accounts, so a Discord member is mapped through their link. Viewer text in replies is escaped.
"""

from __future__ import annotations

import logging
from typing import Any

import discord
from discord.ext import commands

from accounts.selectors import link_for_discord_user
from botworker.discord.common import actor_label, community_admin, community_of, reply
from kickbot.bridge import run_sync
from kickbot.errors import KickbotError
from kickbot.text import discord_safe
from raffle import parsing, replies, selectors
from raffle.services.drawing import period_draw_current
from raffle.services.periods import period_set_dates, period_start
from raffle.services.rollover import period_freeze, period_restart
from raffle.services.shuffle import shuffle_claim, shuffle_verify
from raffle.services.tickets import tickets_admin_adjust

log = logging.getLogger(__name__)


async def kick_id_of(user: discord.abc.User, *, me: bool) -> tuple[int, str]:
    """The Kick account linked to a Discord user, or a friendly refusal."""
    link = await run_sync(link_for_discord_user)(discord_user_id=user.id)
    if link is None:
        if me:
            raise KickbotError("Link your Kick account first: use `/link`.")
        raise KickbotError("That member hasn't linked a Kick account.")
    return link.kick_user_id, link.kick_username


class RaffleCog(commands.Cog, name="Raffle"):
    def __init__(self, bot: commands.Bot) -> None:
        self.bot = bot

    # --- everyone ----------------------------------------------------------------------------

    @commands.hybrid_command(name="tickets", description="Your raffle tickets (or a member's)")  # type: ignore[arg-type]
    @commands.guild_only()
    async def tickets(self, ctx: commands.Context[Any], member: discord.Member | None = None) -> None:
        community = await community_of(ctx.guild)
        target = member or ctx.author
        kick_id, kick_name = await kick_id_of(target, me=member is None)
        info = await run_sync(selectors.tickets_of)(community_id=community.community_id, kick_user_id=kick_id)
        if info is None:
            await reply(ctx, "There is no raffle yet.")
            return
        await reply(ctx, replies.tickets_text(info, f"**{discord_safe(kick_name)}**", escape=discord_safe))

    @commands.hybrid_command(name="raffleboard", description="Raffle leaderboard")  # type: ignore[arg-type]
    @commands.guild_only()
    async def raffleboard(self, ctx: commands.Context[Any], places: str | None = None) -> None:
        community = await community_of(ctx.guild)
        limit = parsing.parse_board_size(places)
        rows = await run_sync(selectors.raffle_board)(community_id=community.community_id, limit=limit)
        lines = [f"{r.rank}. **{discord_safe(r.username)}**: {r.total}" for r in rows]
        await reply(ctx, "\n".join(lines) if lines else "Nobody has tickets yet.")

    @commands.hybrid_command(name="raffleinfo", description="Raffle dates, rates and commitment")  # type: ignore[arg-type]
    @commands.guild_only()
    async def raffleinfo(self, ctx: commands.Context[Any]) -> None:
        community = await community_of(ctx.guild)
        stats = await run_sync(selectors.raffle_stats)(community_id=community.community_id)
        if stats is None:
            await reply(ctx, "There is no raffle yet.")
            return
        text = replies.info_text(stats.period, stats.total)
        if stats.period.draw_wait_reason:
            text += f"\nDraw waiting: {stats.period.draw_wait_reason}"
        await reply(ctx, text)

    @commands.hybrid_command(name="rafflestats", description="Raffle totals, or a member's tickets")  # type: ignore[arg-type]
    @commands.guild_only()
    async def rafflestats(self, ctx: commands.Context[Any], member: discord.Member | None = None) -> None:
        if member is not None:
            await self.tickets.callback(self, ctx, member)  # type: ignore[arg-type]
            return
        community = await community_of(ctx.guild)
        stats = await run_sync(selectors.raffle_stats)(community_id=community.community_id)
        await reply(ctx, replies.stats_text(stats) if stats else "There is no raffle yet.")

    @commands.hybrid_command(name="linkshuffle", description="Claim your Shuffle username")  # type: ignore[arg-type]
    @commands.guild_only()
    async def linkshuffle(self, ctx: commands.Context[Any], username: str) -> None:
        community = await community_of(ctx.guild)
        kick_id, _ = await kick_id_of(ctx.author, me=True)
        account = await run_sync(shuffle_claim)(
            community_id=community.community_id, kick_user_id=kick_id, username=username
        )
        state = "verified" if account.verified else "claimed; a moderator will verify it"
        await reply(ctx, f"Shuffle name **{discord_safe(account.username)}** {state}.")

    # --- admins ------------------------------------------------------------------------------

    @commands.hybrid_command(name="verifyshuffle", description="Verify a member's Shuffle username (admins)")  # type: ignore[arg-type]
    @commands.guild_only()
    @community_admin()
    async def verifyshuffle(self, ctx: commands.Context[Any], member: discord.Member, username: str) -> None:
        community = await community_of(ctx.guild)
        kick_id, kick_name = await kick_id_of(member, me=False)
        account = await run_sync(shuffle_verify)(
            community_id=community.community_id,
            kick_user_id=kick_id,
            username=username,
            actor_label=actor_label(ctx.author),
        )
        await reply(
            ctx,
            f"Verified Shuffle name **{discord_safe(account.username)}** for **{discord_safe(kick_name)}**. "
            "Only wagers from now on earn tickets.",
        )

    async def _adjust(
        self, ctx: commands.Context[Any], member: discord.Member, amount: str, reason: str, *, remove: bool
    ) -> None:
        community = await community_of(ctx.guild)
        kick_id, kick_name = await kick_id_of(member, me=False)
        count = parsing.parse_ticket_amount(amount)
        request = ctx.interaction.id if ctx.interaction is not None else ctx.message.id
        balance = await run_sync(tickets_admin_adjust)(
            community_id=community.community_id,
            kick_user_id=kick_id,
            amount=count,
            remove=remove,
            reason=reason,
            actor_label=actor_label(ctx.author),
            request_key=f"discord:{request}",
        )
        verb = "Removed" if remove else "Gave"
        await reply(ctx, f"{verb} tickets: **{discord_safe(kick_name)}** now has {balance}.")

    @commands.hybrid_command(name="rafflegive", description="Give raffle tickets (admins)")  # type: ignore[arg-type]
    @commands.guild_only()
    @community_admin()
    async def rafflegive(
        self, ctx: commands.Context[Any], member: discord.Member, amount: str, *, reason: str = ""
    ) -> None:
        await self._adjust(ctx, member, amount, reason, remove=False)

    @commands.hybrid_command(name="raffleremove", description="Remove raffle tickets (admins)")  # type: ignore[arg-type]
    @commands.guild_only()
    @community_admin()
    async def raffleremove(
        self, ctx: commands.Context[Any], member: discord.Member, amount: str, *, reason: str = ""
    ) -> None:
        await self._adjust(ctx, member, amount, reason, remove=True)

    @commands.hybrid_command(
        name="rafflestart", description="Open a raffle: [start] [end] as YYYY-MM-DD (admins)"
    )  # type: ignore[arg-type]
    @commands.guild_only()
    @community_admin()
    async def rafflestart(
        self, ctx: commands.Context[Any], start: str | None = None, end: str | None = None
    ) -> None:
        community = await community_of(ctx.guild)
        first, last = parsing.parse_optional_date(start), parsing.parse_optional_date(end)
        period = await run_sync(period_start)(
            community_id=community.community_id, start=first, end=last, actor_label=actor_label(ctx.author)
        )
        await reply(
            ctx,
            f"Raffle #{period.pk} is open. Commitment `{period.server_seed_hash}`, "
            f"drand round {period.drand_round}. {selectors.period_url(period.pk)}",
        )

    @commands.hybrid_command(name="raffleend", description="End the open raffle now (admins)")  # type: ignore[arg-type]
    @commands.guild_only()
    @community_admin()
    async def raffleend(self, ctx: commands.Context[Any]) -> None:
        community = await community_of(ctx.guild)
        period = await run_sync(period_freeze)(
            community_id=community.community_id, actor_label=actor_label(ctx.author)
        )
        await reply(ctx, replies.closed_text(period))

    @commands.hybrid_command(name="rafflerestart", description="End the raffle and open a fresh one (admins)")  # type: ignore[arg-type]
    @commands.guild_only()
    @community_admin()
    async def rafflerestart(self, ctx: commands.Context[Any]) -> None:
        community = await community_of(ctx.guild)
        period = await run_sync(period_restart)(
            community_id=community.community_id, actor_label=actor_label(ctx.author)
        )
        await reply(
            ctx, f"The old raffle is closed; raffle #{period.pk} is open. {selectors.period_url(period.pk)}"
        )

    @commands.hybrid_command(name="rafflesetdate", description="Change the open raffle's dates (admins)")  # type: ignore[arg-type]
    @commands.guild_only()
    @community_admin()
    async def rafflesetdate(self, ctx: commands.Context[Any], start: str, end: str) -> None:
        community = await community_of(ctx.guild)
        first, last = parsing.parse_optional_date(start), parsing.parse_optional_date(end)
        period = await run_sync(period_set_dates)(
            community_id=community.community_id, start=first, end=last, actor_label=actor_label(ctx.author)
        )
        await reply(
            ctx, f"Raffle #{period.pk} dates changed; the draw now uses drand round {period.drand_round}."
        )

    @commands.hybrid_command(
        name="raffledraw", description="Draw: [reroll ineligible|unreachable|declined | fallback] (admins)"
    )  # type: ignore[arg-type]
    @commands.guild_only()
    @community_admin()
    async def raffledraw(self, ctx: commands.Context[Any], *, action: str = "") -> None:
        community = await community_of(ctx.guild)
        what = parsing.parse_draw_action(action)
        result = await run_sync(period_draw_current)(
            community_id=community.community_id,
            action=what.kind,
            reason=what.reason,
            actor_label=actor_label(ctx.author),
        )
        url = selectors.period_url(result.period_id)
        if not result.winners:
            await reply(ctx, f"Raffle #{result.period_id} had no tickets: no winner. {url}")
            return
        names = ", ".join(
            f"k={w.k} **{discord_safe(w.username or str(w.kick_user_id))}**"
            + (" (void)" if w.void_reason else "")
            for w in result.winners
        )
        prefix = "Already drawn" if result.already else "Drawn"
        await reply(ctx, f"{prefix}: {names}. Proof: {url}")


async def setup(bot: commands.Bot) -> None:
    await bot.add_cog(RaffleCog(bot))
