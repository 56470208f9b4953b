"""Platform-neutral chat commands: a registry that feature apps add to, and the router.

A feature registers its commands in ``<app>/commands.py`` (imported by :func:`autodiscover`)::

    from botworker.bridge import run_sync
    from botworker.commands import Invocation, command

    @command("watchtime", aliases=("wt",), help="your watchtime")
    async def watchtime(inv: Invocation) -> str:
        stats = await run_sync(selectors.watchtime_for)(community_id=inv.community_id, user=inv.user_id)
        return f"{inv.username}: {stats.hours} h"

Handlers are async, reach the database only through ``botworker.bridge.run_sync`` and return the
reply text (or None for no reply). A ``KickbotError`` raised by a service becomes the reply.
"""

from botworker.commands.registry import (
    Command,
    CommandRegistry,
    Invocation,
    Level,
    command,
    level_from_badges,
    registry,
)


def autodiscover() -> None:
    """Import the built-in commands and ``<app>.commands`` of every installed app."""
    from django.utils.module_loading import autodiscover_modules

    from botworker.commands import builtin  # noqa: F401  (registers on import)

    autodiscover_modules("commands")


__all__ = [
    "Command",
    "CommandRegistry",
    "Invocation",
    "Level",
    "autodiscover",
    "command",
    "level_from_badges",
    "registry",
]
