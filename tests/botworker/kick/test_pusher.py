"""The real listener against a real websocket server speaking the Pusher protocol."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import AsyncIterator, Callable
from typing import Any

from botworker.kick.pusher import PusherListener, channels_for, classify_code
from kickbot.integrations.kick.parsers import PusherFrame
from tests.botworker.kick.conftest import pusher_raw
from tests.fakes.kick_pusher import FakePusherServer

CHANNELS = channels_for(2915314, 2938540)


class Recorder:
    """on_event that records frames; sleep that records delays and returns at once."""

    def __init__(self) -> None:
        self.frames: list[PusherFrame] = []
        self.delays: list[float] = []
        self.fail_on: set[str] = set()

    async def on_event(self, frame: PusherFrame) -> None:
        if frame.event in self.fail_on:
            raise RuntimeError("handler bug")
        self.frames.append(frame)

    async def sleep(self, delay: float) -> None:
        self.delays.append(delay)
        await asyncio.sleep(0)

    def ids(self) -> list[Any]:
        return [f.data.get("n") if f.data else None for f in self.frames]

    async def wait_frames(self, n: int, within_s: float = 2.0) -> None:
        async with asyncio.timeout(within_s):
            while len(self.frames) < n:  # noqa: ASYNC110
                await asyncio.sleep(0.01)


def numbered(n: int) -> dict[str, Any]:
    return {"event": "App\\Events\\ChatMessageEvent", "channel": CHANNELS[0], "data": {"n": n}}


@contextlib.asynccontextmanager
async def running(listener: PusherListener) -> AsyncIterator[asyncio.Task[None]]:
    stop = asyncio.Event()
    task = asyncio.create_task(listener.run(stop))
    try:
        yield task
    finally:
        stop.set()
        await asyncio.wait_for(task, 2)


def make_listener(server: FakePusherServer, rec: Recorder, **kw: Any) -> PusherListener:
    kw.setdefault("jitter", lambda d: d)
    kw.setdefault("backoff_base_s", 0.01)
    return PusherListener(server.url, CHANNELS, rec.on_event, sleep=rec.sleep, **kw)


async def until(predicate: Callable[[], bool], within_s: float = 2.0) -> None:
    async with asyncio.timeout(within_s):
        while not predicate():  # noqa: ASYNC110
            await asyncio.sleep(0.01)


def test_channels_for_lists_all_five_names():
    assert channels_for(7, 9) == ["chatrooms.7.v2", "chatroom_7", "chatrooms.7", "channel.9", "channel_9"]


def test_error_code_ranges():
    assert [classify_code(c) for c in (4000, 4099, 4100, 4199, 4200, 4299, 4300, 1006, None)] == [
        "fatal",
        "fatal",
        "backoff",
        "backoff",
        "now",
        "now",
        None,
        None,
        None,
    ]


def test_backoff_grows_and_is_capped():
    listener = PusherListener("ws://x", ["c"], Recorder().on_event, jitter=lambda d: d, backoff_cap_s=30)
    assert [listener.backoff_delay(a) for a in range(7)] == [1, 2, 4, 8, 16, 30, 30]
    jittered = PusherListener("ws://x", ["c"], Recorder().on_event)
    assert all(0 <= jittered.backoff_delay(10) <= 30 for _ in range(100))


async def test_subscribes_every_channel_and_delivers_frames_in_order():
    rec = Recorder()
    async with FakePusherServer() as server:
        listener = make_listener(server, rec)
        async with running(listener):
            await server.wait_subscribed(5)
            await until(lambda: listener.state.subscribed == set(CHANNELS))
            assert listener.state.connected and listener.state.socket_id == "1.4242"
            assert server.subscriptions[0] == CHANNELS
            assert server.origins == ["https://kick.com"]
            assert server.paths[0].startswith("/app/testkey?protocol=7")
            for n in range(3):
                await server.send(numbered(n))
            await server.send(json.loads(pusher_raw("chat_message")))
            await rec.wait_frames(4)
            assert rec.ids()[:3] == [0, 1, 2]
            assert rec.frames[3].data and rec.frames[3].data["sender"]["username"] == "Viewer_Vic"
            assert listener.state.last_frame_at is not None
        assert not listener.state.connected and listener.state.reconnects == 0


async def test_answers_server_ping_with_pong():
    rec = Recorder()
    async with FakePusherServer() as server:
        async with running(make_listener(server, rec)):
            await server.wait_subscribed(5)
            await server.ping()
            await server.wait_for(lambda: server.pongs_received == 1)
        assert rec.frames == []  # protocol frames are not events


async def test_pings_after_activity_timeout_of_silence():
    rec = Recorder()
    async with FakePusherServer(activity_timeout=0.2) as server:
        listener = make_listener(server, rec)
        async with running(listener):
            await server.wait_subscribed(5)
            await server.wait_for(lambda: server.pings_received >= 2)
        assert server.connections_count == 1  # pongs came back: no reconnect


async def test_reconnects_when_no_pong_comes_back():
    rec = Recorder()
    async with FakePusherServer(activity_timeout=0.2, answer_pings=False) as server:
        listener = make_listener(server, rec, pong_timeout_s=0.2)
        async with running(listener):
            await server.wait_for(lambda: server.connections_count >= 2)
            await server.wait_subscribed(5, connections=2)
        assert listener.state.reconnects >= 1


async def test_drop_mid_stream_reconnects_resubscribes_and_delivers_each_frame_once():
    rec = Recorder()
    async with FakePusherServer() as server:
        listener = make_listener(server, rec)
        async with running(listener):
            await server.wait_subscribed(5)
            await server.send(numbered(1))
            await rec.wait_frames(1)
            await server.drop()
            await server.wait_subscribed(5, connections=2)
            assert server.subscriptions[1] == CHANNELS
            await until(lambda: listener.state.subscribed == set(CHANNELS))
            for n in range(2, 7):
                await server.send(numbered(n))
            await rec.wait_frames(6)
            await asyncio.sleep(0.05)
            assert rec.ids() == [1, 2, 3, 4, 5, 6]
            assert listener.state.reconnects == 1 and listener.state.connects == 2
            assert rec.delays == [0.01]  # first backoff step


async def test_error_4200_reconnects_immediately():
    rec = Recorder()
    async with FakePusherServer() as server:
        listener = make_listener(server, rec)
        async with running(listener):
            await server.wait_subscribed(5)
            await server.send_error(4200, "Please reconnect immediately")
            await server.wait_subscribed(5, connections=2)
            await server.send(numbered(9))
            await rec.wait_frames(1)
        assert rec.delays == [] and listener.state.reconnects == 1
        assert rec.ids() == [9]


async def test_error_4100_backs_off():
    rec = Recorder()
    async with FakePusherServer() as server:
        listener = make_listener(server, rec)
        async with running(listener):
            await server.wait_subscribed(5)
            await server.send_error(4100, "Over capacity")
            await server.wait_subscribed(5, connections=2)
        assert rec.delays == [0.01]


async def test_error_4001_stops_the_listener(caplog):
    rec = Recorder()
    async with FakePusherServer() as server:
        listener = make_listener(server, rec)
        stop = asyncio.Event()
        task = asyncio.create_task(listener.run(stop))
        await server.wait_subscribed(5)
        with caplog.at_level(logging.ERROR, logger="botworker.kick.pusher"):
            await server.send_error(4001, "App does not exist")
            await asyncio.wait_for(task, 2)  # run returned without stop being set
        assert listener.state.fatal and server.connections_count == 1
        assert any("4001" in r.getMessage() for r in caplog.records)


async def test_close_code_4200_also_reconnects_now():
    rec = Recorder()
    async with FakePusherServer() as server:
        listener = make_listener(server, rec)
        async with running(listener):
            await server.wait_subscribed(5)
            await server.close_with(4200, "reconnect")
            await server.wait_subscribed(5, connections=2)
        assert rec.delays == []


async def test_codeless_error_keeps_the_connection():
    rec = Recorder()
    async with FakePusherServer() as server:
        async with running(make_listener(server, rec)):
            await server.wait_subscribed(5)
            await server.send_error(None, "Subscription to private channel refused")
            await server.send(numbered(1))
            await rec.wait_frames(1)
        assert server.connections_count == 1


async def test_junk_frame_is_skipped_and_logged_without_content(caplog):
    rec = Recorder()
    async with FakePusherServer() as server:
        listener = make_listener(server, rec)
        async with running(listener):
            await server.wait_subscribed(5)
            with caplog.at_level(logging.DEBUG, logger="botworker.kick"):
                await server.send("not json at all SECRET-CONTENT {{{")
                await server.send('{"event": "App\\\\Events\\\\ChatMessageEvent", "data": "[SECRET-LIST]"}')
                await server.send(numbered(1))
                await rec.wait_frames(1)
        assert rec.ids() == [1] and listener.state.junk_frames == 2
        assert server.connections_count == 1
        logged = " ".join(r.getMessage() for r in caplog.records)
        assert "junk frame" in logged and "SECRET" not in logged


async def test_handler_exception_does_not_kill_the_listener(caplog):
    rec = Recorder()
    rec.fail_on = {"App\\Events\\Boom"}
    async with FakePusherServer() as server:
        listener = make_listener(server, rec)
        async with running(listener):
            await server.wait_subscribed(5)
            with caplog.at_level(logging.ERROR, logger="botworker.kick.pusher"):
                await server.send({"event": "App\\Events\\Boom", "channel": CHANNELS[0], "data": {}})
                await server.send(numbered(2))
                await rec.wait_frames(1)
        assert rec.ids() == [2] and listener.state.handler_errors == 1
        assert server.connections_count == 1


async def test_unreachable_server_backs_off_until_stopped():
    rec = Recorder()
    async with FakePusherServer() as server:
        url = server.url
    listener = PusherListener(
        url, CHANNELS, rec.on_event, sleep=rec.sleep, jitter=lambda d: d, backoff_base_s=0.01
    )
    stop = asyncio.Event()
    task = asyncio.create_task(listener.run(stop))
    await until(lambda: len(rec.delays) >= 4)
    stop.set()
    await asyncio.wait_for(task, 2)
    assert rec.delays[:4] == [0.01, 0.02, 0.04, 0.08]
    assert not listener.state.connected


async def test_stop_closes_promptly_while_waiting_for_frames():
    rec = Recorder()
    async with FakePusherServer() as server:
        listener = make_listener(server, rec)
        stop = asyncio.Event()
        task = asyncio.create_task(listener.run(stop))
        await server.wait_subscribed(5)
        stop.set()
        await asyncio.wait_for(task, 1)
        await server.wait_for(lambda: server.open_connections == 0)
