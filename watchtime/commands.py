"""Kick chat commands: ``!watchtime`` and ``!leaderboard`` (Discord has its own in the cog)."""

from __future__ import annotations

from collections.abc import Callable

from kickbot.bridge import run_sync
from kickbot.commands import Invocation, command
from watchtime.selectors import RankInfo, format_minutes, leaderboard, rank_of

KICK_TOP = 5


def describe_rank(info: RankInfo, *, escape: Callable[[str], str] = str) -> str:
    """``"12h 5m, rank #3 of 120. Next: Regular in 55m"``, shared by Kick and Discord.

    ``escape``: what makes the role's name (set by a server admin) safe on the platform shown.
    """
    if info.rank is None:
        text = "no watchtime yet (chat while the stream is live to earn it)"
    else:
        text = f"{format_minutes(info.minutes)}, rank #{info.rank} of {info.total_viewers}"
    if info.next_role is not None:
        name = escape(info.next_role.name) if info.next_role.name else "the next role"
        text += f". Next role: {name} in {format_minutes(info.next_role.minutes_left)}"
    return text


@command(
    "watchtime", aliases=("wt",), platforms=("kick",), help="your watchtime and rank", user_cooldown_s=10
)
async def watchtime(inv: Invocation) -> str:
    info = await run_sync(rank_of, idempotent=True)(community_id=inv.community_id, kick_user_id=inv.user_id)
    return f"@{inv.username} {describe_rank(info)}"


@command(
    "leaderboard", aliases=("top",), platforms=("kick",), help="top 5 by watchtime", global_cooldown_s=15
)
async def leaderboard_cmd(inv: Invocation) -> str:
    rows = await run_sync(leaderboard, idempotent=True)(community_id=inv.community_id, limit=KICK_TOP)
    if not rows:
        return "No watchtime yet."
    return "Top watchtime: " + " | ".join(f"#{r.rank} {r.username} {format_minutes(r.minutes)}" for r in rows)
