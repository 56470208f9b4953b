"""Redis event dedupe across sources and redeliveries."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import pytest
from django.conf import settings

from botworker.kick.dedupe import Dedupe
from kickbot.integrations.kick.events import ChatEvent
from kickbot.integrations.kick.parsers import parse_pusher_frame, pusher_to_events, webhook_to_events
from kickbot.redis_client import get_async_redis
from tests.botworker.kick.conftest import NOW, pusher_raw, webhook


@pytest.fixture
async def redis() -> AsyncIterator[Any]:
    client = get_async_redis()
    yield client
    await client.aclose()


@pytest.fixture
def prefix() -> str:
    return f"{settings.REDIS_KEY_PREFIX}:dedupe:1"


async def seen_before(redis: Any, *, keys: list[str], prefix: str, ttl_s: int = 600) -> bool:
    """One event's claim, as the pipeline takes it: True when any of its keys was taken before."""
    [fresh] = await Dedupe(redis, prefix=prefix).claim([keys], ttl_s=ttl_s)
    return not fresh


async def test_same_message_id_twice_is_seen(redis, prefix):
    assert await seen_before(redis, keys=["chatid:m-1"], prefix=prefix) is False
    assert await seen_before(redis, keys=["chatid:m-1"], prefix=prefix) is True


async def test_any_shared_key_is_enough(redis, prefix):
    assert await seen_before(redis, keys=["evt:webhook:01A", "gift:g:a,b"], prefix=prefix) is False
    assert await seen_before(redis, keys=["evt:pusher:x", "gift:g:a,b"], prefix=prefix) is True
    assert await seen_before(redis, keys=["evt:pusher:y", "gift:g:c"], prefix=prefix) is False


async def test_keys_expire_with_ttl(redis, prefix):
    assert await seen_before(redis, keys=["k"], prefix=prefix, ttl_s=1) is False
    ttl = await redis.ttl(f"{prefix}:k")
    assert 0 < ttl <= 1


async def test_communities_do_not_share_keys(redis, prefix):
    other = f"{settings.REDIS_KEY_PREFIX}:dedupe:2"
    assert await seen_before(redis, keys=["chatid:m"], prefix=prefix) is False
    assert await seen_before(redis, keys=["chatid:m"], prefix=other) is False


async def test_chat_line_from_pusher_and_webhook_is_handled_once(redis, prefix):
    [from_pusher] = pusher_to_events(parse_pusher_frame(pusher_raw("chat_message")), now=NOW)
    [from_hook] = webhook_to_events(*webhook("chat_message_sent"), now=NOW)
    assert isinstance(from_pusher, ChatEvent) and isinstance(from_hook, ChatEvent)
    assert await seen_before(redis, keys=from_pusher.dedupe_keys(), prefix=prefix) is False
    assert await seen_before(redis, keys=from_hook.dedupe_keys(), prefix=prefix) is True


async def test_semantic_duplicate_with_another_id_is_seen(redis, prefix):
    [ev] = pusher_to_events(parse_pusher_frame(pusher_raw("chat_message")), now=NOW)
    assert isinstance(ev, ChatEvent)
    assert await seen_before(redis, keys=ev.dedupe_keys(), prefix=prefix) is False
    relabelled = ["chatid:some-other-id", ev.semantic_key()]
    assert await seen_before(redis, keys=relabelled, prefix=prefix) is True


async def test_concurrent_duplicates_only_one_wins(redis, prefix):
    results = await asyncio.gather(
        *(seen_before(redis, keys=["chatid:race"], prefix=prefix) for _ in range(20))
    )
    assert results.count(False) == 1


async def test_a_claim_needs_a_positive_ttl(redis, prefix):
    with pytest.raises(ValueError):
        await Dedupe(redis, prefix=prefix).claim([["chatid:m"]], ttl_s=0)
