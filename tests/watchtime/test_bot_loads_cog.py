"""The bot loads the watchtime cog with its hybrid commands (slash and prefix)."""

from __future__ import annotations

from botworker.discord.bot import KickbotBot


async def test_watchtime_cog_loads() -> None:
    bot = KickbotBot(sync_commands=False)
    await bot.setup_hook()
    assert bot.get_cog("Watchtime") is not None
    for name in ("watchtime", "leaderboard", "tracking", "roles"):
        assert bot.get_command(name) is not None and bot.tree.get_command(name) is not None
    assert {c.name for c in bot.get_command("roles").commands} == {
        "list",
        "add",
        "update",
        "remove",
        "enable",
        "disable",
        "members",
    }
    await bot.remove_cog("Watchtime")  # stops the daily reconcile loop
