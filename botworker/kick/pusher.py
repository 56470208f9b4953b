"""The Kick Pusher listener: one websocket, every channel of one streamer, reconnecting forever.

Pusher protocol 7 as Kick's website speaks it: wait for ``pusher:connection_established``
(its ``activity_timeout``), subscribe every channel, answer ``pusher:ping``, send our own
``pusher:ping`` after ``activity_timeout`` of silence and reconnect if no frame comes back within
``pong_timeout_s``. ``pusher:error`` (or a close code) 4000-4099 stops the listener (same
settings would fail again), 4100-4199 backs off, 4200-4299 reconnects at once. Any other drop
reconnects with full-jitter exponential backoff capped at ``backoff_cap_s``.

Frames go to ``on_event`` one at a time, in order; keep it quick (enqueue the work). A junk
frame or an ``on_event`` failure is logged (event name and size only, never content) and
skipped. Only one listener per channel may run: hold an
:class:`botworker.kick.lease.IngestionLease` around :meth:`PusherListener.run`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, Literal

import orjson
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, WebSocketException
from websockets.typing import Origin

from botworker.aio import sleep_unless_stopped
from kickbot.integrations.kick.parsers import ParseError, PusherFrame, parse_pusher_frame

log = logging.getLogger(__name__)

KICK_PUSHER_KEY = "32cbd69e4b950bf97679"
KICK_PUSHER_URL = (
    f"wss://ws-us2.pusher.com/app/{KICK_PUSHER_KEY}?protocol=7&client=js&version=8.4.0-rc2&flash=false"
)
DEFAULT_ACTIVITY_TIMEOUT_S = 120.0

Outcome = Literal["stopped", "fatal", "backoff", "now"]


def channels_for(chatroom_id: int, channel_id: int) -> list[str]:
    """Every channel Kick spreads one streamer's events over (chatroom C, channel H)."""
    c, h = int(chatroom_id), int(channel_id)
    return [f"chatrooms.{c}.v2", f"chatroom_{c}", f"chatrooms.{c}", f"channel.{h}", f"channel_{h}"]


def classify_code(code: int | None) -> Outcome | None:
    """Pusher's error-code ranges → what to do; None when the code says nothing."""
    if code is None:
        return None
    if 4000 <= code <= 4099:
        return "fatal"
    if 4100 <= code <= 4199:
        return "backoff"
    if 4200 <= code <= 4299:
        return "now"
    return None


def full_jitter(delay: float) -> float:
    return random.uniform(0, delay)


@dataclass
class ListenerState:
    """What health checks read."""

    connected: bool = False
    socket_id: str | None = None
    last_frame_at: float | None = None  # clock() of the last frame of any kind
    connects: int = 0
    reconnects: int = 0
    subscribed: set[str] = field(default_factory=set)
    frames: int = 0
    junk_frames: int = 0
    handler_errors: int = 0
    last_error: str | None = None
    fatal: bool = False


class _Reconnect(Exception):
    def __init__(self, outcome: Outcome, why: str) -> None:
        super().__init__(why)
        self.outcome = outcome


class PusherListener:
    def __init__(
        self,
        url: str,
        channels: list[str],
        on_event: Callable[[PusherFrame], Awaitable[None]],
        *,
        origin: str = "https://kick.com",
        backoff_base_s: float = 1.0,
        backoff_cap_s: float = 30.0,
        jitter: Callable[[float], float] = full_jitter,
        pong_timeout_s: float = 30.0,
        open_timeout_s: float = 10.0,
        healthy_after_s: float = 30.0,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[Any]] = asyncio.sleep,
        proxy: str | None = None,
        on_reject: Callable[[], None] | None = None,
    ) -> None:
        if not channels:
            raise ValueError("PusherListener needs at least one channel")
        self.url = url
        self.channels = list(dict.fromkeys(channels))
        self.on_event = on_event
        self.origin = origin
        self.backoff_base_s = backoff_base_s
        self.backoff_cap_s = backoff_cap_s
        self.jitter = jitter
        self.pong_timeout_s = pong_timeout_s
        self.open_timeout_s = open_timeout_s
        self.healthy_after_s = healthy_after_s
        self.proxy = proxy
        self.on_reject = on_reject  # told of every frame refused here (junk, or on_event failed)
        self._clock = clock
        self._sleep = sleep
        self.state = ListenerState()

    def backoff_delay(self, attempt: int) -> float:
        """Delay before reconnect number ``attempt`` (0-based), jittered, capped."""
        return self.jitter(min(self.backoff_cap_s, self.backoff_base_s * (2**attempt)))

    async def run(self, stop: asyncio.Event) -> None:
        """Listen until ``stop`` is set or Kick says not to come back (4000-4099)."""
        attempt = 0
        while not stop.is_set():
            started = self._clock()
            outcome = await self._session_guarded(stop)
            if outcome == "stopped" or stop.is_set():
                break
            if outcome == "fatal":
                self.state.fatal = True
                log.error("kick pusher: giving up, server refused these settings (%s)", self.state.last_error)
                break
            if self._clock() - started >= self.healthy_after_s:
                attempt = 0  # the connection was good for a while: start backoff over
            if outcome == "now":
                delay = 0.0
            else:
                delay = self.backoff_delay(attempt)
                attempt += 1
            log.info("kick pusher: reconnecting in %.1fs (%s)", delay, self.state.last_error)
            if delay > 0 and await sleep_unless_stopped(self._sleep, delay, stop):
                break
            self.state.reconnects += 1

    # ------------------------------------------------------------------ one connection

    async def _session_guarded(self, stop: asyncio.Event) -> Outcome:
        try:
            return await self._session(stop)
        except _Reconnect as exc:
            self.state.last_error = str(exc)
            return exc.outcome
        except ConnectionClosed as exc:
            code = exc.rcvd.code if exc.rcvd is not None else None
            self.state.last_error = f"closed ({code})"
            return classify_code(code) or "backoff"
        except (OSError, TimeoutError, WebSocketException) as exc:
            self.state.last_error = type(exc).__name__
            log.warning("kick pusher: connection failed: %s", type(exc).__name__)
            return "backoff"
        finally:
            self.state.connected = False
            self.state.subscribed.clear()
            self.state.socket_id = None

    async def _session(self, stop: asyncio.Event) -> Outcome:
        async with connect(
            self.url,
            origin=Origin(self.origin),
            open_timeout=self.open_timeout_s,
            ping_interval=None,  # Pusher has its own ping; the server may not answer ws pings
            close_timeout=2,
            max_size=1_048_576,
            proxy=self.proxy,
        ) as ws:
            closer = asyncio.create_task(self._close_on(stop, ws))
            try:
                activity_timeout = await self._handshake(ws)
                for channel in self.channels:
                    await self._send(ws, "pusher:subscribe", {"auth": "", "channel": channel})
                return await self._receive(ws, stop, activity_timeout)
            finally:
                closer.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await closer

    async def _handshake(self, ws: ClientConnection) -> float:
        raw = await asyncio.wait_for(ws.recv(), timeout=self.open_timeout_s)
        self._touch()
        try:
            frame = parse_pusher_frame(raw)
        except ParseError as exc:
            raise _Reconnect("backoff", "bad first frame") from exc
        if frame.event == "pusher:error":
            self._raise_error(frame)
        if frame.event != "pusher:connection_established":
            raise _Reconnect("backoff", f"unexpected first frame {frame.event[:80]}")
        data = frame.data or {}
        timeout = data.get("activity_timeout")
        if isinstance(timeout, bool) or not isinstance(timeout, int | float) or timeout <= 0:
            timeout = DEFAULT_ACTIVITY_TIMEOUT_S
        self.state.connected = True
        self.state.connects += 1
        self.state.socket_id = str(data.get("socket_id") or "") or None
        log.info("kick pusher: connected, subscribing %d channels", len(self.channels))
        return min(float(timeout), DEFAULT_ACTIVITY_TIMEOUT_S)

    async def _receive(self, ws: ClientConnection, stop: asyncio.Event, activity_timeout: float) -> Outcome:
        ping_sent = False
        while True:
            try:
                raw = await asyncio.wait_for(
                    ws.recv(), timeout=self.pong_timeout_s if ping_sent else activity_timeout
                )
            except TimeoutError:
                if ping_sent:
                    raise _Reconnect("now", "no pong from server") from None
                await self._send(ws, "pusher:ping", {})
                ping_sent = True
                continue
            except ConnectionClosed:
                if stop.is_set():
                    return "stopped"
                raise
            ping_sent = False  # any frame proves the connection is alive
            self._touch()
            try:
                frame = parse_pusher_frame(raw)
            except ParseError as exc:
                self.state.junk_frames += 1
                self._rejected()
                log.warning("kick pusher: junk frame skipped (%d chars): %s", len(raw), exc)
                continue
            if frame.event.startswith(("pusher:", "pusher_internal:")):
                await self._protocol(ws, frame)
                continue
            # Kick's own event (chat, gifts, live...): straight to the pipeline.
            self.state.frames += 1
            try:
                await self.on_event(frame)
            except Exception:
                self.state.handler_errors += 1
                self._rejected()
                log.exception("kick pusher: handler failed on %s", frame.event[:80])

    async def _protocol(self, ws: ClientConnection, frame: PusherFrame) -> None:
        """Pusher's own frames: answer pings, note subscriptions, act on errors."""
        event = frame.event
        if event == "pusher:ping":
            await self._send(ws, "pusher:pong", {})
        elif event == "pusher_internal:subscription_succeeded":
            if frame.channel:
                self.state.subscribed.add(frame.channel)
        elif event == "pusher:error":
            self._raise_error(frame)
        # else: pong, a second connection_established, member events

    def _rejected(self) -> None:
        if self.on_reject is not None:
            self.on_reject()

    def _raise_error(self, frame: PusherFrame) -> None:
        data = frame.data or {}
        code = data.get("code")
        code = code if isinstance(code, int) and not isinstance(code, bool) else None
        outcome = classify_code(code)
        message = str(data.get("message") or "")[:200]
        if outcome is None:
            # Codeless errors (e.g. a refused subscription) do not end the connection.
            log.warning("kick pusher: error without code: %s", message)
            return
        raise _Reconnect(outcome, f"pusher:error {code} {message}")

    async def _send(self, ws: ClientConnection, event: str, data: dict[str, Any]) -> None:
        await ws.send(orjson.dumps({"event": event, "data": data}).decode())

    def _touch(self) -> None:
        self.state.last_frame_at = self._clock()

    async def _close_on(self, stop: asyncio.Event, ws: ClientConnection) -> None:
        await stop.wait()
        await ws.close()
