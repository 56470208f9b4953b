"""The Discord component of the bot process: the gateway client plus the outbox sender.

Started by ``runbot`` only when DISCORD_TOKEN is set; stops cleanly when the runtime's stop event is set.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import TYPE_CHECKING

import discord
import yarl
from django.conf import settings

from botworker.discord.bot import KickbotBot
from botworker.discord.outbox_sender import DiscordOutboxSender

if TYPE_CHECKING:
    from botworker.runtime import BotRuntime

log = logging.getLogger(__name__)


def configure_rest_base() -> None:
    """Point discord.py at DISCORD_API_BASE_URL and DISCORD_GATEWAY_URL (a fake Discord in tests)."""
    discord.http.Route.BASE = settings.DISCORD_API_BASE_URL
    # discord.py 2 connects to this constant rather than asking GET /gateway/bot.
    discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY = yarl.URL(settings.DISCORD_GATEWAY_URL + "/")


async def discord_component(runtime: BotRuntime, *, bot: KickbotBot | None = None) -> None:
    token = settings.DISCORD_TOKEN
    if not token:
        log.info("discord: off, DISCORD_TOKEN is not set")
        return
    configure_rest_base()
    bot = bot or KickbotBot()
    sender = DiscordOutboxSender(bot)
    gateway = asyncio.create_task(bot.start(token), name="discord-gateway")
    outbox = asyncio.create_task(sender.run(runtime.stop_event), name="discord-outbox")
    stop = asyncio.create_task(runtime.stop_event.wait(), name="discord-stop")
    try:
        done, _ = await asyncio.wait({gateway, stop}, return_when=asyncio.FIRST_COMPLETED)
        if gateway in done and not gateway.cancelled() and gateway.exception() is not None:
            exc = gateway.exception()
            if isinstance(exc, discord.LoginFailure):
                log.error("discord: login refused, check DISCORD_TOKEN")
            else:
                log.error("discord: gateway stopped: %s", type(exc).__name__, exc_info=exc)
    finally:
        for task in (outbox, stop):
            task.cancel()
        if not bot.is_closed():
            await bot.close()
        gateway.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await asyncio.gather(gateway, outbox, stop, return_exceptions=True)
        log.info("discord: stopped")
