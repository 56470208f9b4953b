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
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import httpx
import psutil
import redis
from celery import Celery

from tests.fakes.kick_api import FakeKick
from tests.fakes.kick_pusher import FakePusherServer

ROOT = Path(__file__).resolve().parents[2]
PYTHON = str(ROOT / ".venv" / "bin" / "python")
BIN = ROOT / ".venv" / "bin"
REDIS_URL = os.environ.get("FAULTS_REDIS_URL", "redis://127.0.0.1:6379/13")
POSTGRES_SERVER = "postgres://postgres@127.0.0.1:5432/postgres"


def postgres_problem(server_url: str) -> str | None:
    """Why the Postgres server of ``server_url`` cannot be used (None: it can)."""
    import psycopg

    try:
        with psycopg.connect(_on_database(server_url, "postgres"), connect_timeout=3) as conn:
            conn.execute("SELECT 1")
    except psycopg.Error as exc:
        return str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return None


def _on_database(url: str, name: str) -> str:
    return urlunsplit(urlsplit(url)._replace(path=f"/{name}"))


@contextmanager
def throwaway_postgres(server_url: str) -> Iterator[str]:
    """A new database ``kickbot_faults_<hex>`` on the server of ``server_url``; dropped at the end
    (with whatever is still connected to it). Yields its URL."""
    import psycopg

    name = f"kickbot_faults_{secrets.token_hex(4)}"
    admin = _on_database(server_url, "postgres")
    with psycopg.connect(admin, autocommit=True, connect_timeout=5) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield _on_database(server_url, name)
    finally:
        with psycopg.connect(admin, autocommit=True, connect_timeout=5) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


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

        self.handler = Handler
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        self.running = False
        self.start()

    def start(self) -> None:
        """Serve (again, on the same port after :meth:`stop`)."""
        if self.running:
            return
        if self.server.socket.fileno() == -1:  # closed by stop(): bind the same port anew
            self.server = ThreadingHTTPServer(("127.0.0.1", self.port), self.handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()
        self.running = True

    def stop(self) -> None:
        """Kick's API gone: the port refuses connections until :meth:`start`."""
        if not self.running:
            return
        self.server.shutdown()
        self.server.server_close()
        self.running = False

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def close(self) -> None:
        self.stop()


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
    # Started in a session of their own (a Celery worker and its pool, daphne): killed as a group.
    groups: list[subprocess.Popen[bytes]] = field(default_factory=list)
    community_id: int = 0
    database_url: str | None = None  # None: SQLite under tmp/var (or FAULTS_DATABASE_URL)
    redis_url: str = REDIS_URL  # the suite's own Redis for tests outside the fault suite

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
            REDIS_URL=self.redis_url,
            REDIS_KEY_PREFIX=self.prefix,
            KICK_PUSHER_URL=self.pusher.url,
            KICK_API_BASE_URL=self.kick.url,
            KICK_OAUTH_BASE_URL=self.kick.url,
            KICK_CLIENT_ID="fault-client",
            KICK_CLIENT_SECRET="fault-client-secret",
            FAULT_ACCESS_TOKEN=tokens["access_token"],
            FAULT_REFRESH_TOKEN=tokens["refresh_token"],
            # Loopback only: a draw that comes due finds no beacon instead of reaching the internet.
            DRAND_URLS="http://127.0.0.1:9",
            LOG_LEVEL="INFO",
            PYTHONUNBUFFERED="1",
        )
        env.pop("DISCORD_TOKEN", None)
        env.update(extra)
        return env

    def __post_init__(self) -> None:
        self.tokens = self.kick.fake.issue_tokens()
        if self.database_url:
            self.extra_env = {"DATABASE_URL": self.database_url}
        elif "FAULTS_DATABASE_URL" in os.environ:
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

    def spawn(self, name: str, argv: list[str], **extra: str) -> subprocess.Popen[bytes]:
        """A process in a session of its own, output to ``<tmp>/<name>.log``; killed as a group."""
        log = open(self.tmp / f"{name}.log", "ab")
        proc = subprocess.Popen(
            argv,
            cwd=ROOT,
            env=self.env(**{**self.extra_env, **extra}),
            stdout=log,
            stderr=log,
            start_new_session=True,
        )
        self.groups.append(proc)
        return proc

    def start_worker(
        self, name: str = "worker", *, visibility_timeout: float | None = None, **extra: str
    ) -> subprocess.Popen[bytes]:
        """``celery worker`` (one pool process); ready once its log says so."""
        if visibility_timeout is not None:
            extra["FAULTS_VISIBILITY_TIMEOUT"] = str(visibility_timeout)
        proc = self.spawn(
            name,
            [
                str(BIN / "celery"),
                "-A",
                "tests.faults.celery_app",
                "worker",
                "--loglevel",
                "INFO",
                "--concurrency",
                "1",
                "--without-gossip",
                "--without-mingle",
                "-n",
                f"{name}@faults",
            ],
            **extra,
        )
        wait_for(lambda: " ready." in self.log(name) or proc.poll() is not None, 60, step=0.2)
        if proc.poll() is not None:
            raise RuntimeError(f"{name} exited: {self.log(name)[-3000:]}")
        return proc

    def start_web(self, name: str = "web", **extra: str) -> tuple[subprocess.Popen[bytes], str]:
        """daphne on a free loopback port; returns the process and its base URL once it answers."""
        port = free_port()
        proc = self.spawn(
            name,
            [str(BIN / "daphne"), "-e", f"tcp:port={port}:interface=127.0.0.1", "kickbot.asgi:application"],
            **extra,
        )
        base = f"http://127.0.0.1:{port}"
        wait_for(lambda: http_ok(f"{base}/terms/") or proc.poll() is not None, 60, step=0.3)
        if proc.poll() is not None:
            raise RuntimeError(f"{name} exited: {self.log(name)[-3000:]}")
        return proc, base

    def log(self, name: str) -> str:
        path = self.tmp / f"{name}.log"
        return path.read_text(errors="replace") if path.exists() else ""

    def send_task(self, name: str, **kwargs: Any) -> str:
        """Queue a task through the deployment's broker (what beat does); returns the task id."""
        app = Celery("faults", broker=self.redis_url, set_as_current=False)
        app.conf.broker_transport_options = {"global_keyprefix": f"{self.prefix}:celery:"}
        try:
            return str(app.send_task(name, kwargs=kwargs).id)
        finally:
            app.close()

    def writer_in(self, table: str) -> bool:
        """Whether a transaction that wrote ``table`` is open right now (that process is mid-write).

        Postgres: a granted ROW SHARE (``SELECT … FOR UPDATE``) or ROW EXCLUSIVE lock on the table
        held by another backend (both last until its transaction ends). SQLite (one writer at a
        time): the database's write lock is taken, and ``table`` is ignored.
        """
        url = self.extra_env.get("DATABASE_URL", "")
        if url.startswith("postgres"):
            import psycopg

            with psycopg.connect(url, autocommit=True) as conn:
                row = conn.execute(
                    "SELECT count(*) FROM pg_locks l JOIN pg_class c ON c.oid = l.relation "
                    "WHERE c.relname = %s AND l.mode IN ('RowShareLock', 'RowExclusiveLock') AND l.granted "
                    "AND l.pid <> pg_backend_pid()",
                    [table],
                ).fetchone()
                return bool(row and row[0])
        import sqlite3

        lite = sqlite3.connect(self.tmp / "var" / "db.sqlite3", timeout=0, isolation_level=None)
        try:
            lite.execute("BEGIN IMMEDIATE")
            lite.execute("ROLLBACK")
            return False
        except sqlite3.OperationalError as exc:
            if "locked" in str(exc):
                return True
            raise
        finally:
            lite.close()

    def redis(self) -> redis.Redis:
        return redis.Redis.from_url(self.redis_url)

    def webhook(self, event_type: str, message_id: str, body: bytes) -> None:
        """What the web process does with a verified delivery: XADD to the community's stream."""
        self.redis().xadd(
            f"{self.prefix}:webhooks:{self.community_id}",
            {"type": event_type, "id": message_id, "body": body},
        )

    def close(self) -> None:
        for proc in self.groups:
            kill9_group(proc)
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
    """Peak RSS (MB) of a process (with ``tree``: and its children, e.g. a Celery pool), every 0.2 s."""

    def __init__(self, pid: int, *, tree: bool = False) -> None:
        self.pid, self.peak_mb, self._stop = pid, 0.0, threading.Event()
        self.tree = tree
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self) -> None:
        try:
            proc = psutil.Process(self.pid)
            while not self._stop.is_set():
                procs = [proc, *proc.children(recursive=True)] if self.tree else [proc]
                rss = 0
                for p in procs:
                    try:
                        rss += p.memory_info().rss
                    except psutil.Error:
                        continue
                self.peak_mb = max(self.peak_mb, rss / 2**20)
                time.sleep(0.2)
        except psutil.Error:
            return

    def stop(self) -> float:
        self._stop.set()
        return round(self.peak_mb, 1)


def kill9(proc: subprocess.Popen[bytes]) -> None:
    proc.send_signal(signal.SIGKILL)
    proc.wait(10)


def kill9_group(proc: subprocess.Popen[bytes]) -> None:
    """SIGKILL to a process started by :meth:`World.spawn` and everything in its session (pool children)."""
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    try:
        proc.wait(10)
    except subprocess.TimeoutExpired:
        pass


def free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def http_ok(url: str) -> bool:
    """Whether ``url`` answers with a status below 500 within 2 s."""
    try:
        return httpx.get(url, timeout=2).status_code < 500
    except httpx.HTTPError:
        return False


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


class WebhookSigner:
    """Signs Kick webhook deliveries with a key of its own (give ``pem`` to the web process as
    KICK_WEBHOOK_PUBLIC_KEY) and posts them like Kick does."""

    def __init__(self) -> None:
        from cryptography.hazmat.primitives import serialization
        from cryptography.hazmat.primitives.asymmetric import rsa

        self.key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        self.pem = (
            self.key.public_key()
            .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
            .decode()
        )

    def headers(self, event_type: str, message_id: str, body: bytes) -> dict[str, str]:
        import base64
        from datetime import UTC, datetime

        from cryptography.hazmat.primitives import hashes
        from cryptography.hazmat.primitives.asymmetric import padding

        ts = datetime.now(UTC).isoformat().replace("+00:00", "Z")
        signature = self.key.sign(f"{message_id}.{ts}.".encode() + body, padding.PKCS1v15(), hashes.SHA256())
        return {
            "Content-Type": "application/json",
            "Kick-Event-Message-Id": message_id,
            "Kick-Event-Message-Timestamp": ts,
            "Kick-Event-Signature": base64.b64encode(signature).decode(),
            "Kick-Event-Type": event_type,
            "Kick-Event-Version": "1",
        }

    def post(self, client: httpx.Client, event_type: str, message_id: str, body: bytes) -> int:
        return client.post(
            "/webhooks/kick/", content=body, headers=self.headers(event_type, message_id, body)
        ).status_code


class PgTerminator:
    """A thread that terminates every backend connected to ``database`` every ``every_s`` seconds
    (``pg_terminate_backend``) until stopped; counts the rounds and the backends it ended."""

    def __init__(self, database_url: str, *, every_s: float) -> None:
        self.admin_url = _on_database(database_url, "postgres")
        self.database = urlsplit(database_url).path.lstrip("/")
        self.every_s = every_s
        self.rounds = self.terminated = 0
        self._stop = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)

    def start(self) -> PgTerminator:
        self.thread.start()
        return self

    def _run(self) -> None:
        import psycopg

        with psycopg.connect(self.admin_url, autocommit=True, connect_timeout=5) as conn:
            while not self._stop.is_set():
                row = conn.execute(
                    "SELECT count(*) FILTER (WHERE pg_terminate_backend(pid)) FROM pg_stat_activity "
                    "WHERE datname = %s AND pid <> pg_backend_pid()",
                    [self.database],
                ).fetchone()
                self.rounds += 1
                self.terminated += int(row[0]) if row else 0
                self._stop.wait(self.every_s)

    def stop(self) -> None:
        self._stop.set()
        self.thread.join(10)
