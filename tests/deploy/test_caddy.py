"""The repository's Caddyfile, run by a real Caddy in front of the real daphne (plain HTTP on
loopback: the same config with KICKBOT_DOMAIN=http://127.0.0.1:<port>). Skipped where no ``caddy``
binary is installed (Debian: ``apt-get install caddy``)."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.deploy.test_body_limits import RSS_GROWTH_LIMIT_KB, Body, rss_kb
from tests.deploy.test_proxy_and_webhooks import forged
from tests.kickbot.test_webhooks import PEM
from tests.webprocess import WebProcess, web_process

ROOT = Path(__file__).resolve().parents[2]
CADDY = shutil.which("caddy")

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(CADDY is None, reason="no caddy binary on PATH"),
]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Proxy:
    def __init__(self, web: WebProcess, tmp: Path) -> None:
        port = free_port()
        self.base_url = f"http://127.0.0.1:{port}"
        env = {
            "PATH": os.environ["PATH"],
            "HOME": str(tmp),
            "XDG_DATA_HOME": str(tmp / "data"),
            "XDG_CONFIG_HOME": str(tmp / "config"),
            "KICKBOT_DOMAIN": self.base_url,
            "KICKBOT_UPSTREAM": web.base_url.removeprefix("http://"),
            "CADDY_ADMIN": "off",
        }
        self.log = tmp / "caddy.log"
        with self.log.open("wb") as out:
            assert CADDY is not None
            self.proc = subprocess.Popen(
                [CADDY, "run", "--config", str(ROOT / "Caddyfile"), "--adapter", "caddyfile"],
                env=env,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        deadline = time.monotonic() + 30
        while True:
            try:
                httpx.get(f"{self.base_url}/healthz", timeout=2)
                return
            except httpx.TransportError:
                if self.proc.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"caddy did not start: {self.log.read_text()[-2000:]}") from None
                time.sleep(0.1)

    def stop(self) -> None:
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            self.proc.wait(timeout=10)


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[WebProcess, Proxy]]:
    tmp = tmp_path_factory.mktemp("caddy")
    # Plain HTTP on loopback: Caddy says X-Forwarded-Proto: http, so no redirect to HTTPS here.
    with web_process(
        tmp, migrate=False, static=False, KICK_WEBHOOK_PUBLIC_KEY=PEM, DJANGO_SECURE_SSL_REDIRECT="false"
    ) as web:
        proxy = Proxy(web, tmp)
        try:
            yield web, proxy
        finally:
            proxy.stop()


def test_caddy_replaces_a_spoofed_forwarded_for_with_the_address_it_saw(
    stack: tuple[WebProcess, Proxy],
) -> None:
    web, proxy = stack
    web_as_proxy = WebProcess(base_url=proxy.base_url, proc=web.proc, log=web.log, env=web.env)
    assert forged(web_as_proxy, "6.6.6.6") == 403
    assert "bad signature from 127.0.0.1" in web.output()
    assert "6.6.6.6" not in web.output()


@pytest.mark.parametrize("path", ["/dashboard/login/", "/webhooks/kick/"])
def test_caddy_refuses_a_1_gib_body_before_daphne_buffers_it(
    stack: tuple[WebProcess, Proxy], path: str
) -> None:
    web, proxy = stack
    before = rss_kb(web.proc.pid)
    body = Body()
    try:
        response = httpx.post(f"{proxy.base_url}{path}", content=iter(body), timeout=120)
        status = response.status_code
    except httpx.TransportError:
        status = 0
    after = rss_kb(web.proc.pid)
    assert status == 413
    assert after - before < RSS_GROWTH_LIMIT_KB
    assert body.sent < 128 * 1024 * 1024
