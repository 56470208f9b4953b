"""Kick chat commands of Guess the Balance: ``!gtb <amount>``."""

from __future__ import annotations

from gtb.services import gtb_guess_submit
from kickbot.bridge import run_sync
from kickbot.commands import Invocation, command
from kickbot.money import parse_amount


@command(
    "gtb",
    platforms=("kick",),
    user_cooldown_s=3,
    help="guess the balance: !gtb 1500",
    # A changed guess is never dropped silently: the viewer hears it was not taken (once per window).
    cooldown_reply="@{username} your guess was not changed: one guess per 3 s, try again in {wait} s.",
)
async def gtb_guess(inv: Invocation) -> str:
    amount_cents = parse_amount(inv.raw_args)  # refusals raise InvalidInput: the router replies
    # Keyed by the Kick message id (one guess per session and viewer, the later said stands).
    result = await run_sync(gtb_guess_submit, idempotent=True)(
        community_id=inv.community_id,
        kick_user_id=inv.user_id,
        username=inv.username,
        amount_cents=amount_cents,
        at=inv.created_at,
        message_id=inv.message_id or "",
    )
    return result.reply()
