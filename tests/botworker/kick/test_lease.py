"""One ingestion holder at a time; a standby takes over when the holder dies."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from typing import Any

import pytest
from django.conf import settings

from botworker.kick.lease import IngestionLease
from kickbot.redis_client import get_async_redis


@pytest.fixture
async def redis() -> AsyncIterator[Any]:
    client = get_async_redis()
    yield client
    await client.aclose()


def lease(redis: Any, holder: str, ttl_s: float = 1.0) -> IngestionLease:
    return IngestionLease(redis, "kick:1", holder, ttl_s=ttl_s, renew_every_s=0.1)


async def test_key_lives_under_the_configured_prefix(redis):
    a = lease(redis, "a")
    assert a.key.startswith(f"{settings.REDIS_KEY_PREFIX}:")
    assert await a.acquire()
    assert await redis.get(a.key) == b"a"


async def test_only_one_holder_at_a_time(redis):
    a, b = lease(redis, "a"), lease(redis, "b")
    assert await a.acquire() is True
    assert await b.acquire() is False
    assert await b.renew() is False
    assert await b.release() is False  # cannot delete someone else's lease
    assert await redis.get(a.key) == b"a"
    assert await a.renew() is True


async def test_holder_reacquires_its_own_lease(redis):
    a = lease(redis, "a")
    assert await a.acquire() and await a.acquire()


async def test_two_hold_loops_never_hold_together(redis):
    stop = asyncio.Event()
    a, b = lease(redis, "a"), lease(redis, "b")
    tasks = [asyncio.create_task(a.hold(stop)), asyncio.create_task(b.hold(stop))]
    await asyncio.wait_for(
        asyncio.wait(
            [asyncio.ensure_future(a.held.wait()), asyncio.ensure_future(b.held.wait())],
            return_when=asyncio.FIRST_COMPLETED,
        ),
        1,
    )
    for _ in range(10):
        assert a.is_held != b.is_held
        await asyncio.sleep(0.05)
    stop.set()
    await asyncio.gather(*tasks)
    assert await redis.get(a.key) is None  # released on the way out


async def test_standby_takes_over_after_holder_stops_renewing(redis):
    dead = lease(redis, "dead")
    assert await dead.acquire()  # ... and then the process dies: no renewals, no release
    stop = asyncio.Event()
    standby = lease(redis, "standby")
    task = asyncio.create_task(standby.hold(stop))
    await asyncio.sleep(0.3)
    assert not standby.is_held
    loop = asyncio.get_running_loop()
    started = loop.time()
    await asyncio.wait_for(standby.held.wait(), 1.5)
    assert loop.time() - started < 1.2
    assert await redis.get(standby.key) == b"standby"
    stop.set()
    await task


async def test_clean_stop_hands_over_quickly(redis):
    stop_a, stop_b = asyncio.Event(), asyncio.Event()
    a, b = lease(redis, "a", ttl_s=2.0), lease(redis, "b", ttl_s=2.0)
    task_a = asyncio.create_task(a.hold(stop_a))
    await asyncio.wait_for(a.held.wait(), 1)
    task_b = asyncio.create_task(b.hold(stop_b))
    await asyncio.sleep(0.2)
    assert not b.is_held
    stop_a.set()
    await task_a
    await asyncio.wait_for(b.held.wait(), 0.5)  # well before the 2 s ttl
    stop_b.set()
    await task_b


async def test_holder_notices_when_its_lease_is_taken(redis):
    stop = asyncio.Event()
    a = lease(redis, "a")
    task = asyncio.create_task(a.hold(stop))
    await asyncio.wait_for(a.held.wait(), 1)
    await redis.set(a.key, "intruder", px=5000)
    await asyncio.wait_for(a.lost.wait(), 1)
    stop.set()
    await task
    assert await redis.get(a.key) == b"intruder"  # not released: it was not ours


async def test_cancelled_hold_releases(redis):
    a = lease(redis, "a")
    task = asyncio.create_task(a.hold(asyncio.Event()))
    await asyncio.wait_for(a.held.wait(), 1)
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task
    assert await redis.get(a.key) is None


def test_renew_interval_must_be_shorter_than_ttl():
    with pytest.raises(ValueError):
        IngestionLease(object(), "x", "a", ttl_s=1, renew_every_s=1)


async def test_standby_says_once_that_it_stands_by(redis, caplog):
    holder = lease(redis, "holder", ttl_s=0.5)
    assert await holder.acquire()
    stop = asyncio.Event()
    standby = lease(redis, "standby", ttl_s=0.5)
    caplog.set_level("INFO", logger="botworker.kick.lease")
    said = asyncio.Event()

    class Said(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            if "stands by" in record.getMessage():
                said.set()

    logging.getLogger("botworker.kick.lease").addHandler(handler := Said())
    task = asyncio.create_task(standby.hold(stop))
    await asyncio.wait_for(said.wait(), 2)
    logging.getLogger("botworker.kick.lease").removeHandler(handler)
    # Renewals every 0.1 s: several refused tries, one line.
    for _ in range(3):
        assert await holder.renew()
        await asyncio.sleep(0.1)
    assert [r.getMessage() for r in caplog.records if "stands by" in r.getMessage()] == [
        f"ingestion lease {standby.key} held by another process; standby stands by"
    ]
    await asyncio.wait_for(standby.held.wait(), 2)  # the holder stopped renewing
    stop.set()
    await task
