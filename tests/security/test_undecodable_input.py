"""Attack sweep: NUL bytes, bytes that are not UTF-8 and huge values on every URL of the URLconf.

Every URL pattern (the rows of the authorisation matrix, which fails when a URL has no row, plus
Django admin) is requested by an anonymous client and by the owner with each bad input in the
query, the path and a form body. A NUL or undecodable input is a 400 wherever it is; a huge value
is never a 500.
"""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from raffle.models import RafflePeriod
from tests.security.test_authz_matrix import KICK_USER, MATRIX, _admin_paths

pytestmark = pytest.mark.django_db

# (where, raw text): percent-encoded as a client would send it
BAD_QUERIES = [
    "state=%00",
    "q=%00",
    "t=abc%00def",
    "%00=1",
    "q=%FF",
    "q=%C3%28",  # a UTF-8 lead byte followed by a byte that cannot continue it
    "state=%ED%A0%80",  # a UTF-16 surrogate encoded as UTF-8: not valid UTF-8
    "code=x&state=ok%00",
]
BAD_FORMS = ["reason=%00", "amount=1&reason=a%FFb", "username=%C0%AF"]
BAD_PATH_SEGMENTS = ["%00", "a%FFb", "%C3%28"]
HUGE = "9" * 20_000


def _paths(period: RafflePeriod, community: Any) -> list[tuple[str, str]]:
    rows = [
        (
            row.method,
            row.path.format(period=period.pk, slug=community.kick_channel_slug, kick_user=KICK_USER, hunt=1),
        )
        for row in MATRIX.values()
    ]
    return rows + [("get", p) for p in _admin_paths()]


def _with_query(path: str, query: str) -> str:
    return f"{path}{'&' if '?' in path else '?'}{query}"


def _with_bad_segment(path: str, segment: str) -> str:
    base = path.split("?", 1)[0].rstrip("/")
    return f"{base}/{segment}/"


@pytest.fixture
def clients(community: Any, owner: Any) -> dict[str, Client]:
    from accounts.models import KickUser

    KickUser.objects.get_or_create(user_id=KICK_USER, defaults={"username": "someone"})
    logged_in = Client()
    logged_in.force_login(owner)
    return {"anonymous": Client(), "owner": logged_in}


@pytest.mark.parametrize("url", ["/link/callback/?state=%00", "/dashboard/users/?q=%00"])
def test_nul_in_the_query_of_the_reported_urls_is_400(clients: dict[str, Client], url: str) -> None:
    for client in clients.values():
        response = client.get(url)
        assert response.status_code == 400
        assert b"NUL" in response.content


def test_every_url_refuses_nul_and_undecodable_query_path_and_form_with_400(
    clients: dict[str, Client], period: RafflePeriod, community: Any
) -> None:
    wrong = []
    for role, client in clients.items():
        for method, path in _paths(period, community):
            requests = [(method, _with_query(path, q), None) for q in BAD_QUERIES]
            requests += [("get", _with_bad_segment(path, seg), None) for seg in BAD_PATH_SEGMENTS]
            requests += [("post", path.split("?", 1)[0], form) for form in BAD_FORMS]
            for how, url, form in requests:
                if form is None:
                    response = getattr(client, how)(url)
                else:
                    response = client.post(url, form, content_type="application/x-www-form-urlencoded")
                if response.status_code != 400:
                    wrong.append((role, how, url[:80], form, response.status_code))
    assert not wrong, wrong


def test_huge_values_on_every_url_are_never_a_server_error(
    clients: dict[str, Client], period: RafflePeriod, community: Any, settings: Any
) -> None:
    settings.KICK_CLIENT_ID = settings.KICK_CLIENT_SECRET = ""
    wrong = []
    for role, client in clients.items():
        for method, path in _paths(period, community):
            for query in (f"q={HUGE}", f"page={HUGE}", f"state={HUGE}&code={HUGE}", f"t={HUGE}"):
                response = getattr(client, method)(_with_query(path, query))
                if response.status_code >= 500:
                    wrong.append((role, method, path, query[:12], response.status_code))
            response = client.post(path.split("?", 1)[0], {"reason": HUGE, "amount": HUGE, "username": HUGE})
            if response.status_code >= 500:
                wrong.append((role, "post", path, "form", response.status_code))
    assert not wrong, wrong
