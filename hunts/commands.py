"""Kick chat command of the bonus hunt: ``!hunt`` answers the current hunt's figures."""

from __future__ import annotations

from hunts.selectors import hunt_current
from hunts.text import summary_line
from kickbot.bridge import run_sync
from kickbot.commands import Invocation, command


@command(
    "hunt", platforms=("kick",), user_cooldown_s=10, global_cooldown_s=3, help="the bonus hunt's figures"
)
async def hunt_summary(inv: Invocation) -> str:
    # Whatever follows the command is ignored: viewers only read the hunt, they never change it.
    return summary_line(await run_sync(hunt_current)(community_id=inv.community_id))
