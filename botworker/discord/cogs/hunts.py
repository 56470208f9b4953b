"""The bonus hunt on Discord: ``/hunt start|add|remove|open|result|finish`` (admins) and ``stats``.

Thin: check → parse → ``await run_sync(service)(...)`` → private reply, never pinging. Money is
parsed by ``kickbot.money`` (the rules and refusals of ``!gtb``); a refusal is an ``InvalidInput``
that the bot's error handler shows as it is. Slot and hunt names are moderators' text: they reach
Discord through ``discord_safe``. The slot autocomplete reads the ``slots`` catalogue; the hunt
stores the name typed.
"""

from __future__ import annotations

from typing import Any

import discord
from discord import app_commands
from discord.ext import commands

from botworker.discord.common import actor_label, community_admin, community_of, reply
from hunts.figures import break_even_text, format_money, format_x
from hunts.parsing import MSG_NUMBER, bonus_number, money_field
from hunts.selectors import HuntView, hunt_current
from hunts.services import (
    hunt_bonus_add,
    hunt_bonus_remove,
    hunt_bonus_result,
    hunt_finish,
    hunt_opening_begin,
    hunt_start,
)
from kickbot.bridge import run_sync
from kickbot.errors import InvalidInput
from kickbot.text import discord_safe
from slots.selectors import slot_search

USAGE = (
    "`/hunt start <start balance> [currency] [title]`, `/hunt add <slot> <bet> [cost]`, "
    "`/hunt remove <number>`, `/hunt open`, `/hunt result <win> [number]`, `/hunt finish`, `/hunt stats`"
)


def stats_text(view: HuntView | None) -> str:
    if view is None:
        return "No bonus hunt yet."
    f = view.figures

    def money(cents: int) -> str:
        return format_money(cents, view.currency)

    lines = [
        f"**{discord_safe(view.title)}** ({view.status}): {f.opened_count}/{f.bonus_count} opened",
        f"Cost {money(f.total_cost_cents)} · won {money(f.total_won_cents)} · profit {money(f.profit_cents)}",
        f"Average {format_x(f.average_multiplier)} · best {format_x(f.best_multiplier)}"
        + (f" ({discord_safe(f.best.slot_name)})" if f.best else ""),
    ]
    if view.running:
        lines.append(f"Break-even: {break_even_text(f)}")
        following = view.next_unopened
        if following is not None:
            name = discord_safe(following.slot_name)
            lines.append(f"Next: #{following.position} {name}, bet {money(following.bet_cents)}")
    return "\n".join(lines)


async def slot_autocomplete(interaction: discord.Interaction, current: str) -> list[app_commands.Choice[str]]:
    """Catalogue names for the slot being typed; what the admin typed stays a choice too."""
    typed = current.strip()[:100]
    found = await run_sync(slot_search)(text=typed, limit=10) if typed else []
    names = [typed] if typed else []
    names += [s.name[:100] for s in found if s.name != typed]
    return [app_commands.Choice(name=n, value=n) for n in names[:25]]


class HuntsCog(commands.Cog, name="Bonus hunt"):
    def __init__(self, bot: commands.Bot) -> None:
        self.bot = bot

    @commands.hybrid_group(name="hunt", description="Bonus hunt", invoke_without_command=True)  # type: ignore[arg-type]  # discord.py#9788
    @commands.guild_only()
    async def hunt(self, ctx: commands.Context[Any]) -> None:
        await reply(ctx, USAGE)

    @hunt.command(name="start", description="Start collecting bonuses (admins)")
    @commands.guild_only()
    @community_admin()
    async def start(
        self, ctx: commands.Context[Any], start_balance: str, currency: str = "USD", *, title: str = ""
    ) -> None:
        community = await community_of(ctx.guild)
        view = await run_sync(hunt_start)(
            community_id=community.community_id,
            title=title,
            start_balance_cents=money_field(start_balance, "Start balance"),
            currency=currency,
            actor_label=actor_label(ctx.author),
        )
        await reply(
            ctx,
            f"Started **{discord_safe(view.title)}** with "
            f"{format_money(view.start_balance_cents, view.currency)}. Add bonuses with `/hunt add`.",
        )

    @hunt.command(name="add", description="Add a bonus (admins)")
    @app_commands.autocomplete(slot=slot_autocomplete)
    @commands.guild_only()
    @community_admin()
    async def add(
        self, ctx: commands.Context[Any], slot: str, bet: str, cost: str = "", *, notes: str = ""
    ) -> None:
        community = await community_of(ctx.guild)
        view = await run_sync(hunt_bonus_add)(
            community_id=community.community_id,
            slot_name=slot,
            bet_cents=money_field(bet, "Bet"),
            cost_cents=money_field(cost, "Cost") if cost.strip() else None,
            notes=notes,
            actor_label=actor_label(ctx.author),
        )
        added = view.bonuses[-1]
        await reply(
            ctx,
            f"#{added.position} **{discord_safe(added.slot_name)}** at "
            f"{format_money(added.bet_cents, view.currency)} added ({view.figures.bonus_count} bonuses).",
        )

    @hunt.command(name="remove", description="Remove a bonus by its number (admins)")
    @commands.guild_only()
    @community_admin()
    async def remove(self, ctx: commands.Context[Any], number: str) -> None:
        community = await community_of(ctx.guild)
        position = bonus_number(number)
        if position is None:
            raise InvalidInput(MSG_NUMBER)
        view = await run_sync(hunt_bonus_remove)(
            community_id=community.community_id, position=position, actor_label=actor_label(ctx.author)
        )
        await reply(ctx, f"Bonus #{position} removed ({view.figures.bonus_count} left).")

    @hunt.command(name="open", description="Stop collecting and start opening the bonuses (admins)")
    @commands.guild_only()
    @community_admin()
    async def open_bonuses(self, ctx: commands.Context[Any]) -> None:
        community = await community_of(ctx.guild)
        view = await run_sync(hunt_opening_begin)(
            community_id=community.community_id, actor_label=actor_label(ctx.author)
        )
        await reply(ctx, "Opening.\n" + stats_text(view))

    @hunt.command(name="result", description="Enter the win of the next bonus, or of bonus <number> (admins)")
    @commands.guild_only()
    @community_admin()
    async def result(self, ctx: commands.Context[Any], win: str, number: str = "") -> None:
        community = await community_of(ctx.guild)
        win_cents = money_field(win, "Win")
        position = bonus_number(number)
        view = await run_sync(hunt_bonus_result)(
            community_id=community.community_id,
            win_cents=win_cents,
            position=position,
            actor_label=actor_label(ctx.author),
        )
        await reply(ctx, f"Win {format_money(win_cents, view.currency)} entered.\n" + stats_text(view))

    @hunt.command(name="finish", description="Finish the hunt once every bonus is opened (admins)")
    @commands.guild_only()
    @community_admin()
    async def finish(self, ctx: commands.Context[Any]) -> None:
        community = await community_of(ctx.guild)
        view = await run_sync(hunt_finish)(
            community_id=community.community_id, actor_label=actor_label(ctx.author)
        )
        await reply(ctx, "Finished.\n" + stats_text(view))

    @hunt.command(name="stats", description="The bonus hunt's figures")  # type: ignore[arg-type]  # discord.py#9788
    @commands.guild_only()
    @commands.cooldown(1, 5, commands.BucketType.user)
    async def stats(self, ctx: commands.Context[Any]) -> None:
        community = await community_of(ctx.guild)
        await reply(ctx, stats_text(await run_sync(hunt_current)(community_id=community.community_id)))


async def setup(bot: commands.Bot) -> None:
    await bot.add_cog(HuntsCog(bot))
