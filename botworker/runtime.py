"""The bot process: one asyncio loop hosting the Discord client and the Kick listener.

Components are coroutines started side by side; a stop signal cancels them all and the
process exits within a few seconds. A missing optional integration is reported, not fatal.
"""

from __future__ import annotations

import asyncio
import logging
import signal
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field
from typing import Any

from asgiref.sync import sync_to_async
from django.conf import settings

from botworker.aio import wait_any
from kickbot.heartbeat import heartbeat_write
from kickbot.models import Community

log = logging.getLogger(__name__)

Component = Callable[["BotRuntime"], Coroutine[Any, Any, None]]


@dataclass
class BotRuntime:
    heartbeat_interval: float = 5.0
    stop_event: asyncio.Event = field(default_factory=asyncio.Event)
    components: dict[str, Component] = field(default_factory=dict)

    def integrations(self) -> dict[str, str]:
        """What this process will run, and why not when it won't."""
        return {
            "discord": "on" if settings.DISCORD_TOKEN else "off: DISCORD_TOKEN is not set",
            "kick": "on" if settings.KICK_CHANNEL or _any_community() else "off: no Kick channel configured",
        }

    async def _heartbeat(self) -> None:
        while not self.stop_event.is_set():
            await sync_to_async(heartbeat_write, thread_sensitive=False)(name="bot")
            await wait_any(self.stop_event, seconds=self.heartbeat_interval)

    def stop(self) -> None:
        self.stop_event.set()

    async def run(self, *, install_signal_handlers: bool = True) -> None:
        loop = asyncio.get_running_loop()
        if install_signal_handlers:
            for sig in (signal.SIGTERM, signal.SIGINT):
                loop.add_signal_handler(sig, self.stop)
        for name, state in (await sync_to_async(self.integrations)()).items():
            log.info("integration %s: %s", name, state)
        tasks = [asyncio.create_task(self._heartbeat(), name="heartbeat")]
        tasks += [asyncio.create_task(c(self), name=n) for n, c in self.components.items()]
        await self.stop_event.wait()
        log.info("stopping bot process")
        for task in tasks:
            task.cancel()
        _, pending = await asyncio.wait(tasks, timeout=4)
        if pending:
            log.warning("components still running at exit: %s", [t.get_name() for t in pending])


def _any_community() -> bool:
    try:
        return Community.objects.exists()
    except Exception:
        return False
