"""``KickbotBot``: the discord.py client with our cogs, persistent views and the one error handler."""

from __future__ import annotations

import logging
from typing import Any

import discord
from discord import app_commands
from discord.ext import commands
from django.conf import settings

from botworker.discord.arguments import NotAWholeNumber, RefusedCheck, make_strict, printable_input, usage
from botworker.discord.cogs.linking import LinkingCog
from botworker.discord.common import NO_MENTIONS, reply_private
from botworker.discord.views import LinkPanelView
from kickbot.errors import KickbotError

log = logging.getLogger(__name__)

BUG_REPLY = "Something went wrong on our side; it has been logged. Please try again in a minute."


def bot_intents() -> discord.Intents:
    intents = discord.Intents.default()
    intents.guilds = True
    intents.members = True
    intents.message_content = True
    return intents


def _named(parameter: commands.Parameter | None, text: str) -> str:
    # The parameter's name from the command's signature, never the text that was typed.
    return f"`{parameter.displayed_name or parameter.name}`: {text}" if parameter is not None else text


def friendly_error(
    error: BaseException, *, parameter: commands.Parameter | None = None, usage: str = ""
) -> str | None:
    """The reply for a command error, or None for a real bug (which the caller logs).

    ``parameter``: the argument being converted when it failed; ``usage``: the command's usage line.
    """
    while (
        isinstance(
            error, commands.HybridCommandError | commands.CommandInvokeError | app_commands.CommandInvokeError
        )
        and getattr(error, "original", None) is not None
    ):
        error = error.original  # type: ignore[union-attr]
    if isinstance(error, KickbotError):
        return error.message
    if isinstance(error, RefusedCheck):  # AdminRequired, control characters
        return error.message
    if isinstance(error, commands.NoPrivateMessage | app_commands.NoPrivateMessage):
        return "This command only works in a server."
    if isinstance(error, commands.CommandOnCooldown | app_commands.CommandOnCooldown):
        return f"Slow down: try again in {error.retry_after:.0f} s."
    see = f" Usage: {usage}" if usage else ""
    # Never echo the argument: it is member text (mentions, huge input).
    if isinstance(error, commands.ChannelNotFound | commands.ChannelNotReadable):
        return _named(parameter, "I can't find that channel in this server. Mention it like #channel.")
    if isinstance(error, commands.MemberNotFound | commands.UserNotFound):
        return _named(parameter, "I can't find that member in this server. Mention them like @name.")
    if isinstance(error, NotAWholeNumber):
        return _named(parameter, f"{error}{see}")
    if isinstance(error, commands.BadArgument | commands.BadUnionArgument | commands.ArgumentParsingError):
        return _named(parameter, f"I didn't understand that.{see}")
    if isinstance(error, commands.TooManyArguments):
        return f"Too many options.{see}"
    if isinstance(error, commands.MissingRequiredArgument):
        return _named(error.param, f"missing.{see}")
    if isinstance(error, commands.UserInputError):
        return f"I didn't understand that.{see}"
    if isinstance(error, commands.CheckFailure | app_commands.CheckFailure):
        return "You can't use this command here."
    return None


class KickbotBot(commands.Bot):
    def __init__(self, *, sync_commands: bool = True, **kwargs: Any) -> None:
        kwargs.setdefault("command_prefix", commands.when_mentioned_or("!"))
        kwargs.setdefault("intents", bot_intents())
        # Nothing the bot says pings anyone unless a send asks for it explicitly.
        kwargs.setdefault("allowed_mentions", discord.AllowedMentions.none())
        kwargs.setdefault("help_command", None)
        super().__init__(**kwargs)
        self.sync_commands = sync_commands
        self.tree.error(self.on_app_command_error)
        self.add_check(printable_input)

    def add_command(self, command: commands.Command[Any, ..., Any], /) -> None:
        # Every command, from every cog, parses strictly (botworker.discord.arguments).
        make_strict(command)
        super().add_command(command)

    async def setup_hook(self) -> None:
        await self.add_cog(LinkingCog(self))
        await self.load_extension("botworker.discord.cogs.slots")  # with its persistent slot panel view
        await self.load_extension("botworker.discord.cogs.raffle")
        await self.load_extension("botworker.discord.cogs.gtb")  # with its persistent GTB panel view
        await self.load_extension("botworker.discord.cogs.hunts")
        await self.load_extension("botworker.discord.cogs.admin")
        await self.load_extension("botworker.discord.cogs.watchtime")
        # Persistent views: buttons on messages posted before a restart keep working.
        self.add_view(LinkPanelView())
        if self.sync_commands:
            await self._sync_app_commands()

    async def _sync_app_commands(self) -> None:
        guild_id = getattr(settings, "DISCORD_GUILD_ID", None)
        try:
            if guild_id:
                # Guild commands appear at once; global ones can take up to an hour.
                guild = discord.Object(id=guild_id)
                self.tree.copy_global_to(guild=guild)
                await self.tree.sync(guild=guild)
            await self.tree.sync()
        except discord.HTTPException as exc:
            log.warning("could not sync slash commands: %s %s", exc.status, type(exc).__name__)

    async def on_command_error(  # type: ignore[override]
        self, ctx: commands.Context[Any], error: commands.CommandError
    ) -> None:
        if isinstance(error, commands.CommandNotFound):
            return
        parameter = ctx.current_parameter if isinstance(error, commands.BadArgument) else None
        text = friendly_error(error, parameter=parameter, usage=usage(ctx))
        if text is None:
            log.error(
                "command %s failed",
                ctx.command.qualified_name if ctx.command else "?",
                exc_info=(type(error), error, error.__traceback__),
            )
            text = BUG_REPLY
        try:
            await ctx.send(text, ephemeral=True, allowed_mentions=NO_MENTIONS)
        except discord.HTTPException as exc:
            log.warning("could not send an error reply: %s", exc.status)

    async def on_app_command_error(
        self, interaction: discord.Interaction, error: app_commands.AppCommandError
    ) -> None:
        text = friendly_error(error)
        if text is None:
            log.error("app command failed", exc_info=(type(error), error, error.__traceback__))
            text = BUG_REPLY
        try:
            await reply_private(interaction, text)
        except discord.HTTPException as exc:
            log.warning("could not send an error reply: %s", exc.status)
