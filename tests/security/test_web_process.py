"""Web edges through the real server: daphne in production mode, in a process of its own."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import pytest

from tests.webprocess import WebProcess, web_process

pytestmark = [pytest.mark.slow]

HTTPS = {"X-Forwarded-Proto": "https"}


@pytest.fixture(scope="module")
def bare_web(tmp_path_factory: pytest.TempPathFactory) -> Iterator[WebProcess]:
    """No database, no static files: enough for guards that answer before any view runs."""
    with web_process(tmp_path_factory.mktemp("bare"), migrate=False, static=False) as web:
        yield web


@pytest.mark.parametrize(
    "path",
    [
        "/link/callback/?state=%00",
        "/dashboard/users/?q=%00",
        "/dashboard/users/?q=%FF",
        "/link/start/?t=%C3%28",
        "/dashboard/users/a%00b/",
        "/raffle/%FF/",
    ],
)
def test_nul_or_undecodable_query_or_path_is_400_through_daphne(bare_web: WebProcess, path: str) -> None:
    response = httpx.get(f"{bare_web.base_url}{path}", headers=HTTPS, timeout=10)
    assert response.status_code == 400, response.text[:300]
    assert "NUL byte or bytes that are not UTF-8" in response.text


def test_nul_in_a_form_post_is_400_through_daphne(bare_web: WebProcess) -> None:
    response = httpx.post(
        f"{bare_web.base_url}/dashboard/login/",
        content=b"username=admin%00&password=x",
        headers={**HTTPS, "Content-Type": "application/x-www-form-urlencoded"},
        timeout=10,
    )
    assert response.status_code == 400


def test_raw_bytes_that_are_not_ascii_in_the_request_line_are_400(bare_web: WebProcess) -> None:
    host, port = urlsplit(bare_web.base_url).hostname, urlsplit(bare_web.base_url).port
    with socket.create_connection((host, port), timeout=10) as conn:
        conn.sendall(b"GET /dashboard/users/?q=\xff\x00 HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
        head = conn.recv(200)
    assert head.startswith(b"HTTP/1.1 400"), head


def test_the_server_logged_no_traceback(bare_web: WebProcess, tmp_path: Path) -> None:
    httpx.get(f"{bare_web.base_url}/link/callback/?state=%00", headers=HTTPS, timeout=10)
    assert "Traceback" not in bare_web.output()


def test_pages_carry_the_content_security_policy_and_permissions_policy_through_daphne(
    bare_web: WebProcess,
) -> None:
    response = httpx.get(f"{bare_web.base_url}/dashboard/login/", headers=HTTPS, timeout=10)
    assert response.status_code == 200
    policy = response.headers["content-security-policy"]
    assert "script-src 'self'" in policy and "style-src 'self'" in policy
    assert "unsafe-inline" not in policy and "unsafe-eval" not in policy
    assert "frame-ancestors 'none'" in policy and "object-src 'none'" in policy
    assert "form-action 'self' https://id.kick.com" in policy
    assert "camera=()" in response.headers["permissions-policy"]
    assert "microphone=()" in response.headers["permissions-policy"]
    assert "content-security-policy-report-only" not in response.headers


@pytest.fixture(scope="module")
def web(tmp_path_factory: pytest.TempPathFactory) -> Iterator[WebProcess]:
    """A migrated database and one owner account, behind one trusted proxy hop (as compose runs it)."""
    with web_process(tmp_path_factory.mktemp("web"), static=False, TRUSTED_PROXY_HOPS="1") as web:
        web.manage(
            "shell",
            "-c",
            "from django.contrib.auth.models import User; "
            f"User.objects.create_user('boss', password='{BOSS_PASSWORD}', is_staff=True)",
        )
        yield web


BOSS_PASSWORD = "right-horse-battery-staple"


def _login(web: WebProcess, *, password: str, client_ip: str, spoofed: str = "") -> httpx.Response:
    """POST the login form as a browser behind the proxy would (CSRF cookie and token, Origin)."""
    forwarded = f"{spoofed}, {client_ip}" if spoofed else client_ip
    headers = {**HTTPS, "X-Forwarded-For": forwarded}
    with httpx.Client(base_url=web.base_url, headers=headers, timeout=10) as client:
        page = client.get("/dashboard/login/")
        token = page.text.split('name="csrfmiddlewaretoken" value="', 1)[1].split('"', 1)[0]
        cookie = page.headers["set-cookie"].split("csrftoken=", 1)[1].split(";", 1)[0]
        return client.post(
            "/dashboard/login/",
            data={"username": "boss", "password": password, "csrfmiddlewaretoken": token},
            headers={"Cookie": f"csrftoken={cookie}", "Origin": f"https://{urlsplit(web.base_url).netloc}"},
        )


def test_login_lockout_through_daphne_behind_the_proxy_is_per_client_address(web: WebProcess) -> None:
    """Attack: 100 wrong passwords from one client behind the proxy, each with a made-up
    X-Forwarded-For prefix; then the right password from that client is refused, from another
    client it works."""
    statuses = {
        _login(
            web, password="wrong", client_ip="203.0.113.66", spoofed=f"10.9.{i // 250}.{i % 250}"
        ).status_code
        for i in range(100)
    }
    assert statuses == {200, 429}

    refused = _login(web, password=BOSS_PASSWORD, client_ip="203.0.113.66")
    elsewhere = _login(web, password=BOSS_PASSWORD, client_ip="198.51.100.7")

    assert refused.status_code == 429 and "Too many failed logins" in refused.text
    assert "Content-Security-Policy" in refused.headers
    assert elsewhere.status_code == 302 and elsewhere.headers["location"] == "/dashboard/"
    audit = web.manage(
        "shell",
        "-c",
        "from kickbot.models import AuditLog; "
        "print([(a.data['ip'], a.data['count']) for a in AuditLog.objects.filter(action='auth.locked_out')])",
    )
    assert (
        audit.strip().splitlines()[-1] == "[('203.0.113.66', 97)]"
    )  # from the 5th wrong password on, and the right one
