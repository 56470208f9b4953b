"""Kick chat commands of Guess the Balance: ``!gtb <amount>``."""

from __future__ import annotations

from botworker.bridge import run_sync
from botworker.commands import Invocation, command
from gtb.parsing import parse_amount
from gtb.services import gtb_guess_submit


@command("gtb", platforms=("kick",), user_cooldown_s=3, help="guess the balance: !gtb 1500")
async def gtb_guess(inv: Invocation) -> str:
    amount_cents = parse_amount(inv.raw_args)  # refusals raise InvalidInput: the router replies
    result = await run_sync(gtb_guess_submit, idempotent=True)(  # an upsert per session and viewer
        community_id=inv.community_id,
        kick_user_id=inv.user_id,
        username=inv.username,
        amount_cents=amount_cents,
    )
    return result.reply()
