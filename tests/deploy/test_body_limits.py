"""Oversized request bodies against the real daphne process: refused while they arrive, never buffered.

The test streams 1 GiB from a generator (it never holds the body) and reads the web process's
resident memory from /proc before and after.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from kickbot.edge import WEBHOOK_BODY_MAX_BYTES
from tests.webprocess import WebProcess, web_process

pytestmark = pytest.mark.slow

GIB = 1024**3
CHUNK = b"\0" * (1024 * 1024)
RSS_GROWTH_LIMIT_KB = 20 * 1024
HTTPS = {"X-Forwarded-Proto": "https"}


@pytest.fixture(scope="module")
def web(tmp_path_factory: pytest.TempPathFactory) -> Iterator[WebProcess]:
    with web_process(tmp_path_factory.mktemp("body"), migrate=False, static=False) as web:
        yield web


def rss_kb(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise AssertionError("no VmRSS")


class Body:
    """1 GiB in 1 MiB chunks, counting what the server let the client send."""

    def __init__(self, size: int = GIB) -> None:
        self.size = size
        self.sent = 0

    def __iter__(self) -> Iterator[bytes]:
        while self.sent < self.size:
            self.sent += len(CHUNK)
            yield CHUNK


def post(web: WebProcess, path: str, body: Body, *, with_length: bool) -> httpx.Response:
    headers = {**HTTPS, "Content-Type": "application/octet-stream"}
    if with_length:
        headers["Content-Length"] = str(body.size)
    return httpx.post(f"{web.base_url}{path}", content=iter(body), headers=headers, timeout=120)


def warm_up(web: WebProcess) -> None:
    """Load what the first requests load (Django's URLconf, views) before the baseline is read."""
    for path in ("/dashboard/login/", "/webhooks/kick/"):
        httpx.post(f"{web.base_url}{path}", content=b"{}", headers=HTTPS, timeout=30)
        post(web, path, Body(2 * 1024 * 1024), with_length=True)


@pytest.mark.parametrize("with_length", [True, False], ids=["content-length", "chunked"])
@pytest.mark.parametrize("path", ["/dashboard/login/", "/webhooks/kick/"])
def test_a_1_gib_post_is_refused_with_413_and_the_web_process_does_not_grow(
    web: WebProcess, path: str, with_length: bool
) -> None:
    warm_up(web)
    before = rss_kb(web.proc.pid)
    body = Body()
    response = post(web, path, body, with_length=with_length)
    after = rss_kb(web.proc.pid)
    assert response.status_code == 413
    assert response.json() == {"detail": "body too large"}
    assert after - before < RSS_GROWTH_LIMIT_KB, f"web RSS grew {(after - before) / 1024:.1f} MiB"
    assert body.sent < 128 * 1024 * 1024, f"the server read {body.sent / 2**20:.0f} MiB before refusing"
    assert httpx.get(f"{web.base_url}/healthz", timeout=30).status_code in (200, 503)  # still serving


def test_a_webhook_body_just_over_its_limit_is_refused_before_the_view(web: WebProcess) -> None:
    body = b"{" + b" " * WEBHOOK_BODY_MAX_BYTES + b"}"
    response = httpx.post(f"{web.base_url}/webhooks/kick/", content=body, headers=HTTPS, timeout=30)
    assert response.status_code == 413
    assert "refused a request body over 262144 bytes for /webhooks/kick/" in web.output()


def test_a_body_within_the_limit_reaches_the_view(web: WebProcess) -> None:
    response = httpx.post(f"{web.base_url}/webhooks/kick/", content=b"{}", headers=HTTPS, timeout=30)
    assert response.status_code == 403  # the view answered: no signature
