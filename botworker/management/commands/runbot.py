import asyncio
import logging
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand

from botworker.runtime import BotRuntime

log = logging.getLogger("botworker")


class Command(BaseCommand):
    help = "Run the bot process: Discord gateway and Kick chat ingestion. Stops on SIGTERM/SIGINT."

    def handle(self, *args: Any, **options: Any) -> None:
        runtime = BotRuntime()
        from botworker.kick.component import kick_component

        runtime.components["kick"] = kick_component
        if settings.DISCORD_TOKEN:
            # Imported only when used: a Kick-only process never loads discord.py's client.
            from botworker.discord.component import discord_component

            runtime.components["discord"] = discord_component
        asyncio.run(runtime.run())
        log.info("bot process stopped")
