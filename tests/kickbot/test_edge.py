"""The ASGI edge: the client address behind trusted proxies, and the body limit on any ASGI server."""

from __future__ import annotations

from typing import Any

import pytest

from kickbot.edge import (
    WEBHOOK_BODY_MAX_BYTES,
    BodyLimitMiddleware,
    ForwardedClientMiddleware,
    body_limit_for,
    forwarded_client,
)


@pytest.mark.parametrize(
    ("forwarded_for", "hops", "client"),
    [
        ([], 0, "10.0.0.2"),  # no proxy: the peer
        (["6.6.6.6"], 0, "10.0.0.2"),  # no proxy: a client's header is ignored
        (["203.0.113.9"], 1, "203.0.113.9"),  # Caddy replaced the header with what it saw
        (["6.6.6.6, 203.0.113.9"], 1, "203.0.113.9"),  # a proxy that appends: the spoof is ignored
        (["6.6.6.6", "203.0.113.9"], 1, "203.0.113.9"),  # the same over two header lines
        (["6.6.6.6, 203.0.113.9, 198.51.100.1"], 2, "203.0.113.9"),  # CDN, then Caddy
        ([], 1, "10.0.0.2"),  # not through the proxy (a health check inside the network)
        (["203.0.113.9"], 2, "10.0.0.2"),  # fewer entries than hops
        (["6.6.6.6, <script>"], 1, "10.0.0.2"),  # junk is never an address
        (["2001:db8::1"], 1, "2001:db8::1"),
    ],
)
def test_forwarded_client(forwarded_for: list[str], hops: int, client: str) -> None:
    assert forwarded_client("10.0.0.2", forwarded_for, hops) == client


def test_the_webhook_limit_is_its_own() -> None:
    assert body_limit_for("/webhooks/kick/") == WEBHOOK_BODY_MAX_BYTES < body_limit_for("/dashboard/")


class Recorder:
    """An ASGI app that reads the whole body, then answers 200 with what it saw."""

    def __init__(self) -> None:
        self.scope: dict[str, Any] = {}
        self.body = b""
        self.disconnected = False

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        self.scope = scope
        if scope["type"] == "http":
            while True:
                message = await receive()
                if message["type"] == "http.disconnect":
                    self.disconnected = True
                    return
                self.body += message.get("body", b"")
                if not message.get("more_body"):
                    break
            await send({"type": "http.response.start", "status": 200, "headers": []})
            await send({"type": "http.response.body", "body": b"ok"})


def http_scope(path: str = "/dashboard/", headers: list[tuple[bytes, bytes]] | None = None) -> dict[str, Any]:
    return {"type": "http", "path": path, "headers": headers or [], "client": ("10.0.0.2", 5555)}


async def run(app: Any, scope: dict[str, Any], chunks: list[bytes]) -> list[dict[str, Any]]:
    messages = [
        {"type": "http.request", "body": c, "more_body": i < len(chunks) - 1} for i, c in enumerate(chunks)
    ]
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return messages.pop(0) if messages else {"type": "http.disconnect"}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    await app(scope, receive, send)
    return sent


async def test_forwarded_client_middleware_sets_the_scope_client(settings: Any) -> None:
    settings.TRUSTED_PROXY_HOPS = 1
    inner = Recorder()
    await run(
        ForwardedClientMiddleware(inner),
        http_scope(headers=[(b"x-forwarded-for", b"6.6.6.6, 203.0.113.9")]),
        [b""],
    )
    assert inner.scope["client"] == ("203.0.113.9", 5555)


async def test_forwarded_client_middleware_does_nothing_without_trusted_hops(settings: Any) -> None:
    settings.TRUSTED_PROXY_HOPS = 0
    inner = Recorder()
    await run(ForwardedClientMiddleware(inner), http_scope(headers=[(b"x-forwarded-for", b"6.6.6.6")]), [b""])
    assert inner.scope["client"] == ("10.0.0.2", 5555)


async def test_a_declared_length_over_the_limit_is_refused_without_reading(settings: Any) -> None:
    inner = Recorder()
    length = str(settings.REQUEST_BODY_MAX_BYTES + 1).encode()
    sent = await run(BodyLimitMiddleware(inner), http_scope(headers=[(b"content-length", length)]), [b"x"])
    assert sent[0]["status"] == 413 and inner.scope == {}


async def test_a_streamed_body_over_the_limit_is_refused_and_the_app_sees_a_disconnect() -> None:
    inner = Recorder()
    chunk = b"x" * (64 * 1024)
    sent = await run(BodyLimitMiddleware(inner), http_scope("/webhooks/kick/"), [chunk] * 5)
    assert [m.get("status") for m in sent if m["type"] == "http.response.start"] == [413]
    assert inner.disconnected and len(inner.body) <= WEBHOOK_BODY_MAX_BYTES


async def test_a_body_within_the_limit_passes() -> None:
    inner = Recorder()
    sent = await run(BodyLimitMiddleware(inner), http_scope("/webhooks/kick/"), [b"{", b"}"])
    assert sent[0]["status"] == 200 and inner.body == b"{}"
