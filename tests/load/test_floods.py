"""Floods through the real bot process (make load): chat, webhooks, one spamming viewer.

Bounded: LOAD_CHAT_RATE (5000/s) for LOAD_CHAT_SECONDS (60 s); 2,000 webhook deliveries.
"""

from __future__ import annotations

import base64
import json
import math
import os
import subprocess
import time
from datetime import UTC, datetime

import httpx
import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from tests.fakes.kick_chat import BROADCASTER, chat_frame
from tests.faults.harness import RESULTS, ROOT, Row, RssSampler, World, wait_for

pytestmark = [pytest.mark.load, pytest.mark.django_db(transaction=False, databases=[])]

RATE = int(os.environ.get("LOAD_CHAT_RATE", "5000"))
SECONDS = int(os.environ.get("LOAD_CHAT_SECONDS", "60"))
CHAT_RATE_LIMIT, CHAT_BURST = 1.0, 2  # KickIngestion's defaults for outbound Kick chat


def ingested(world: World) -> int:
    raw = world.redis().hget(f"{world.prefix}:ingest:{world.community_id}", "events")
    return int(raw or 0)


def test_chat_flood_memory_bounded_and_lag_recovers(world: World) -> None:
    bot = world.start_bot("flood")
    wait_for(lambda: world.pusher.subscribed_connections() == 1, 60)
    time.sleep(1)
    rss = RssSampler(bot.pid)
    total = RATE * SECONDS
    frames = [
        chat_frame(f"f-{i}", 100_000 + i % 20_000, f"viewer{i % 20_000}", f"line {i}") for i in range(total)
    ]
    start = time.monotonic()
    world.pusher.send_many(frames, per_second=RATE)
    sent_for = time.monotonic() - start
    done_at = time.monotonic()
    recovery = wait_for(lambda: ingested(world) >= total, 120, step=0.2)
    handled = ingested(world)
    peak = rss.stop()
    RESULTS.append(
        Row(
            f"chat flood {RATE}/s x {SECONDS} s (sent in {sent_for:.0f} s)",
            total,
            handled,
            total - handled,
            0,
            recovery,
            peak,
        )
    )
    assert handled == total
    assert recovery < 5, f"lag took {recovery:.1f} s to recover after the flood ended at {done_at}"
    assert peak < 600


def _sign(key: rsa.RSAPrivateKey, message_id: str, timestamp: str, body: bytes) -> str:
    return base64.b64encode(
        key.sign(f"{message_id}.{timestamp}.".encode() + body, padding.PKCS1v15(), hashes.SHA256())
    ).decode()


def test_webhook_flood_refuses_every_bad_signature_and_handles_every_good_one_once(
    world: World, tmp_path: object
) -> None:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    wrong = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = (
        key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )
    extra = {
        **world.extra_env,
        "KICK_WEBHOOK_PUBLIC_KEY": pem,
        "KICK_WEBHOOK_RATE_LIMIT_PER_MINUTE": "100000",
    }
    port = _free_port()
    web = subprocess.Popen(
        [
            str(ROOT / ".venv" / "bin" / "daphne"),
            "-e",
            f"tcp:port={port}:interface=127.0.0.1",
            "kickbot.asgi:application",
        ],
        cwd=ROOT,
        env=world.env(**extra),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    world.procs.append(web)
    bot = world.start_bot("webhooks")
    wait_for(lambda: world.pusher.subscribed_connections() == 1, 60)
    base = f"http://127.0.0.1:{port}"
    wait_for(lambda: _up(base), 30, step=0.3)
    rss = RssSampler(bot.pid)
    n = 2000
    statuses: dict[str, list[int]] = {"good": [], "bad": []}
    with httpx.Client(base_url=base, timeout=10) as client:
        for i in range(n):
            bad = i % 10 == 0
            mid = f"01JFLOOD{i:018d}"
            ts = datetime.now(UTC).isoformat().replace("+00:00", "Z")
            body = json.dumps(
                {
                    "message_id": f"wh-{i}",
                    "broadcaster": {"user_id": BROADCASTER, "username": "s", "channel_slug": "s"},
                    "sender": {
                        "user_id": 300_000 + i,
                        "username": f"w{i}",
                        "channel_slug": f"w{i}",
                        "identity": {"badges": []},
                    },
                    "content": f"webhook line {i}",
                    "emotes": [],
                    "created_at": ts,
                }
            ).encode()
            response = client.post(
                "/webhooks/kick/",
                content=body,
                headers={
                    "Content-Type": "application/json",
                    "Kick-Event-Message-Id": mid,
                    "Kick-Event-Message-Timestamp": ts,
                    "Kick-Event-Signature": _sign(wrong if bad else key, mid, ts, body),
                    "Kick-Event-Type": "chat.message.sent",
                    "Kick-Event-Version": "1",
                },
            )
            statuses["bad" if bad else "good"].append(response.status_code)
    good = n - n // 10
    start = time.monotonic()
    wait_for(lambda: ingested(world) >= good, 60, step=0.2)
    time.sleep(2)
    handled = ingested(world)
    RESULTS.append(
        Row(
            "webhook flood 2000, 10 % bad signatures",
            n,
            handled + statuses["bad"].count(403),
            good - min(handled, good),
            max(0, handled - good),
            time.monotonic() - start,
            rss.stop(),
        )
    )
    assert set(statuses["bad"]) == {403}
    assert set(statuses["good"]) == {200}
    assert handled == good


def _free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _up(base: str) -> bool:
    try:
        return httpx.get(f"{base}/terms/", timeout=1).status_code == 200
    except httpx.HTTPError:
        return False


def test_one_viewer_spamming_commands_hits_the_cooldown_and_chat_stays_under_its_rate(world: World) -> None:
    bot = world.start_bot("spam")
    wait_for(lambda: world.pusher.subscribed_connections() == 1, 60)
    rss = RssSampler(bot.pid)
    spam = [chat_frame(f"spam-{i}", 424_242, "spammer", "!tickets") for i in range(300)]
    others = [chat_frame(f"other-{i}", 500_000 + i, f"other{i}", "!tickets") for i in range(8)]
    start = time.monotonic()
    world.pusher.send_many(spam[:150] + others + spam[150:], per_second=30)  # ~10 s
    elapsed = time.monotonic() - start
    wait_for(lambda: len(world.kick.fake.chat) >= 9, 60, step=0.5)
    time.sleep(3)
    replies = world.report()["reply_to"]
    spam_replies = sum(n for k, n in replies.items() if k.startswith("spam-"))
    allowed = math.ceil(elapsed / 10) + 1  # !tickets: 10 s per-viewer cooldown
    times = sorted(world.kick.chat_times)
    worst = max(
        (sum(1 for t in times if a <= t < a + w) - (CHAT_BURST + CHAT_RATE_LIMIT * w))
        for a in times
        for w in (1.0, 5.0, 10.0)
    )
    RESULTS.append(
        Row("one viewer spams 300 commands (+8 others)", 308, spam_replies + 8, 0, 0, None, rss.stop())
    )
    assert spam_replies <= allowed
    assert all(replies.get(f"other-{i}") == 1 for i in range(8))
    assert worst <= 0, "outbound Kick chat went over its rate"
