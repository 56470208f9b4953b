"""Platform-neutral chat commands: the registry feature apps add to (the router in the bot reads it).

A feature registers its commands in ``<app>/commands.py`` (imported by :func:`autodiscover`)::

    from kickbot.bridge import run_sync
    from kickbot.commands import Invocation, command

    @command("watchtime", aliases=("wt",), help="your watchtime")
    async def watchtime(inv: Invocation) -> str:
        stats = await run_sync(selectors.watchtime_for)(community_id=inv.community_id, user=inv.user_id)
        return f"{inv.username}: {stats.hours} h"

Handlers are async, reach the database only through ``kickbot.bridge.run_sync`` and return the
reply text (or None for no reply). A ``KickbotError`` raised by a service becomes the reply.
This module is below every feature app: it imports nothing of theirs and nothing of the bot's.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Coroutine, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from enum import IntEnum
from typing import Any, Literal

Platform = Literal["kick", "discord"]
NAME_RE = re.compile(r"^[a-z0-9_]{1,32}$")
DEFAULT_COOLDOWN_REPLY = "@{username} slow down: {prefix}{name} again in {wait} s."


class Level(IntEnum):
    """Who may run a command, from Kick badges (Discord maps its admin check to MODERATOR+)."""

    EVERYONE = 0
    SUBSCRIBER = 1
    VIP = 2
    MODERATOR = 3
    BROADCASTER = 4


_BADGE_LEVELS = {
    "broadcaster": Level.BROADCASTER,
    "moderator": Level.MODERATOR,
    "vip": Level.VIP,
    "og": Level.SUBSCRIBER,
    "founder": Level.SUBSCRIBER,
    "subscriber": Level.SUBSCRIBER,
    "sub_gifter": Level.EVERYONE,
}


def level_from_badges(badges: Iterable[str]) -> Level:
    """The highest level any of the sender's badges gives."""
    return max((_BADGE_LEVELS.get(b.lower(), Level.EVERYONE) for b in badges), default=Level.EVERYONE)


@dataclass(frozen=True, slots=True)
class Invocation:
    """One parsed command call, whatever the platform."""

    community_id: int
    platform: Platform
    name: str  # the canonical command name (not the alias typed)
    args: tuple[str, ...]
    raw_args: str
    user_id: int  # Kick user id on Kick, Discord user id on Discord
    username: str
    level: Level
    message_id: str | None = None
    created_at: datetime | None = None  # Kick: the message's own time, clamped to [now - 2 min, now]
    prefix: str = "!"


Handler = Callable[[Invocation], Coroutine[Any, Any, str | None]]


@dataclass(frozen=True)
class Command:
    name: str
    handler: Handler
    aliases: tuple[str, ...] = ()
    level: Level = Level.EVERYONE
    user_cooldown_s: int = 3
    global_cooldown_s: int = 0
    platforms: frozenset[str] = field(default_factory=lambda: frozenset({"kick"}))
    help: str = ""
    # Told to a viewer refused by a cooldown, once per window (``{username} {prefix} {name} {wait}``);
    # None: refusals are only counted and logged.
    cooldown_reply: str | None = DEFAULT_COOLDOWN_REPLY


class CommandRegistry:
    def __init__(self) -> None:
        self._by_name: dict[str, Command] = {}
        self._canonical: dict[str, Command] = {}

    def register(self, cmd: Command) -> Command:
        for name in (cmd.name, *cmd.aliases):
            if not NAME_RE.match(name):
                raise ValueError(f"bad command name {name!r}")
            existing = self._by_name.get(name)
            if existing is not None and existing.name != cmd.name:
                raise ValueError(f"command name {name!r} is taken by {existing.name!r}")
        self._canonical[cmd.name] = cmd
        for name in (cmd.name, *cmd.aliases):
            self._by_name[name] = cmd
        return cmd

    def resolve(self, name: str) -> Command | None:
        return self._by_name.get(name.lower())

    def commands(self, *, platform: str, level: Level = Level.BROADCASTER) -> list[Command]:
        """Canonical commands usable on ``platform`` at ``level``, sorted by name."""
        return sorted(
            (c for c in self._canonical.values() if platform in c.platforms and c.level <= level),
            key=lambda c: c.name,
        )


registry = CommandRegistry()


def command(
    name: str,
    *,
    aliases: Iterable[str] = (),
    level: Level = Level.EVERYONE,
    user_cooldown_s: int = 3,
    global_cooldown_s: int = 0,
    platforms: Iterable[str] = ("kick",),
    help: str = "",
    cooldown_reply: str | None = DEFAULT_COOLDOWN_REPLY,
    into: CommandRegistry | None = None,
) -> Callable[[Handler], Handler]:
    """Register the decorated async handler in the global registry (or ``into``)."""

    def decorate(handler: Handler) -> Handler:
        (into or registry).register(
            Command(
                name=name,
                handler=handler,
                aliases=tuple(aliases),
                level=level,
                user_cooldown_s=user_cooldown_s,
                global_cooldown_s=global_cooldown_s,
                platforms=frozenset(platforms),
                help=help,
                cooldown_reply=cooldown_reply,
            )
        )
        return handler

    return decorate


def autodiscover() -> None:
    """Import ``<app>.commands`` of every installed app (this module's own commands are already in)."""
    from django.utils.module_loading import autodiscover_modules

    autodiscover_modules("commands")


# Commands every community has.


@command(
    "commands",
    aliases=("help",),
    platforms=("kick", "discord"),
    help="lists the commands",
    user_cooldown_s=10,
)
async def list_commands(inv: Invocation) -> str:
    names = [f"{inv.prefix}{c.name}" for c in registry.commands(platform=inv.platform, level=inv.level)]
    return "Commands: " + ", ".join(names)
