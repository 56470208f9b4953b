"""Real processes on loopback for the fault and load suites: a fake Kick (HTTP + Pusher), runbot.

Everything is bounded: every wait has a deadline, every process is killed at the end.
"""

from __future__ import annotations

import asyncio
import json
import os
import secrets
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import psutil
import redis

from tests.fakes.kick_api import FakeKick
from tests.fakes.kick_pusher import FakePusherServer

ROOT = Path(__file__).resolve().parents[2]
PYTHON = str(ROOT / ".venv" / "bin" / "python")
REDIS_URL = os.environ.get("FAULTS_REDIS_URL", "redis://127.0.0.1:6379/13")


class FakeKickHttp:
    """The stateful FakeKick (OAuth + public API) served over real HTTP on 127.0.0.1."""

    def __init__(self) -> None:
        self.fake = FakeKick()
        self.lock = threading.Lock()
        self.chat_times: list[float] = []
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def _any(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                request = httpx.Request(
                    self.command,
                    f"http://127.0.0.1:{outer.port}{self.path}",
                    headers=dict(self.headers.items()),
                    content=body,
                )
                with outer.lock:
                    response = outer.fake.handle(request)
                    if request.url.path == "/public/v1/chat" and response.status_code == 200:
                        outer.chat_times.append(time.monotonic())
                self.send_response(response.status_code)
                self.send_header("Content-Type", response.headers.get("content-type", "application/json"))
                self.send_header("Content-Length", str(len(response.content)))
                self.end_headers()
                self.wfile.write(response.content)

            do_GET = do_POST = do_PATCH = do_DELETE = _any

            def log_message(self, *args: Any) -> None:
                return

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


class PusherThread:
    """FakePusherServer on its own event loop in a thread, driven from sync test code."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()
        self.server = FakePusherServer()
        self._call(self.server.__aenter__())

    def _call(self, coro: Any, timeout: float = 30) -> Any:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)

    @property
    def url(self) -> str:
        return self.server.url

    def send(self, frame: dict[str, Any] | str) -> None:
        self._call(self.server.send(frame))

    def send_many(self, frames: list[Any], per_second: float | None = None) -> None:
        async def go() -> None:
            start = time.monotonic()
            for i, frame in enumerate(frames):
                await self.server.send(frame)
                if per_second:
                    ahead = start + (i + 1) / per_second - time.monotonic()
                    if ahead > 0:
                        await asyncio.sleep(ahead)

        self._call(go(), timeout=600)

    def subscribed_connections(self) -> int:
        async def count() -> int:
            open_ids = {id(ws) for ws in self.server._open}
            return len(open_ids) if any(self.server.subscriptions[-1:]) else 0

        return int(self._call(count()))

    def close(self) -> None:
        self._call(self.server.__aexit__(None, None, None))
        self.loop.call_soon_threadsafe(self.loop.stop)


def wait_for(predicate: Callable[[], Any], within_s: float, step: float = 0.1) -> float:
    """Seconds it took; TimeoutError after ``within_s``."""
    start = time.monotonic()
    while True:
        if predicate():
            return time.monotonic() - start
        if time.monotonic() - start > within_s:
            raise TimeoutError(f"not within {within_s} s")
        time.sleep(step)


@dataclass
class World:
    """One isolated installation: var dir (SQLite), a Redis db + key prefix, fakes, processes."""

    tmp: Path
    kick: FakeKickHttp = field(default_factory=FakeKickHttp)
    pusher: PusherThread = field(default_factory=PusherThread)
    prefix: str = field(default_factory=lambda: f"kbfault{secrets.token_hex(3)}")
    procs: list[subprocess.Popen[bytes]] = field(default_factory=list)
    community_id: int = 0

    def env(self, **extra: str) -> dict[str, str]:
        tokens = self.tokens
        env = {
            k: v
            for k, v in os.environ.items()
            if not k.startswith(("DJANGO_SETTINGS", "DATABASE_URL", "PYTEST"))
        }
        env.update(
            DJANGO_SETTINGS_MODULE="kickbot.settings",
            KICKBOT_VAR_DIR=str(self.tmp / "var"),
            DJANGO_SECRET_KEY="faults-secret-key-" + "x" * 40,
            REDIS_URL=REDIS_URL,
            REDIS_KEY_PREFIX=self.prefix,
            KICK_PUSHER_URL=self.pusher.url,
            KICK_API_BASE_URL=self.kick.url,
            KICK_OAUTH_BASE_URL=self.kick.url,
            KICK_CLIENT_ID="fault-client",
            KICK_CLIENT_SECRET="fault-client-secret",
            FAULT_ACCESS_TOKEN=tokens["access_token"],
            FAULT_REFRESH_TOKEN=tokens["refresh_token"],
            LOG_LEVEL="INFO",
            PYTHONUNBUFFERED="1",
        )
        env.pop("DISCORD_TOKEN", None)
        env.update(extra)
        return env

    def __post_init__(self) -> None:
        self.tokens = self.kick.fake.issue_tokens()
        if "FAULTS_DATABASE_URL" in os.environ:
            self.extra_env = {"DATABASE_URL": os.environ["FAULTS_DATABASE_URL"]}
        else:
            self.extra_env = {}

    def manage(self, *args: str, timeout: float = 120) -> str:
        out = subprocess.run(
            [PYTHON, "manage.py", *args],
            cwd=ROOT,
            env=self.env(**self.extra_env),
            capture_output=True,
            timeout=timeout,
            check=False,
        )
        if out.returncode:
            raise RuntimeError(out.stderr.decode()[-3000:])
        return out.stdout.decode()

    def shell(self, code: str) -> Any:
        lines = [ln for ln in self.manage("shell", "-c", code).splitlines() if ln.startswith("{")]
        return json.loads(lines[-1])

    def setup(self) -> None:
        self.manage("migrate", "--noinput", "-v", "0", timeout=300)
        self.community_id = int(self.shell("import tests.faults.world as w; w.setup()")["community_id"])

    def report(self) -> dict[str, Any]:
        return dict(self.shell("import tests.faults.world as w; w.report()"))

    def start_bot(self, name: str = "bot") -> subprocess.Popen[bytes]:
        log = open(self.tmp / f"{name}.log", "ab")
        proc = subprocess.Popen(
            [PYTHON, "manage.py", "runbot"], cwd=ROOT, env=self.env(**self.extra_env), stdout=log, stderr=log
        )
        self.procs.append(proc)
        return proc

    def redis(self) -> redis.Redis:
        return redis.Redis.from_url(REDIS_URL)

    def webhook(self, event_type: str, message_id: str, body: bytes) -> None:
        """What the web process does with a verified delivery: XADD to the community's stream."""
        self.redis().xadd(
            f"{self.prefix}:webhooks:{self.community_id}",
            {"type": event_type, "id": message_id, "body": body},
        )

    def close(self) -> None:
        for proc in self.procs:
            if proc.poll() is None:
                proc.send_signal(signal.SIGKILL)
                proc.wait(10)
        r = self.redis()
        keys = list(r.scan_iter(match=f"{self.prefix}*", count=1000))
        if keys:
            r.delete(*keys)
        self.pusher.close()
        self.kick.close()


class RssSampler:
    """Peak RSS (MB) of a process, sampled every 0.2 s in a thread."""

    def __init__(self, pid: int) -> None:
        self.pid, self.peak_mb, self._stop = pid, 0.0, threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self) -> None:
        try:
            proc = psutil.Process(self.pid)
            while not self._stop.is_set():
                self.peak_mb = max(self.peak_mb, proc.memory_info().rss / 2**20)
                time.sleep(0.2)
        except psutil.Error:
            return

    def stop(self) -> float:
        self._stop.set()
        return round(self.peak_mb, 1)


def kill9(proc: subprocess.Popen[bytes]) -> None:
    proc.send_signal(signal.SIGKILL)
    proc.wait(10)


@dataclass
class Row:
    scenario: str
    sent: int
    handled: int
    lost: int
    doubled: int
    recovery_s: float | None
    peak_rss_mb: float | None


RESULTS: list[Row] = []


def table(rows: list[Row]) -> str:
    head = "| scenario | events sent | handled | lost | doubled | recovery (s) | peak RSS (MB) |\n"
    head += "|---|---|---|---|---|---|---|\n"
    for r in rows:
        rec = "-" if r.recovery_s is None else f"{r.recovery_s:.1f}"
        rss = "-" if r.peak_rss_mb is None else f"{r.peak_rss_mb:.0f}"
        head += f"| {r.scenario} | {r.sent} | {r.handled} | {r.lost} | {r.doubled} | {rec} | {rss} |\n"
    return head


def iter_chunks(items: list[Any], n: int) -> Iterator[list[Any]]:
    for i in range(0, len(items), n):
        yield items[i : i + n]


_ = sys
