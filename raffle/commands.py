"""Raffle chat commands on Kick (``!tickets``); the Discord side is ``botworker/discord/cogs/raffle.py``."""

from __future__ import annotations

from kickbot.bridge import run_sync
from kickbot.commands import Invocation, command
from kickbot.errors import InvalidInput
from raffle.replies import tickets_text
from raffle.selectors import tickets_of


@command("tickets", aliases=("ticket",), platforms=("kick",), user_cooldown_s=10, help="your raffle tickets")
async def tickets(inv: Invocation) -> str:
    if inv.args:
        # On Kick a viewer only asks about themselves; names are not looked up (no mass lookups).
        raise InvalidInput(f"Just type {inv.prefix}tickets to see your own tickets.")
    info = await run_sync(tickets_of, idempotent=True)(
        community_id=inv.community_id, kick_user_id=inv.user_id
    )
    if info is None:
        return "There is no raffle yet."
    return tickets_text(info, inv.username)
