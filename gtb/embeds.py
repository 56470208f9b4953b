"""Discord embeds and Kick lines for GTB, built from selector dataclasses (no database here).

Viewer and moderator text (titles, usernames) is escaped: embeds never ping and never format.
"""

from __future__ import annotations

import discord

from gtb.selectors import GtbStats, SessionView
from kickbot.money import format_cents
from kickbot.text import discord_safe

STATUS_TEXT = {
    "open": "🟢 Open: type `!gtb <amount>` in Kick chat",
    "closed": "🔒 Guessing closed: waiting for the final balance",
    "resolved": "🏁 Resolved",
    "cancelled": "✖️ Cancelled",
}


def safe(text: str) -> str:
    return discord_safe(text)


def panel_embed(session: SessionView | None, *, prefix: str = "!") -> discord.Embed:
    embed = discord.Embed(title="Guess the Balance", colour=discord.Colour.gold())
    if session is None:
        embed.description = "No round yet. Press **Start** to open one."
        return embed
    status = STATUS_TEXT.get(session.status, session.status).replace("!gtb", f"{prefix}gtb")
    embed.description = f"**{safe(session.title)}**\n{status}"
    embed.add_field(name="Guesses", value=str(session.guess_count))
    if session.prize_cents:
        embed.add_field(name="Prize", value=format_cents(session.prize_cents))
    if session.final_balance_cents is not None:
        embed.add_field(name="Final balance", value=format_cents(session.final_balance_cents))
    if session.status == "resolved":
        embed.add_field(name="Winner", value=_winner_text(session), inline=False)
    if not session.running:
        embed.set_footer(text="Press Start to open the next round.")
    return embed


def _winner_text(session: SessionView) -> str:
    if session.winner_username is None or session.winner_amount_cents is None:
        return "No guesses: no winner."
    assert session.final_balance_cents is not None
    off = abs(session.winner_amount_cents - session.final_balance_cents)
    return (
        f"**{safe(session.winner_username)}** with {format_cents(session.winner_amount_cents)} "
        f"({'exact!' if off == 0 else f'off by {format_cents(off)}'})"
    )


def result_embed(session: SessionView) -> discord.Embed:
    embed = discord.Embed(
        title=f"Guess the Balance: {safe(session.title)}"[:256], colour=discord.Colour.green()
    )
    assert session.final_balance_cents is not None
    embed.add_field(name="Final balance", value=format_cents(session.final_balance_cents))
    embed.add_field(name="Guesses", value=str(session.guess_count))
    if session.prize_cents:
        embed.add_field(name="Prize", value=format_cents(session.prize_cents))
    embed.add_field(name="Winner", value=_winner_text(session), inline=False)
    return embed


def result_kick_line(session: SessionView) -> str:
    assert session.final_balance_cents is not None
    final = format_cents(session.final_balance_cents)
    if session.winner_username is None or session.winner_amount_cents is None:
        return f'GTB "{session.title}" ended at {final}. No guesses, no winner.'
    off = abs(session.winner_amount_cents - session.final_balance_cents)
    closeness = "spot on!" if off == 0 else f"off by {format_cents(off)}"
    return (
        f'GTB "{session.title}" ended at {final}. Winner: @{session.winner_username} with '
        f"{format_cents(session.winner_amount_cents)} ({closeness})"
    )


def stats_embed(stats: GtbStats) -> discord.Embed:
    embed = discord.Embed(title="Guess the Balance stats", colour=discord.Colour.gold())
    embed.add_field(name="Rounds resolved", value=str(stats.sessions_resolved))
    embed.add_field(name="Guesses", value=str(stats.guesses))
    embed.add_field(
        name="Average guess error",
        value=format_cents(stats.average_error_cents) if stats.average_error_cents is not None else "n/a",
    )
    if stats.top_winners:
        lines = [
            f"{i}. {safe(w.username)}: {w.wins} win{'s' if w.wins != 1 else ''}"
            for i, w in enumerate(stats.top_winners, 1)
        ]
        embed.add_field(name="Top winners", value="\n".join(lines), inline=False)
    else:
        embed.add_field(name="Top winners", value="No winners yet.", inline=False)
    return embed
