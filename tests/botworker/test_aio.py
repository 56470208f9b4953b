"""``wait_any``: the stop-or-timeout wait every bot loop uses."""

from __future__ import annotations

import asyncio

import pytest

from botworker.aio import wait_any


async def test_returns_true_when_an_event_is_set() -> None:
    a, b = asyncio.Event(), asyncio.Event()
    asyncio.get_running_loop().call_later(0.01, b.set)
    assert await wait_any(a, b, seconds=5) is True


async def test_returns_false_after_the_timeout() -> None:
    assert await wait_any(asyncio.Event(), seconds=0.01) is False


async def test_a_cancellation_racing_the_event_reaches_the_caller() -> None:
    """The shutdown hang: the event is set and the task cancelled in the same loop iteration.

    ``asyncio.wait_for(event.wait(), ...)`` returns normally here on Python 3.11 and the loop that
    called it goes round again; ``wait_any`` must raise CancelledError.
    """
    event = asyncio.Event()
    task = asyncio.create_task(wait_any(event, seconds=10))
    await asyncio.sleep(0)  # the task is now waiting
    await asyncio.sleep(0)
    event.set()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task


async def test_leaves_no_waiter_behind() -> None:
    before = len(asyncio.all_tasks())
    await wait_any(asyncio.Event(), asyncio.Event(), seconds=0.01)
    await asyncio.sleep(0)
    assert len(asyncio.all_tasks()) == before
