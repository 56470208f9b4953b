"""Event waits (and a sleep a stop cuts short) that never swallow a cancellation.

``asyncio.wait_for(event.wait(), timeout)`` on Python 3.11 can return normally when the task is
cancelled in the same loop iteration as the event is set (the inner future wins, the cancellation is
lost; fixed in 3.12, gh-86296). A loop that waits like that on the same event that its caller forgot
to set then never ends, and shutdown hangs. ``asyncio.wait`` does not cancel what it waits on, so a
cancellation always reaches the caller.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable


async def wait_any(*events: asyncio.Event, seconds: float | None = None) -> bool:
    """Wait until any of ``events`` is set or ``seconds`` pass; True if one was set."""
    if any(e.is_set() for e in events):
        return True
    waiters = [asyncio.ensure_future(e.wait()) for e in events]
    try:
        done, _ = await asyncio.wait(waiters, timeout=seconds, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for w in waiters:
            w.cancel()
    return bool(done)


async def sleep_unless_stopped(
    sleep: Callable[[float], Awaitable[None]], delay: float, stop: asyncio.Event
) -> bool:
    """``sleep(delay)`` (injected: tests pass a fake one) unless ``stop`` is set first; True if stopped."""
    sleeper = asyncio.ensure_future(sleep(delay))
    stopper = asyncio.ensure_future(stop.wait())
    try:
        await asyncio.wait({sleeper, stopper}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        sleeper.cancel()
        stopper.cancel()
    return stop.is_set()
