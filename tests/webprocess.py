"""The web process as it runs in production: ``daphne kickbot.asgi:application`` in a process of its
own, ``KICKBOT_ENV=production``, a SQLite file database under a scratch var/ folder and the test
run's Redis (under its own key prefix). For tests whose promise depends on the real server.
"""

from __future__ import annotations

import atexit
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
from django.conf import settings

ROOT = Path(__file__).resolve().parents[1]
DAPHNE = str(Path(sys.executable).parent / "daphne")
FERNET_KEY = "bGV0LXRlc3RzLXVzZS1hLWZpeGVkLWZlcm5ldC1rZXk="  # 32 bytes, url-safe base64


@dataclass
class WebProcess:
    base_url: str
    proc: subprocess.Popen[bytes]
    log: Path
    env: dict[str, str]

    def output(self) -> str:
        return self.log.read_text(errors="replace") if self.log.exists() else ""

    def manage(self, *args: str) -> str:
        """``manage.py`` with the web process's environment (same database, same Redis)."""
        return _manage(self.env, *args)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _manage(env: dict[str, str], *args: str) -> str:
    out = subprocess.run(
        [sys.executable, "manage.py", *args], cwd=ROOT, env=env, capture_output=True, timeout=300, check=False
    )
    if out.returncode:
        raise RuntimeError(f"manage.py {' '.join(args)}: {out.stderr.decode()[-3000:]}")
    return out.stdout.decode()


_collected: list[Path] = []


def _collected_static() -> Path:
    """Static files collected once per test run (the web process refuses to start without them)."""
    if not _collected:
        var_dir = Path(tempfile.mkdtemp(prefix="kickbot-static-"))
        atexit.register(shutil.rmtree, var_dir, ignore_errors=True)
        _manage(production_env(var_dir), "collectstatic", "--noinput", "-v", "0")
        _collected.append(var_dir / "staticfiles")
    return _collected[0]


def link_collected_static(var_dir: Path) -> None:
    """Give the var/ folder ``var_dir`` the run's one static collection (as ``staticfiles``)."""
    static_root = var_dir / "staticfiles"
    static_root.parent.mkdir(parents=True, exist_ok=True)
    if static_root.is_dir() and not static_root.is_symlink():
        static_root.rmdir()  # the empty folder settings made during migrate
    static_root.symlink_to(_collected_static(), target_is_directory=True)


def production_env(var_dir: Path, **extra: str) -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("DJANGO_", "DATABASE_URL", "PYTEST", "KICKBOT_", "DISCORD_TOKEN"))
    }
    env.update(
        DJANGO_SETTINGS_MODULE="kickbot.settings",
        KICKBOT_ENV="production",
        KICKBOT_VAR_DIR=str(var_dir),
        DJANGO_SECRET_KEY="web-process-test-" + secrets.token_urlsafe(32),
        FIELD_ENCRYPTION_KEY=FERNET_KEY,
        DJANGO_ALLOWED_HOSTS="127.0.0.1,localhost",
        REDIS_URL=os.environ.get("REDIS_URL", settings.REDIS_URL),
        REDIS_KEY_PREFIX=f"{settings.REDIS_KEY_PREFIX}web{secrets.token_hex(3)}",
        LOG_LEVEL="INFO",
        PYTHONUNBUFFERED="1",
    )
    env.update(extra)
    return env


@contextmanager
def web_process(
    tmp_path: Path, *, migrate: bool = True, static: bool = True, **extra: str
) -> Iterator[WebProcess]:
    """Start daphne in production mode (after ``migrate`` and ``collectstatic`` when asked); stop it after.

    ``static=False`` links the run's one collection instead of collecting again (daphne in production
    refuses to start without a static manifest).
    """
    env = production_env(tmp_path / "var", **extra)
    if migrate:
        _manage(env, "migrate", "--noinput", "-v", "0")
    if static:
        _manage(env, "collectstatic", "--noinput", "-v", "0")
    else:
        link_collected_static(tmp_path / "var")
    port = _free_port()
    log = tmp_path / "daphne.log"
    with open(log, "ab") as out:
        proc = subprocess.Popen(
            # As the image runs it (Dockerfile CMD), bound to loopback.
            [
                DAPHNE,
                "-e",
                f"tcp:port={port}:interface=127.0.0.1",
                "--proxy-headers",
                "kickbot.asgi:application",
            ],
            cwd=ROOT,
            env=env,
            stdout=out,
            stderr=out,
            start_new_session=True,
        )
    web = WebProcess(base_url=f"http://127.0.0.1:{port}", proc=proc, log=log, env=env)
    try:
        deadline = time.monotonic() + 60
        while not _answers(web.base_url):
            if proc.poll() is not None:
                raise RuntimeError(f"daphne exited: {web.output()[-3000:]}")
            if time.monotonic() > deadline:
                raise TimeoutError(f"daphne did not answer within 60 s: {web.output()[-3000:]}")
            time.sleep(0.2)
        yield web
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGTERM)
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(timeout=10)


def _answers(base_url: str) -> bool:
    try:
        httpx.get(f"{base_url}/healthz", timeout=2)
    except httpx.HTTPError:
        return False
    return True
