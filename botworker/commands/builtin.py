"""Commands every community has."""

from __future__ import annotations

from botworker.commands.registry import Invocation, command, registry


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
