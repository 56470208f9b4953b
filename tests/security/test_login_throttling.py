"""Attack: guessing passwords on the login forms (django-axes, lockout by username and address).

After LOGIN_FAILURE_LIMIT wrong passwords for one username from one address, that pair is refused
even with the right password; another address, or another username from the same address, is not
affected. Every lockout is in the audit log, counted, not one row per refused attempt.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
import time_machine
from django.test import Client
from django.utils import timezone

from kickbot.models import AuditLog
from tests.factories import PASSWORD

pytestmark = pytest.mark.django_db

ATTACKER = "203.0.113.66"
ELSEWHERE = "198.51.100.7"
LOGIN_PAGES = ["/dashboard/login/", "/admin/login/"]


def attempt(client: Client, path: str, username: str, password: str, ip: str = ATTACKER) -> Any:
    return client.post(path, {"username": username, "password": password}, REMOTE_ADDR=ip)


def logged_in(client: Client) -> bool:
    return "_auth_user_id" in client.session


@pytest.mark.parametrize("path", LOGIN_PAGES)
def test_hundred_wrong_passwords_then_the_right_one_is_refused(path: str, owner: Any) -> None:
    client = Client()
    for _ in range(100):
        assert attempt(client, path, owner.username, "wrong-password").status_code in {200, 429}

    response = attempt(client, path, owner.username, PASSWORD)

    assert response.status_code == 429
    assert not logged_in(client)
    text = response.content.decode()
    assert "Too many failed logins" in text and owner.username in text
    assert "Other addresses are not affected" in text
    assert response["Retry-After"] == "900"


def test_the_lockout_starts_at_the_failure_limit(owner: Any, settings: Any) -> None:
    client = Client()
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        assert attempt(client, "/dashboard/login/", owner.username, "wrong").status_code == 200
    assert attempt(client, "/dashboard/login/", owner.username, "wrong").status_code == 429
    assert attempt(client, "/dashboard/login/", owner.username, PASSWORD).status_code == 429


@pytest.mark.parametrize("path", LOGIN_PAGES)
def test_the_same_user_from_another_address_is_not_locked_out(path: str, owner: Any) -> None:
    for _ in range(20):
        attempt(Client(), path, owner.username, "wrong-password")

    other = Client()
    response = attempt(other, path, owner.username, PASSWORD, ip=ELSEWHERE)

    assert response.status_code == 302
    assert logged_in(other)


def test_another_user_from_the_attackers_address_is_not_locked_out(owner: Any, viewer: Any) -> None:
    for _ in range(20):
        attempt(Client(), "/dashboard/login/", owner.username, "wrong-password")

    client = Client()
    assert attempt(client, "/dashboard/login/", viewer.username, PASSWORD).status_code == 302
    assert logged_in(client)


def test_the_lockout_ends_after_the_cool_off(owner: Any) -> None:
    with time_machine.travel(timezone.now(), tick=False) as clock:
        for _ in range(10):
            attempt(Client(), "/dashboard/login/", owner.username, "wrong-password")
        clock.shift(timedelta(minutes=16))
        client = Client()
        assert attempt(client, "/dashboard/login/", owner.username, PASSWORD).status_code == 302
    assert logged_in(client)


def test_a_lockout_is_audited_in_one_counted_row(owner: Any, settings: Any) -> None:
    for _ in range(100):
        attempt(Client(), "/dashboard/login/", owner.username, "wrong-password")

    [row] = AuditLog.objects.filter(action="auth.locked_out")

    assert row.data["username"] == owner.username
    assert row.data["ip"] == ATTACKER
    assert row.data["path"] == "/dashboard/login/"
    assert row.data["count"] == 100 - settings.AXES_FAILURE_LIMIT + 1
    assert row.actor_label == f"login:{owner.username}"


def test_the_login_page_itself_is_unchanged_for_a_first_wrong_password(owner: Any) -> None:
    response = attempt(Client(), "/dashboard/login/", owner.username, "wrong")
    assert response.status_code == 200
    assert b"Please enter a correct username and password" in response.content


def test_a_client_without_an_address_is_throttled_in_one_shared_bucket(owner: Any) -> None:
    # A unix-socket peer has no REMOTE_ADDR: axes still records it (an IP column on Postgres).
    for _ in range(10):
        attempt(Client(), "/dashboard/login/", owner.username, "wrong", ip="")
    assert attempt(Client(), "/dashboard/login/", owner.username, PASSWORD, ip="").status_code == 429
    assert attempt(Client(), "/dashboard/login/", owner.username, PASSWORD).status_code == 302
