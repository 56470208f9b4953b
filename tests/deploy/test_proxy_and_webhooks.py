"""Behind the proxy, against the real daphne process (production mode, ``--proxy-headers``, one
trusted hop): spoofed X-Forwarded-For entries neither hide nor change the client, and an unsigned
flood never costs a genuine signed Kick delivery from the same address."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from datetime import UTC, datetime

import httpx
import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding

from tests.kickbot.test_webhooks import KEY, PEM
from tests.webprocess import WebProcess, web_process

pytestmark = pytest.mark.slow

LIMIT = 10
BROADCASTER = 4242
PROXY_SAW = "203.0.113.9"  # what Caddy appends: the address it accepted the connection from


@pytest.fixture(scope="module")
def web(tmp_path_factory: pytest.TempPathFactory) -> Iterator[WebProcess]:
    with web_process(
        tmp_path_factory.mktemp("proxy"),
        static=False,
        TRUSTED_PROXY_HOPS="1",
        KICK_WEBHOOK_PUBLIC_KEY=PEM,
        KICK_WEBHOOK_RATE_LIMIT_PER_MINUTE=str(LIMIT),
        KICK_CHANNEL="proxytest",
        KICK_BROADCASTER_USER_ID=str(BROADCASTER),
    ) as web:
        web.manage("bootstrap")
        yield web


def via_proxy(forwarded_for: str) -> dict[str, str]:
    return {"X-Forwarded-Proto": "https", "X-Forwarded-For": forwarded_for}


def forged(web: WebProcess, forwarded_for: str) -> int:
    """A delivery with every Kick header but a signature Kick never made."""
    timestamp = datetime.now(UTC).isoformat().replace("+00:00", "Z")
    headers = {
        **via_proxy(forwarded_for),
        "Content-Type": "application/json",
        "Kick-Event-Message-Id": "01JFORGED",
        "Kick-Event-Message-Timestamp": timestamp,
        "Kick-Event-Signature": base64.b64encode(b"forged" * 40).decode(),
        "Kick-Event-Type": "chat.message.sent",
    }
    response = httpx.post(f"{web.base_url}/webhooks/kick/", content=b"{}", headers=headers, timeout=30)
    return response.status_code


def signed(web: WebProcess, forwarded_for: str, message_id: str) -> httpx.Response:
    body = json.dumps(
        {
            "message_id": message_id,
            "broadcaster": {"user_id": BROADCASTER, "username": "s", "channel_slug": "proxytest"},
            "sender": {"user_id": 55, "username": "v", "channel_slug": "v", "identity": {"badges": []}},
            "content": "hello",
            "emotes": [],
            "created_at": datetime.now(UTC).isoformat(),
        }
    ).encode()
    timestamp = datetime.now(UTC).isoformat().replace("+00:00", "Z")
    signature = KEY.sign(f"{message_id}.{timestamp}.".encode() + body, padding.PKCS1v15(), hashes.SHA256())
    headers = {
        **via_proxy(forwarded_for),
        "Content-Type": "application/json",
        "Kick-Event-Message-Id": message_id,
        "Kick-Event-Message-Timestamp": timestamp,
        "Kick-Event-Signature": base64.b64encode(signature).decode(),
        "Kick-Event-Type": "chat.message.sent",
        "Kick-Event-Version": "1",
        "Kick-Event-Subscription-Id": "sub-1",
    }
    return httpx.post(f"{web.base_url}/webhooks/kick/", content=body, headers=headers, timeout=30)


def test_a_spoofed_forwarded_for_entry_is_not_the_client(web: WebProcess) -> None:
    assert forged(web, "6.6.6.6, 192.0.2.50") == 403
    assert "bad signature from 192.0.2.50" in web.output()
    assert "from 6.6.6.6" not in web.output()


def test_rotating_spoofed_entries_do_not_escape_the_limit_and_a_genuine_delivery_still_lands(
    web: WebProcess,
) -> None:
    statuses = [forged(web, f"6.6.6.{n}, {PROXY_SAW}") for n in range(LIMIT + 5)]
    assert statuses == [403] * LIMIT + [429] * 5
    # Another client behind the same proxy is not affected by the flood.
    assert forged(web, "198.51.100.4") == 403
    # Kick's genuine delivery from the flooded address: accepted and queued, not 429.
    response = signed(web, PROXY_SAW, "01JPROXYGENUINE0000000001")
    assert response.status_code == 200 and response.json() == {"detail": "queued"}
