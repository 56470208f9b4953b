"""The raffle cog loads as an extension and its hybrid commands are valid slash commands."""

from __future__ import annotations

from botworker.discord.bot import KickbotBot


async def test_raffle_extension_registers_prefix_and_slash_commands() -> None:
    bot = KickbotBot(sync_commands=False)
    await bot.load_extension("botworker.discord.cogs.raffle")
    expected = {
        "tickets",
        "raffleboard",
        "raffleinfo",
        "rafflestats",
        "linkshuffle",
        "verifyshuffle",
        "rafflegive",
        "raffleremove",
        "raffledraw",
        "rafflestart",
        "raffleend",
        "rafflerestart",
        "rafflesetdate",
    }
    assert expected <= {c.name for c in bot.tree.get_commands()}
    assert all(bot.get_command(name) is not None for name in expected)
