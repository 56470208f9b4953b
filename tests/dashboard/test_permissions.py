"""Authorization matrix: every URL name in dashboard.urls times every role and anonymous.

A new page must be declared in REQUIRED (the test fails otherwise), so it is covered automatically.
"""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client
from django.urls import URLPattern, reverse

from dashboard import urls as dashboard_urls
from dashboard.roles import PERM_AUDIT, PERM_MANAGE, PERM_MODERATE, PERM_USERS, PERM_VIEW, ROLE_PERMISSIONS

pytestmark = pytest.mark.django_db

PUBLIC = None
# URL name → the permission it needs (PUBLIC: no login, e.g. the login page itself).
REQUIRED: dict[str, str | None] = {
    "overview": PERM_VIEW,
    "login": PUBLIC,
    "logout": PUBLIC,
    "community_switch": PERM_VIEW,
    "setup": PERM_MANAGE,
    "owner_setup": PUBLIC,
    "health": PERM_VIEW,
    "kick_connect": PERM_MANAGE,
    "kick_callback": PERM_MANAGE,
    "kick_detect": PERM_MANAGE,
    "audit": PERM_AUDIT,
    "users": PERM_VIEW,
    "user": PERM_VIEW,
    "user_unlink": PERM_MANAGE,
    "user_tickets": PERM_MODERATE,
    "raffle": PERM_VIEW,
    "raffle_start": PERM_MANAGE,
    "raffle_end": PERM_MANAGE,
    "raffle_draw": PERM_MANAGE,
    "raffle_verify": PERM_MODERATE,
    "slots": PERM_VIEW,
    "slots_queue": PERM_VIEW,
    "slots_action": PERM_MODERATE,
    "slots_blacklist": PERM_MODERATE,
    "slots_import": PERM_MANAGE,
    "gtb": PERM_VIEW,
    "gtb_round": PERM_VIEW,
    "gtb_start": PERM_MODERATE,
    "gtb_close": PERM_MODERATE,
    "gtb_resolve": PERM_MODERATE,
    "gtb_cancel": PERM_MODERATE,
    "hunts": PERM_VIEW,
    "hunt_slot_options": PERM_VIEW,
    "hunts_csv": PERM_VIEW,
    "hunt_detail": PERM_VIEW,
    "hunt_csv": PERM_VIEW,
    "hunt_start": PERM_MODERATE,
    "hunt_add": PERM_MODERATE,
    "hunt_remove": PERM_MODERATE,
    "hunt_open": PERM_MODERATE,
    "hunt_result": PERM_MODERATE,
    "hunt_finish": PERM_MODERATE,
    "watchtime": PERM_VIEW,
    "watch_tracking": PERM_MANAGE,
    "watch_role": PERM_MANAGE,
    "settings": PERM_MANAGE,
    "timer": PERM_MANAGE,
    "settings_save": PERM_MANAGE,
    "accounts": PERM_USERS,
    "account_create": PERM_USERS,
    "account_role": PERM_USERS,
}
ROLE_FIXTURES = {"viewer": "viewer", "moderator": "moderator", "admin": "admin_user", "owner": "owner"}
DUMMY_ARGS = {
    "kick_user_id": 1001,
    "claim_id": 1,
    "action": "open",
    "role_id": 777,
    "timer_id": 1,
    "section": "community",
    "user_id": 1,
    "token": "x",
    "hunt_id": 1,
}


def _patterns() -> list[URLPattern]:
    return [p for p in dashboard_urls.urlpatterns if isinstance(p, URLPattern)]


def _url(pattern: URLPattern) -> str:
    kwargs = {k: DUMMY_ARGS[k] for k in pattern.pattern.converters}
    return reverse(f"dashboard:{pattern.name}", kwargs=kwargs)


def test_every_dashboard_url_declares_its_permission() -> None:
    names = {p.name for p in _patterns()}
    assert names == set(REQUIRED), {"undeclared": names - set(REQUIRED), "stale": set(REQUIRED) - names}


@pytest.mark.parametrize("name", [n for n, perm in REQUIRED.items() if perm is not PUBLIC])
def test_anonymous_is_sent_to_login(client: Client, community: Any, name: str) -> None:
    url = _url(next(p for p in _patterns() if p.name == name))
    for method in (client.get, client.post):
        response = method(url)
        assert response.status_code == 302, (name, method)
        assert response["Location"].startswith("/dashboard/login/"), name


@pytest.mark.parametrize("role", list(ROLE_FIXTURES))
def test_each_role_reaches_exactly_its_urls(
    request: pytest.FixtureRequest, client: Client, world: Any, role: str
) -> None:
    """A role without the permission gets 403 on GET and POST; with it, never 403."""
    client.force_login(request.getfixturevalue(ROLE_FIXTURES[role]))
    granted = set(ROLE_PERMISSIONS[role])
    problems = []
    for pattern in _patterns():
        perm = REQUIRED[pattern.name]
        if perm is PUBLIC or pattern.name in ("kick_callback", "kick_connect", "kick_detect"):
            # The Kick OAuth views would reach the network once allowed; their refusals are still checked.
            if perm is not PUBLIC and perm not in granted:
                status = client.get(_url(pattern)).status_code
                if status != 403:
                    problems.append((pattern.name, "GET", status))
            continue
        url = _url(pattern)
        for method in ("get", "post"):
            status = getattr(client, method)(url).status_code
            allowed = perm in granted
            if (status == 403) == allowed:
                problems.append((pattern.name, method, status))
    assert not problems, problems
