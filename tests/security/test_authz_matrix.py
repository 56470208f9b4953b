"""Authorisation matrix: every URL pattern of the project x every role and anonymous.

The table ``MATRIX`` is the one place to say who gets what. The URLconf is walked at test time:
a URL pattern with no row here FAILS ``test_every_url_pattern_has_a_row`` — add a row when you
add a page. Statuses are for a GET (or the method in the row) with no special parameters: a
public page answers the same to everybody, a dashboard page sends anonymous users to the
login page (302) and refuses a logged-in user without the permission (403).

Django admin is one rule for its whole namespace (Django enforces ``is_staff`` for every admin
view); the test opens the index and every registered model's changelist and add page.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from django.contrib import admin
from django.contrib.auth.models import AnonymousUser
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver, reverse

from raffle.models import RafflePeriod

pytestmark = pytest.mark.django_db

ROLES = ("anonymous", "viewer", "moderator", "admin_user", "owner")

LOGIN = 302  # redirect to the dashboard / admin login page
_pub = dict.fromkeys(ROLES, 200)


def _dash(allowed_from: str, ok: int = 200) -> dict[str, int]:
    """A dashboard page for ``allowed_from`` and the roles above it; 403 below; anonymous → login."""
    order = ["viewer", "moderator", "admin_user", "owner"]
    rank = order.index(allowed_from)
    return {"anonymous": LOGIN, **{r: (ok if i >= rank else 403) for i, r in enumerate(order)}}


@dataclass(frozen=True)
class Row:
    path: str  # the concrete path to request (placeholders filled by ``_fill``)
    expect: dict[str, int]
    method: str = "get"
    note: str = ""


def _write(path: str, allowed_from: str) -> Row:
    return Row(path, _dash(allowed_from, ok=302), method="post")


# URL name → what each role gets. Keep it sorted by area; one line per URL.
MATRIX: dict[str, Row] = {
    # public pages
    "home": Row("/", {"anonymous": 302, **dict.fromkeys(ROLES[1:], 302)}, note="→ dashboard"),
    "healthz": Row("/healthz", _pub),
    "terms": Row("/terms/", _pub),
    "privacy": Row("/privacy/", _pub),
    "raffle:period": Row("/raffle/{period}/", _pub),
    "raffle:proof": Row("/raffle/{period}/proof.json", _pub),
    "raffle:verifier": Row("/raffle/verify_draw.py", _pub),
    "watchtime:leaderboard": Row("/leaderboard/{slug}/", _pub),
    # machine endpoints: nobody gets in without a valid signature / token, whatever their session
    "kick_webhook": Row("/webhooks/kick/", dict.fromkeys(ROLES, 403), method="post", note="unsigned"),
    "accounts:link_start": Row("/link/start/?t=forged", dict.fromkeys(ROLES, 400)),
    "accounts:link_callback": Row("/link/callback/?state=forged&code=x", dict.fromkeys(ROLES, 400)),
    "dashboard:owner_setup": Row("/dashboard/setup/owner/forged-token/", dict.fromkeys(ROLES, 400)),
    # dashboard
    "dashboard:login": Row(
        "/dashboard/login/", {"anonymous": 200, **dict.fromkeys(ROLES[1:], 302)}, note="logged in → away"
    ),
    "dashboard:logout": Row("/dashboard/logout/", dict.fromkeys(ROLES, 405), note="POST only"),
    "dashboard:overview": Row("/dashboard/", _dash("viewer")),
    "dashboard:health": Row("/dashboard/health/", _dash("viewer")),
    "dashboard:community_switch": Row("/dashboard/community/", _dash("viewer", ok=302), method="post"),
    "dashboard:setup": Row("/dashboard/setup/", _dash("admin_user")),
    "dashboard:audit": Row("/dashboard/audit/", _dash("admin_user")),
    "dashboard:kick_connect": Row(
        "/dashboard/kick/connect/", _dash("admin_user", ok=400), method="post", note="no Kick app set"
    ),
    "dashboard:kick_callback": Row(
        "/dashboard/kick/callback/?state=forged", _dash("admin_user", ok=400), note="no flow started"
    ),
    "dashboard:kick_detect": Row("/dashboard/kick/detect/", _dash("admin_user", ok=405), note="POST only"),
    # dashboard pages (read: viewer and up)
    "dashboard:users": Row("/dashboard/users/", _dash("viewer")),
    "dashboard:user": Row("/dashboard/users/{kick_user}/", _dash("viewer")),
    "dashboard:raffle": Row("/dashboard/raffle/", _dash("viewer")),
    "dashboard:slots": Row("/dashboard/slots/", _dash("viewer")),
    "dashboard:slots_queue": Row("/dashboard/slots/queue/", _dash("viewer")),
    "dashboard:gtb": Row("/dashboard/gtb/", _dash("viewer")),
    "dashboard:gtb_round": Row("/dashboard/gtb/round/", _dash("viewer")),
    "dashboard:watchtime": Row("/dashboard/watchtime/", _dash("viewer")),
    "dashboard:settings": Row("/dashboard/settings/", _dash("admin_user")),
    "dashboard:accounts": Row("/dashboard/accounts/", _dash("owner")),
    # dashboard writes (POST with nothing filled in: refused with a message, redirected back)
    "dashboard:user_tickets": _write("/dashboard/users/{kick_user}/tickets/", "moderator"),
    "dashboard:user_unlink": _write("/dashboard/users/{kick_user}/unlink/", "admin_user"),
    "dashboard:raffle_verify": _write("/dashboard/raffle/claims/999999/verify/", "moderator"),
    "dashboard:raffle_start": _write("/dashboard/raffle/start/", "admin_user"),
    "dashboard:raffle_draw": _write("/dashboard/raffle/draw/", "admin_user"),
    "dashboard:raffle_end": _write("/dashboard/raffle/end/", "admin_user"),
    "dashboard:slots_action": _write("/dashboard/slots/action/open/", "moderator"),
    "dashboard:slots_blacklist": _write("/dashboard/slots/blacklist/", "moderator"),
    "dashboard:slots_import": _write("/dashboard/slots/import/", "admin_user"),
    "dashboard:gtb_start": _write("/dashboard/gtb/start/", "moderator"),
    "dashboard:gtb_close": _write("/dashboard/gtb/close/", "moderator"),
    "dashboard:gtb_resolve": _write("/dashboard/gtb/resolve/", "moderator"),
    "dashboard:gtb_cancel": _write("/dashboard/gtb/cancel/", "moderator"),
    "dashboard:hunts": Row("/dashboard/hunts/", _dash("viewer")),
    "dashboard:hunt_slot_options": Row("/dashboard/hunts/slots/?slot=book", _dash("viewer")),
    "dashboard:hunts_csv": Row("/dashboard/hunts/export.csv", _dash("viewer")),
    "dashboard:hunt_detail": Row("/dashboard/hunts/{hunt}/", _dash("viewer")),
    "dashboard:hunt_csv": Row("/dashboard/hunts/{hunt}/export.csv", _dash("viewer")),
    "dashboard:hunt_start": _write("/dashboard/hunts/start/", "moderator"),
    "dashboard:hunt_add": _write("/dashboard/hunts/add/", "moderator"),
    "dashboard:hunt_remove": _write("/dashboard/hunts/remove/", "moderator"),
    "dashboard:hunt_open": _write("/dashboard/hunts/open/", "moderator"),
    "dashboard:hunt_result": _write("/dashboard/hunts/result/", "moderator"),
    "dashboard:hunt_finish": _write("/dashboard/hunts/finish/", "moderator"),
    "dashboard:watch_tracking": _write("/dashboard/watchtime/tracking/", "admin_user"),
    "dashboard:watch_role": _write("/dashboard/watchtime/roles/999999/", "admin_user"),
    "dashboard:settings_save": _write("/dashboard/settings/nosuchsection/", "admin_user"),
    "dashboard:timer": _write("/dashboard/settings/timers/999999/", "admin_user"),
    "dashboard:account_create": _write("/dashboard/accounts/new/", "owner"),
    "dashboard:account_role": _write("/dashboard/accounts/999999/role/", "owner"),
}

# Django admin: staff only (owner is the only staff role); others go to the admin login page.
ADMIN_EXPECT = {"anonymous": LOGIN, "viewer": LOGIN, "moderator": LOGIN, "admin_user": LOGIN, "owner": 200}


def _walk(patterns: list[Any], ns: str = "") -> Iterator[tuple[str, str]]:
    for p in patterns:
        if isinstance(p, URLResolver):
            yield from _walk(p.url_patterns, ns + (f"{p.namespace}:" if p.namespace else ""))
        elif isinstance(p, URLPattern):
            yield ns + (p.name or f"<unnamed {p.pattern}>"), str(p.pattern)


def project_url_names() -> list[str]:
    return sorted({name for name, _ in _walk(get_resolver().url_patterns)})


def test_every_url_pattern_has_a_row() -> None:
    missing = [n for n in project_url_names() if n not in MATRIX and not n.startswith("admin:")]
    assert not missing, f"add these URLs to tests/security/test_authz_matrix.py MATRIX: {missing}"


def test_every_row_is_a_url_that_exists() -> None:
    names = set(project_url_names())
    assert not [n for n in MATRIX if n not in names]


def test_every_row_covers_every_role() -> None:
    assert not [n for n, row in MATRIX.items() if set(row.expect) != set(ROLES)]


KICK_USER = 4242


def _client(request: pytest.FixtureRequest, role: str) -> Client:
    client = Client()
    if role != "anonymous":
        client.force_login(request.getfixturevalue(role))
    return client


@pytest.mark.parametrize("role", ROLES)
def test_each_role_gets_the_status_of_the_matrix(
    request: pytest.FixtureRequest, community: Any, period: RafflePeriod, role: str, settings: Any
) -> None:
    settings.KICK_CLIENT_ID = settings.KICK_CLIENT_SECRET = ""  # no Kick app: connect refuses cleanly
    from accounts.models import KickUser
    from hunts.services import hunt_start

    KickUser.objects.get_or_create(user_id=KICK_USER, defaults={"username": "someone"})
    hunt = hunt_start(community_id=community.pk, title="Hunt", start_balance_cents=0, actor_label="t")
    client = _client(request, role)
    wrong = {}
    for name, row in MATRIX.items():
        path = row.path.format(
            period=period.pk, slug=community.kick_channel_slug, kick_user=KICK_USER, hunt=hunt.id
        )
        response = getattr(client, row.method)(path)
        if response.status_code != row.expect[role]:
            wrong[name] = (path, response.status_code, row.expect[role])
        if row.expect[role] == LOGIN and role == "anonymous" and name.startswith("dashboard:"):
            assert response["Location"].startswith("/dashboard/login/"), name
    assert not wrong, f"{role}: (path, got, expected) {wrong}"


def _admin_paths() -> list[str]:
    paths = [reverse("admin:index")]
    for model in admin.site._registry:
        meta = model._meta
        paths.append(reverse(f"admin:{meta.app_label}_{meta.model_name}_changelist"))
        paths.append(reverse(f"admin:{meta.app_label}_{meta.model_name}_add"))
    return paths


@pytest.mark.parametrize("role", ROLES)
def test_admin_site_is_staff_only(request: pytest.FixtureRequest, community: Any, role: str) -> None:
    client = _client(request, role)
    wrong = {}
    for path in _admin_paths():
        status = client.get(path).status_code
        expected = ADMIN_EXPECT[role]
        # add pages of models that forbid adding (append-only ledgers) answer 403 to staff
        if role == "owner" and path.endswith("/add/") and status == 403:
            continue
        if status != expected:
            wrong[path] = status
    assert not wrong, f"{role}: {wrong}"


def test_admin_index_is_in_the_urlconf() -> None:
    assert any(n == "admin:index" for n in project_url_names())


def test_anonymous_user_has_no_dashboard_permission() -> None:
    assert not AnonymousUser().has_perm("kickbot.view_dashboard")
