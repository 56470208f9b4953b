"""Event handlers by event type: feature apps subscribe to Kick events without touching the pipeline.

In ``<app>/kick_events.py`` (imported by :func:`autodiscover`)::

    from kickbot.integrations.kick.events import GiftEvent
    from kickbot.event_handlers import EventContext, on_event

    @on_event(GiftEvent)
    async def award_gift(ctx: EventContext, event: GiftEvent) -> None:
        await run_sync(services.tickets_award_gift)(community_id=ctx.community_id, ...)

Handlers run after dedupe, in registration order; one failing handler is logged and does not stop
the others. Services they call must be idempotent on the event's key: Redis dedupe is a filter,
the database constraint is the guarantee.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from typing import Any, TypeVar

log = logging.getLogger(__name__)

E = TypeVar("E")


@dataclass(frozen=True, slots=True)
class EventContext:
    community_id: int
    prefix: str


Handler = Callable[[EventContext, Any], Coroutine[Any, Any, None]]


class EventHandlers:
    def __init__(self) -> None:
        self._handlers: dict[type, list[Handler]] = defaultdict(list)

    def add(self, event_type: type, handler: Handler) -> None:
        if handler not in self._handlers[event_type]:
            self._handlers[event_type].append(handler)

    def for_event(self, event: object) -> list[Handler]:
        return list(self._handlers.get(type(event), ()))

    async def dispatch(self, ctx: EventContext, event: object) -> int:
        """Run every handler for ``event``; returns how many failed."""
        failed = 0
        for handler in self.for_event(event):
            try:
                await handler(ctx, event)
            except Exception:
                failed += 1
                log.exception(
                    "%s handler %s failed", type(event).__name__, getattr(handler, "__qualname__", handler)
                )
        return failed


handlers = EventHandlers()


def on_event(event_type: type[E], *, into: EventHandlers | None = None) -> Callable[[Handler], Handler]:
    def decorate(fn: Handler) -> Handler:
        (into or handlers).add(event_type, fn)
        return fn

    return decorate


def autodiscover() -> None:
    from django.utils.module_loading import autodiscover_modules

    autodiscover_modules("kick_events")
