"""End to end in one process: the real ingestion against a fake Pusher server and a fake Kick API."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import pytest
from asgiref.sync import sync_to_async

from botworker.kick.component import KickIngestion, _config
from kickbot.models import Community
from kickbot.redis_client import get_async_redis, get_redis, key
from kickbot.selectors import kick_communities
from kickbot.webhook_stream import webhook_enqueue
from outbox.models import OutboxMessage
from tests.factories import CommunityFactory
from tests.fakes.kick_api import FakeKick
from tests.fakes.kick_chat import CHANNEL, CHATROOM, chat_frame, chat_webhook, ingesting, until
from tests.fakes.kick_pusher import FakePusherServer

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
async def running(
    streamer: Community, fake: FakeKick
) -> AsyncIterator[tuple[FakePusherServer, KickIngestion]]:
    async with ingesting() as world:
        yield world


async def test_subscribes_every_kick_channel(running: tuple[FakePusherServer, KickIngestion]) -> None:
    server, _ = running
    assert sorted(server.subscriptions[0]) == sorted(
        [
            f"chatrooms.{CHATROOM}.v2",
            f"chatroom_{CHATROOM}",
            f"chatrooms.{CHATROOM}",
            f"channel.{CHANNEL}",
            f"channel_{CHANNEL}",
        ]
    )


async def test_viewer_command_gets_a_reply_to_its_message(
    running: tuple[FakePusherServer, KickIngestion], fake: FakeKick
) -> None:
    server, _ = running
    await server.send(chat_frame("m-1", 501, "Viewer_Vic", "!commands"))
    await until(lambda: len(fake.chat) == 1)
    sent = fake.chat[0]
    assert sent["reply_to_message_id"] == "m-1"
    assert sent["type"] == "bot"
    assert sent["content"].startswith("Commands: ")
    assert await sync_to_async(OutboxMessage.objects.filter(status="sent", kind="kick_chat").count)() == 1


async def test_reconnect_after_drop_handles_every_later_frame_once(
    running: tuple[FakePusherServer, KickIngestion], fake: FakeKick, streamer: Community
) -> None:
    server, ingestion = running
    await server.send(chat_frame("m-1", 501, "first", "hello"))
    await until(lambda: ingestion.pipelines[streamer.pk].stats.events == 1)
    await server.drop()
    await server.wait_subscribed(5, connections=2, within_s=10)
    for i in range(2, 6):
        await server.send(chat_frame(f"m-{i}", 500 + i, f"viewer{i}", f"line {i}"))
    await server.send(chat_frame("m-3", 503, "viewer3", "line 3"))  # a duplicate delivery
    stats = ingestion.pipelines[streamer.pk].stats
    await until(lambda: stats.events == 5 and stats.duplicates == 1)
    assert (stats.events, stats.duplicates) == (5, 1)
    members = get_redis().zrange(key("activity", streamer.pk), 0, -1)
    assert sorted(int(m) for m in members) == [501, 502, 503, 504, 505]
    assert ingestion.listeners[streamer.pk].state.reconnects >= 1


async def test_same_line_by_webhook_and_pusher_is_handled_once(
    running: tuple[FakePusherServer, KickIngestion], fake: FakeKick, streamer: Community
) -> None:
    server, ingestion = running
    when = datetime.now(UTC).replace(microsecond=0)
    await server.send(chat_frame("pusher-id-1", 601, "dup", "!commands", when=when))
    await sync_to_async(webhook_enqueue)(
        get_redis(),
        community_id=streamer.pk,
        event_type="chat.message.sent",
        message_id="01HWEBHOOKID",
        body=chat_webhook("webhook-id-1", 601, "dup", "!commands", when=when),
    )
    await until(lambda: ingestion.pipelines[streamer.pk].stats.duplicates == 1)
    await until(lambda: len(fake.chat) == 1)
    assert ingestion.pipelines[streamer.pk].stats.events == 1
    # A second handling would have queued a second reply row; there is one, and one was sent.
    replies = await sync_to_async(OutboxMessage.objects.filter(kind=OutboxMessage.Kind.KICK_CHAT).count)()
    assert replies == 1
    assert len(fake.chat) == 1


async def test_bot_own_lines_are_not_activity(
    running: tuple[FakePusherServer, KickIngestion], fake: FakeKick, streamer: Community
) -> None:
    server, ingestion = running
    await server.send(chat_frame("own-1", fake.user_id, fake.username, "Commands: !commands"))
    await server.send(chat_frame("v-1", 700, "viewer", "hi"))
    # The event is counted when claimed, before its activity is written: wait for the activity.
    await until(lambda: get_redis().zrange(key("activity", streamer.pk), 0, -1))
    members = get_redis().zrange(key("activity", streamer.pk), 0, -1)
    assert [int(m) for m in members] == [700]
    assert ingestion.pipelines[streamer.pk].stats.events == 1


async def test_junk_frames_are_skipped_and_the_listener_keeps_running(
    running: tuple[FakePusherServer, KickIngestion], streamer: Community
) -> None:
    server, ingestion = running
    for junk in [
        "not json",
        '{"event": 5}',
        json.dumps({"event": "App\\Events\\ChatMessageEvent", "data": "[1,2]"}),
        json.dumps(
            {
                "event": "App\\Events\\ChatMessageEvent",
                "channel": "x",
                "data": json.dumps({"content": "x" * 20000}),
            }
        ),
        json.dumps({"event": "App\\Events\\SomethingNew", "data": "{}"}),
    ]:
        await server.send(junk)
    await server.send(chat_frame("ok-1", 800, "still", "alive"))
    await until(lambda: ingestion.pipelines[streamer.pk].stats.events == 1)
    assert ingestion.listeners[streamer.pk].state.connected
    # Three refused by the listener itself (not JSON, no event name, data not an object), one by the
    # pipeline (content over the limit); an event type we do not know is no error. Health sees all four.
    await until(lambda: get_redis().hget(key("ingest", streamer.pk), "errors") == b"4", within_s=5)


async def test_ingest_stats_reach_health(
    running: tuple[FakePusherServer, KickIngestion], streamer: Community
) -> None:
    server, ingestion = running
    await server.send(chat_frame("s-1", 900, "lag", "hello"))
    await until(lambda: get_redis().hget(key("ingest", streamer.pk), "events") == b"1", within_s=5)
    data = get_redis().hgetall(key("ingest", streamer.pk))
    assert data[b"connected"] == b"1"
    assert data[b"lag_p95_ms"] != b""


async def test_dashboard_changes_apply_without_restart(streamer: Community, fake: FakeKick) -> None:
    """A new prefix is used at the next reload; a community added later starts ingesting."""
    redis = get_async_redis()
    configs = [_config(r) for r in await sync_to_async(kick_communities)()]
    current = {"configs": configs}

    async def reload() -> list[Any]:
        return current["configs"]

    async with FakePusherServer() as server:
        ingestion = KickIngestion(
            communities=configs,
            redis=redis,
            pusher_url=server.url,
            lease_ttl_s=2.0,
            lease_renew_s=0.5,
            chat_rate=100.0,
            chat_burst=10,
            reload=reload,
            refresh_s=0.2,
        )
        stop = asyncio.Event()
        task = asyncio.create_task(ingestion.run(stop))
        try:
            await server.wait_subscribed(5, within_s=10)
            await sync_to_async(Community.objects.filter(pk=streamer.pk).update)(command_prefix="?")
            current["configs"] = [_config(r) for r in await sync_to_async(kick_communities)()]
            await until(lambda: ingestion.pipelines[streamer.pk].community.prefix == "?")
            await server.send(chat_frame("p-1", 1201, "asker", "?commands"))
            await until(lambda: len(fake.chat) == 1)
            assert fake.chat[0]["content"].startswith("Commands: ?commands")
            other = await sync_to_async(CommunityFactory)(kick_chatroom_id=999001, kick_channel_id=999002)
            current["configs"] = [_config(r) for r in await sync_to_async(kick_communities)()]
            await until(lambda: other.pk in ingestion.pipelines)
            await until(lambda: server.connections_count >= 2)
        finally:
            stop.set()
            await asyncio.wait_for(task, timeout=10)
            await redis.aclose()
