"""The web process's edge, before Django: who the client is behind our proxies, and how much it may send.

``ForwardedClientMiddleware`` sets the ASGI ``client`` (Django's ``REMOTE_ADDR``) to the address
the outermost trusted proxy saw: ``TRUSTED_PROXY_HOPS`` entries from the right of
X-Forwarded-For, because each proxy appends what it saw and everything further left was written
by the client. daphne's ``--proxy-headers`` takes the leftmost entry, which a client can spoof.

Bodies over the limit (``body_limit_for``) are refused with 413 in two places. daphne (Twisted)
reads a whole body before it calls the application, then queues all of it in memory for the
application: an ASGI guard alone sees a 1 GB body only once daphne holds it. So
``install_daphne_body_limit`` refuses while the body arrives (on Content-Length, then on the bytes
received), and ``BodyLimitMiddleware`` is the same rule for any ASGI server that streams. The
proxy (Caddyfile, ``request_body``) refuses them first. See docs/decisions/0009.
"""

from __future__ import annotations

import ipaddress
import logging
from typing import Any

from django.conf import settings

log = logging.getLogger(__name__)

WEBHOOK_BODY_MAX_BYTES = 256 * 1024
TOO_LARGE = b'{"detail": "body too large"}'

Scope = dict[str, Any]
Receive = Any
Send = Any


def body_limit_for(path: str) -> int:
    """Largest request body, in bytes, accepted for ``path`` (Kick webhooks are small)."""
    if path.startswith("/webhooks/"):
        return WEBHOOK_BODY_MAX_BYTES
    return int(settings.REQUEST_BODY_MAX_BYTES)


def forwarded_client(peer: str, forwarded_for: list[str], hops: int) -> str:
    """The client's address: ``peer`` with no trusted proxy, else what the outermost trusted one saw.

    A chain shorter than ``hops`` did not come through every proxy (a health check from inside the
    network): the peer is the client then. An entry that is not an IP address is never used.
    """
    if hops <= 0:
        return peer
    chain = [entry.strip() for value in forwarded_for for entry in value.split(",") if entry.strip()]
    if len(chain) < hops:
        return peer
    candidate = chain[-hops]
    try:
        return str(ipaddress.ip_address(candidate))
    except ValueError:
        return peer


def _header_values(scope: Scope, name: bytes) -> list[str]:
    return [value.decode("latin-1") for key, value in scope.get("headers", []) if key.lower() == name]


class ForwardedClientMiddleware:
    """Sets ``scope["client"]`` from X-Forwarded-For, trusting only ``TRUSTED_PROXY_HOPS`` entries."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        hops = int(settings.TRUSTED_PROXY_HOPS)
        if scope["type"] in {"http", "websocket"} and hops:
            peer, port = (scope.get("client") or ("", 0))[:2]
            client = forwarded_client(str(peer), _header_values(scope, b"x-forwarded-for"), hops)
            scope = {**scope, "client": (client, port)}
        await self.app(scope, receive, send)


async def _refuse(send: Send) -> None:
    await send(
        {
            "type": "http.response.start",
            "status": 413,
            "headers": [(b"content-type", b"application/json"), (b"connection", b"close")],
        }
    )
    await send({"type": "http.response.body", "body": TOO_LARGE})


class BodyLimitMiddleware:
    """413 for a body over ``body_limit_for(path)``: on Content-Length before reading, else once it
    has streamed past the limit (the application then sees the client disconnect)."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = body_limit_for(scope["path"])
        for value in _header_values(scope, b"content-length"):
            if value.strip().isdigit() and int(value) > limit:
                log.warning("refused a %s-byte body for %s (limit %s)", value.strip(), scope["path"], limit)
                await _refuse(send)
                return
        state = {"received": 0, "started": False, "refused": False}

        async def limited_receive() -> dict[str, Any]:
            message: dict[str, Any] = await receive()
            if message["type"] == "http.request":
                state["received"] += len(message.get("body", b""))
                if state["received"] > limit:
                    if not state["started"]:
                        log.warning("refused a streamed body over %s bytes for %s", limit, scope["path"])
                        state["refused"] = True
                        await _refuse(send)
                    return {"type": "http.disconnect"}
            return message

        async def guarded_send(message: dict[str, Any]) -> None:
            if state["refused"]:
                return  # the 413 is the answer
            if message["type"] == "http.response.start":
                state["started"] = True
            await send(message)

        await self.app(scope, limited_receive, guarded_send)


def install_daphne_body_limit() -> None:
    """Make daphne refuse a body over the limit while it arrives, not after buffering all of it.

    daphne builds each request from ``daphne.http_protocol.WebRequest`` (looked up per connection),
    so the subclass installed here takes effect for every connection. Idempotent.
    """
    from daphne import http_protocol

    base = http_protocol.WebRequest
    if getattr(base, "kickbot_body_limit", False):
        return

    class BodyLimitedWebRequest(base):  # type: ignore[misc, valid-type]
        kickbot_body_limit = True
        _limit = 0
        _received = 0
        _refused = False

        def gotLength(self, length: int | None) -> None:
            path = bytes(getattr(self.channel, "_path", b"/")).split(b"?", 1)[0]
            self._limit = body_limit_for(path.decode("latin-1"))
            if length is not None and length > self._limit:
                super().gotLength(0)
                # Twisted answers "Expect: 100-continue" right after this; the 413 is the answer.
                self.requestHeaders.removeHeader(b"Expect")
                self._refuse(path)
                return
            super().gotLength(length)

        def handleContentChunk(self, data: bytes) -> None:
            if self._refused:
                return
            self._received += len(data)
            if self._received > self._limit:
                self._refuse(bytes(getattr(self.channel, "_path", b"/")).split(b"?", 1)[0])
                return
            super().handleContentChunk(data)

        def process(self) -> Any:
            if self._refused:
                return None  # the rest of a refused body arrived in the same read: no second answer
            return super().process()

        def _refuse(self, path: bytes) -> None:
            self._refused = True
            log.warning("refused a request body over %s bytes for %s", self._limit, path.decode("latin-1"))
            self.channel.transport.write(
                b"HTTP/1.1 413 Content Too Large\r\ncontent-type: application/json\r\n"
                b"content-length: %d\r\nconnection: close\r\n\r\n%s" % (len(TOO_LARGE), TOO_LARGE)
            )
            self.channel.loseConnection()

    http_protocol.WebRequest = BodyLimitedWebRequest
