"""Strict prefix-command arguments, applied to every command the bot registers (``KickbotBot.add_command``).

discord.py is lenient by default, and each leniency hid a typo (issue 16): an optional argument that
does not convert (``TextChannel | None`` given ``#nowhere``) silently becomes ``None`` and the word
moves on to the next parameter; words left over after the last parameter are dropped
(``!leaderboard 5 6``); ``int`` accepts ``"٣"``, ``"1_000"`` and 40-digit numbers. Here:

- a present optional argument must convert (``Present``), or the command fails naming it;
- whole numbers are ASCII digits of a sane length (``AsciiInt``);
- extra words are refused (``ignore_extra=False``), except on a group that answers its own usage;
- a control character (NUL and friends) anywhere in the input refuses the command before parsing.

Slash commands get their types from Discord's client; only the control-character check applies.
"""

from __future__ import annotations

import json
import re
import types
import typing
from typing import Any

import discord
from discord.ext import commands

_INT_RE = re.compile(r"-?[0-9]{1,18}")  # ASCII only; 18 digits always fit a 64-bit column
_CONTROL_RE = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


class RefusedCheck(commands.CheckFailure):
    """A check that refuses with a message fit for the member (shown as is by the error handler)."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class ControlCharacters(RefusedCheck):
    def __init__(self) -> None:
        super().__init__("Your message has a control character (like NUL) in it. Type it again without it.")


class NotAWholeNumber(commands.BadArgument):
    def __init__(self) -> None:
        super().__init__("Give a whole number, like 30.")


class AsciiInt(commands.Converter[int]):
    """``int`` from ASCII digits only: no ``٣``, no ``1_000``, no ``1e3``, at most 18 digits."""

    async def convert(self, ctx: commands.Context[Any], argument: str) -> int:
        if not _INT_RE.fullmatch(argument):
            raise NotAWholeNumber()
        return int(argument)


class Present(commands.Converter[Any]):
    """An optional argument that, when given, must convert (discord.py's ``X | None`` gives up silently)."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner

    async def convert(self, ctx: commands.Context[Any], argument: str) -> Any:
        return await commands.run_converters(ctx, self.inner, argument, ctx.current_parameter)  # type: ignore[arg-type]

    def __repr__(self) -> str:
        return f"Present({self.inner!r})"


def _strict(converter: Any) -> Any:
    if converter is int:
        return AsciiInt()
    if typing.get_origin(converter) in (typing.Union, types.UnionType):
        args = typing.get_args(converter)
        rest = tuple(_strict(a) for a in args if a is not type(None))
        if len(rest) < len(args):  # ``X | None``: strict when present
            return Present(rest[0] if len(rest) == 1 else typing.Union[rest])  # noqa: UP007
    return converter


def _answers_own_usage(command: commands.Command[Any, ..., Any]) -> bool:
    # ``!roles`` / ``!roles nonsense`` reach the group's callback, which replies with the usage.
    return isinstance(command, commands.Group) and command.invoke_without_command


def make_strict(command: commands.Command[Any, ..., Any]) -> None:
    """Make ``command`` (and its subcommands) parse strictly; idempotent."""
    targets = [command, *(command.walk_commands() if isinstance(command, commands.Group) else [])]
    for cmd in targets:
        if not _answers_own_usage(cmd):
            cmd.ignore_extra = False
        cmd.params = {
            name: param.replace(annotation=_strict(param.converter)) for name, param in cmd.params.items()
        }


def _strings(value: Any) -> typing.Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for v in value.values():
            yield from _strings(v)
    elif isinstance(value, list):
        for v in value:
            yield from _strings(v)


def command_text(ctx: commands.Context[Any]) -> str:
    """Everything the member typed for this command: the message, or a slash command's options."""
    if ctx.interaction is None:
        return ctx.message.content
    return json.dumps(list(_strings(ctx.interaction.data or {})), ensure_ascii=False)


async def printable_input(ctx: commands.Context[Any]) -> bool:
    """Global check: no control characters in what was typed (a NUL would reach the database)."""
    if _CONTROL_RE.search(command_text(ctx)):
        raise ControlCharacters()
    return True


def usage(ctx: commands.Context[Any]) -> str:
    """``!name <required> [optional]`` of the command being run (names only: never what was typed)."""
    command = ctx.command
    if command is None:
        return ""
    signature = f" {command.signature}" if command.signature else ""
    return discord.utils.escape_mentions(f"`!{command.qualified_name}{signature}`")
