"""A Pusher-protocol websocket server on 127.0.0.1 that behaves like Kick's (ws-us2.pusher.com).

async with FakePusherServer() as server:
    listener = PusherListener(server.url, channels, on_event)
    ...
    await server.wait_subscribed(5)
    await server.send({"event": "App\\\\Events\\\\ChatMessageEvent", "channel": ..., "data": {...}})
    await server.drop()            # abrupt TCP close, no close frame
    await server.send_error(4200)  # "please reconnect immediately"
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from typing import Any

from websockets.asyncio.server import Server, ServerConnection, serve
from websockets.exceptions import ConnectionClosed


def encode_frame(frame: dict[str, Any] | str) -> str:
    """A dict frame with an object ``data`` gets its data JSON-encoded, as Pusher does."""
    if isinstance(frame, str):
        return frame
    frame = dict(frame)
    if isinstance(frame.get("data"), dict | list):
        frame["data"] = json.dumps(frame["data"])
    return json.dumps(frame)


class FakePusherServer:
    def __init__(
        self,
        *,
        app_key: str = "testkey",
        activity_timeout: int | float = 120,
        answer_pings: bool = True,
        send_established: bool = True,
    ) -> None:
        self.app_key = app_key
        self.activity_timeout = activity_timeout
        self.answer_pings = answer_pings
        self.send_established = send_established
        self._server: Server | None = None
        self._open: list[ServerConnection] = []
        self.connections_count = 0  # connections ever accepted
        self.subscriptions: list[list[str]] = []  # per accepted connection, in order
        self.received: list[dict[str, Any]] = []  # every parsed client frame
        self.pings_received = 0
        self.pongs_received = 0
        self.origins: list[str | None] = []
        self.paths: list[str] = []

    # ------------------------------------------------------------------ lifecycle

    async def __aenter__(self) -> FakePusherServer:
        self._server = await serve(self._handler, "127.0.0.1", 0, ping_interval=None, compression=None)
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self._server is not None
        self._server.close()
        await self._server.wait_closed()

    @property
    def port(self) -> int:
        assert self._server is not None
        return int(self._server.sockets[0].getsockname()[1])

    @property
    def url(self) -> str:
        return (
            f"ws://127.0.0.1:{self.port}/app/{self.app_key}"
            "?protocol=7&client=js&version=8.4.0-rc2&flash=false"
        )

    @property
    def open_connections(self) -> int:
        return len(self._open)

    # ------------------------------------------------------------------ server behaviour

    async def _handler(self, ws: ServerConnection) -> None:
        index = self.connections_count
        self.connections_count += 1
        self.subscriptions.append([])
        self.origins.append(ws.request.headers.get("Origin") if ws.request else None)
        self.paths.append(ws.request.path if ws.request else "")
        self._open.append(ws)
        try:
            if self.send_established:
                await ws.send(
                    encode_frame(
                        {
                            "event": "pusher:connection_established",
                            "data": {
                                "socket_id": f"{index + 1}.{4242 + index}",
                                "activity_timeout": self.activity_timeout,
                            },
                        }
                    )
                )
            async for raw in ws:
                msg = json.loads(raw)
                self.received.append(msg)
                event, data = msg.get("event"), msg.get("data") or {}
                if event == "pusher:subscribe":
                    self.subscriptions[index].append(data["channel"])
                    await ws.send(
                        encode_frame(
                            {
                                "event": "pusher_internal:subscription_succeeded",
                                "channel": data["channel"],
                                "data": "{}",
                            }
                        )
                    )
                elif event == "pusher:unsubscribe":
                    self.subscriptions[index].remove(data["channel"])
                elif event == "pusher:ping":
                    self.pings_received += 1
                    if self.answer_pings:
                        await ws.send(encode_frame({"event": "pusher:pong", "data": {}}))
                elif event == "pusher:pong":
                    self.pongs_received += 1
        except ConnectionClosed:
            pass
        finally:
            self._open.remove(ws)

    # ------------------------------------------------------------------ test controls

    async def send(self, frame: dict[str, Any] | str) -> None:
        """Send one frame to every open connection."""
        text = encode_frame(frame)
        for ws in list(self._open):
            try:
                await ws.send(text)
            except ConnectionClosed:
                pass

    async def send_error(self, code: int | None, message: str = "error") -> None:
        await self.send({"event": "pusher:error", "data": {"code": code, "message": message}})

    async def ping(self) -> None:
        await self.send({"event": "pusher:ping", "data": {}})

    async def drop(self) -> None:
        """Close every connection abruptly (TCP reset, no close frame)."""
        dropped = list(self._open)
        for ws in dropped:
            ws.transport.abort()
        # clients may already be back: wait only for the dropped connections to be gone
        await self.wait_for(lambda: not any(ws in self._open for ws in dropped))

    async def close_with(self, code: int, reason: str = "") -> None:
        """Close every connection cleanly with a websocket close code."""
        for ws in list(self._open):
            await ws.close(code, reason)

    async def wait_for(self, predicate: Callable[[], bool], within_s: float = 2.0) -> None:
        """Poll ``predicate`` until true; TimeoutError after ``within_s`` seconds."""
        async with asyncio.timeout(within_s):
            while not predicate():  # noqa: ASYNC110 - polling test state is simplest here
                await asyncio.sleep(0.01)

    async def wait_subscribed(
        self, n_channels: int, *, connections: int | None = None, within_s: float = 2.0
    ) -> None:
        """Wait until connection number ``connections`` (default: at least one) has ``n_channels``."""
        want = connections or 1

        def done() -> bool:
            return (
                self.connections_count >= want
                and bool(self._open)
                and len(self.subscriptions[want - 1 if connections else -1]) >= n_channels
            )

        await self.wait_for(done, within_s)
