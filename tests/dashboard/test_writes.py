"""Every dashboard write view: CSRF enforced, login required, role checked, audit row written."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from kickbot.models import AuditLog
from raffle.models import RafflePeriod
from raffle.services.rollover import period_freeze
from tests.dashboard.conftest import LINKED, World, running_gtb
from tests.raffle.conftest import FakeRelay, use_round

pytestmark = pytest.mark.django_db

ROLE_ORDER = ["viewer", "moderator", "admin_user", "owner"]


@dataclass
class Case:
    url: str
    data: dict[str, Any]
    role: str  # the lowest role allowed
    prepare: Callable[[World, pytest.MonkeyPatch], None] | None = None
    files: dict[str, Any] = field(default_factory=dict)


def _freeze(world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    use_round(RafflePeriod.objects.get(pk=world.period.pk))
    monkeypatch.setattr("raffle.services.drawing.drand_client_factory", FakeRelay().client)


def _gtb(world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    running_gtb(world.community)


def _closed_requests(world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    from slots.panel import slot_requests_set_open

    slot_requests_set_open(community_id=world.community.pk, requests_open=False, actor_label="test")


def _no_open_period(world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    period_freeze(community_id=world.community.pk, actor_label="test")


CATALOGUE = b'[{"name": "Book of Dead", "provider": "Play\'n GO"}]'

CASES: dict[str, Case] = {
    "unlink": Case(f"/dashboard/users/{LINKED}/unlink/", {}, "admin_user"),
    "tickets_give": Case(
        f"/dashboard/users/{LINKED}/tickets/", {"op": "give", "amount": "5", "reason": "nice"}, "moderator"
    ),
    "raffle_start": Case("/dashboard/raffle/start/", {}, "admin_user", _no_open_period),
    "raffle_end": Case("/dashboard/raffle/end/", {}, "admin_user"),
    "raffle_draw": Case(
        "/dashboard/raffle/draw/", {"confirm": "draw", "period_id": "PERIOD"}, "admin_user", _freeze
    ),
    "raffle_verify": Case("/dashboard/raffle/claims/CLAIM/verify/", {}, "moderator"),
    "slots_close": Case("/dashboard/slots/action/close/", {}, "moderator"),
    "slots_open": Case("/dashboard/slots/action/open/", {}, "moderator", _closed_requests),
    "slots_pick": Case("/dashboard/slots/action/pick/", {}, "moderator"),
    "slots_played": Case("/dashboard/slots/action/played/", {}, "moderator"),
    "slots_skipped": Case("/dashboard/slots/action/skipped/", {}, "moderator"),
    "slots_clear": Case("/dashboard/slots/action/clear/", {"confirm": "clear"}, "moderator"),
    "slots_blacklist": Case(
        "/dashboard/slots/blacklist/", {"username": "troll", "reason": "spam"}, "moderator"
    ),
    "slots_import": Case(
        "/dashboard/slots/import/",
        {},
        "admin_user",
        files={"file": SimpleUploadedFile("c.json", CATALOGUE, "application/json")},
    ),
    "gtb_start": Case("/dashboard/gtb/start/", {"title": "Bonus hunt", "prize": "$50"}, "moderator"),
    "gtb_close": Case("/dashboard/gtb/close/", {}, "moderator", _gtb),
    "gtb_resolve": Case("/dashboard/gtb/resolve/", {"final": "1,234.50"}, "moderator", _gtb),
    "gtb_cancel": Case("/dashboard/gtb/cancel/", {}, "moderator", _gtb),
    "watch_tracking": Case("/dashboard/watchtime/tracking/", {"enabled": "0"}, "admin_user"),
    "watch_role": Case("/dashboard/watchtime/roles/777/", {"op": "disable"}, "admin_user"),
    "settings_community": Case(
        "/dashboard/settings/community/",
        {"kick_channel_slug": "newslug", "timezone": "Europe/Berlin", "command_prefix": "!"},
        "admin_user",
    ),
    "settings_watchtime": Case(
        "/dashboard/settings/watchtime/",
        {
            "tracking_enabled": "on",
            "min_active_chatters": "3",
            "active_window_s": "180",
            "role_mode": "highest",
        },
        "admin_user",
    ),
    "settings_raffle": Case(
        "/dashboard/settings/raffle/",
        {
            "tickets_per_hour": "12",
            "tickets_per_gifted_sub": "15",
            "tickets_per_1000_usd": "20",
            "wager_mode": "raw",
            "winners_count": "2",
            "commit_margin_seconds": "30",
            "max_rerolls": "3",
            "fallback_after_minutes": "10",
            "moderator_cap": "1000",
            "shuffle_campaign_codes": "streamer",
            "auto_draw": "on",
        },
        "admin_user",
    ),
    "settings_slots": Case(
        "/dashboard/settings/slots/",
        {"cooldown_s": "60", "max_open_per_user": "2", "max_length": "150"},
        "admin_user",
    ),
    "settings_linklogs": Case(
        "/dashboard/settings/linklogs/", {"enabled": "on", "channel_id": "123456789012345678"}, "admin_user"
    ),
    "settings_timer_add": Case(
        "/dashboard/settings/timer_add/",
        {"text": "Join Discord!", "interval_minutes": "30", "min_chat_lines": "5"},
        "admin_user",
    ),
    "timer_edit": Case(
        "/dashboard/settings/timers/TIMER/",
        {
            "tTIMER-text": "Edited",
            "tTIMER-interval_minutes": "20",
            "tTIMER-min_chat_lines": "0",
            "tTIMER-enabled": "on",
        },
        "admin_user",
    ),
    "timer_delete": Case("/dashboard/settings/timers/TIMER/", {"op": "delete"}, "admin_user"),
    "account_create": Case(
        "/dashboard/accounts/new/",
        {"username": "newmod", "password": "a-long-pass-phrase-9", "role": "moderator"},
        "owner",
    ),
    "account_role": Case("/dashboard/accounts/USER/role/", {"role": "moderator"}, "owner"),
    "setup": Case(
        "/dashboard/setup/",
        {"kick_channel_slug": "renamed", "timezone": "UTC", "command_prefix": "?"},
        "admin_user",
    ),
}


def _fill(text: str, world: World, request: pytest.FixtureRequest) -> str:
    text = text.replace("PERIOD", str(world.period.pk)).replace("CLAIM", str(world.claim_id))
    text = text.replace("TIMER", str(world.timer_id))
    if "USER" in text:
        text = text.replace("USER", str(request.getfixturevalue("viewer").pk))
    return text


def _request(case: Case, world: World, request: pytest.FixtureRequest) -> tuple[str, dict[str, Any]]:
    data = {_fill(k, world, request): _fill(v, world, request) for k, v in case.data.items()}
    for name, upload in case.files.items():
        upload.seek(0)
        data[name] = upload
    return _fill(case.url, world, request), data


@pytest.mark.parametrize("name", list(CASES))
def test_write_without_csrf_token_is_refused(request: pytest.FixtureRequest, world: World, name: str) -> None:
    case = CASES[name]
    client = Client(enforce_csrf_checks=True)
    client.force_login(request.getfixturevalue("owner"))
    before = AuditLog.objects.count()
    url, data = _request(case, world, request)
    assert client.post(url, data).status_code == 403
    assert AuditLog.objects.count() == before


@pytest.mark.parametrize("name", list(CASES))
def test_write_needs_login(client: Client, request: pytest.FixtureRequest, world: World, name: str) -> None:
    before = AuditLog.objects.count()
    url, data = _request(CASES[name], world, request)
    response = client.post(url, data)
    assert response.status_code == 302 and response["Location"].startswith("/dashboard/login/")
    assert AuditLog.objects.count() == before


@pytest.mark.parametrize("name", [n for n, c in CASES.items() if c.role != "viewer"])
def test_write_refuses_the_role_below(
    client: Client, request: pytest.FixtureRequest, world: World, name: str
) -> None:
    case = CASES[name]
    below = ROLE_ORDER[ROLE_ORDER.index(case.role) - 1]
    client.force_login(request.getfixturevalue(below))
    before = AuditLog.objects.count()
    url, data = _request(case, world, request)
    assert client.post(url, data).status_code == 403
    assert AuditLog.objects.count() == before


@pytest.mark.parametrize("name", list(CASES))
def test_write_by_allowed_role_is_audited(
    client: Client, request: pytest.FixtureRequest, world: World, monkeypatch: pytest.MonkeyPatch, name: str
) -> None:
    case = CASES[name]
    if case.prepare:
        case.prepare(world, monkeypatch)
    user = request.getfixturevalue(case.role)
    client.force_login(user)
    before = AuditLog.objects.count()
    url, data = _request(case, world, request)
    response = client.post(url, data, follow=True)
    assert response.status_code == 200
    errors = (
        [str(m) for m in response.context["messages"] if m.level_tag == "error"] if response.context else []
    )
    assert not errors, errors
    new = AuditLog.objects.order_by("-id")[: AuditLog.objects.count() - before]
    assert new, f"{name} wrote no audit row"
    assert any(
        row.actor_id == user.pk or row.actor_label == f"dashboard:{user.get_username()}" for row in new
    ), [(r.action, r.actor_label) for r in new]
