"""Discord embeds for slot requests and the panel, as dicts for the outbox.

Viewer text (usernames, request text) is escaped here, once: no markdown tricks, no mentions
(the sender also uses ``AllowedMentions.none()``, so even a missed escape would not ping).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import discord
from discord.utils import escape_markdown

from kickbot.text import discord_safe
from slots.selectors import QueueView, SlotInfo

COLOUR_OPEN = discord.Colour.green()
COLOUR_CLOSED = discord.Colour.dark_grey()


def safe(text: str, limit: int = 200) -> str:
    """Viewer text fit for an embed: cut to ``limit``, markdown and mentions escaped."""
    return discord_safe(text, limit=limit)


def slot_line(slot: SlotInfo) -> str:
    parts = [f"**{escape_markdown(slot.name)}**"]
    if slot.provider:
        parts.append(escape_markdown(slot.provider))
    if slot.rtp_bp is not None:
        parts.append(f"RTP {slot.rtp_percent}")
    if slot.max_win:
        parts.append(f"max {slot.max_win:,}x")
    return " · ".join(parts)


def request_embed(
    *, request_id: int, username: str, text: str, slot: SlotInfo | None, created_at: datetime, position: int
) -> dict[str, Any]:
    embed = discord.Embed(title="Slot request", colour=discord.Colour.blurple(), timestamp=created_at)
    embed.add_field(name="Viewer", value=safe(username, 64), inline=True)
    embed.add_field(name="Queue", value=f"#{position}", inline=True)
    embed.add_field(name="Request", value=safe(text) or "-", inline=False)
    embed.add_field(name="Slot", value=slot_line(slot) if slot else "Not in the catalogue", inline=False)
    if slot and slot.image_url:
        embed.set_thumbnail(url=slot.image_url)
    embed.set_footer(text=f"Request {request_id}")
    return embed.to_dict()  # type: ignore[return-value]


def pick_embed(*, number: int, username: str, text: str, slot: SlotInfo | None, proof: str) -> dict[str, Any]:
    embed = discord.Embed(title=f"Random pick #{number}", colour=discord.Colour.gold())
    embed.add_field(name="Viewer", value=safe(username, 64), inline=True)
    embed.add_field(name="Request", value=safe(text) or "-", inline=False)
    if slot:
        embed.add_field(name="Slot", value=slot_line(slot), inline=False)
        if slot.image_url:
            embed.set_thumbnail(url=slot.image_url)
    embed.set_footer(text=proof[:2000])
    return embed.to_dict()  # type: ignore[return-value]


def _entry_line(username: str, text: str, slot_name: str | None) -> str:
    what = escape_markdown(slot_name) if slot_name else safe(text, 80)
    return f"{safe(username, 64)}: {what}"


def panel_embed(queue: QueueView) -> dict[str, Any]:
    status = "open" if queue.requests_open else "closed"
    embed = discord.Embed(
        title="Slot requests",
        description=f"Requests are **{status}**. {queue.open_count} waiting.",
        colour=COLOUR_OPEN if queue.requests_open else COLOUR_CLOSED,
    )
    if queue.picked:
        p = queue.picked
        embed.add_field(
            name="Now playing", value=_entry_line(p.kick_username, p.text, p.slot_name), inline=False
        )
    if queue.upcoming:
        lines = [
            f"{i}. {_entry_line(e.kick_username, e.text, e.slot_name)}"
            for i, e in enumerate(queue.upcoming, 1)
        ]
        embed.add_field(name="Queue", value="\n".join(lines)[:1024], inline=False)
    return embed.to_dict()  # type: ignore[return-value]
