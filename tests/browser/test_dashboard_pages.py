"""Dashboard pages in Chromium: roles, the live feed over the WebSocket, charts, phone width, screenshots.

Served by an in-process Daphne (tests/browser/asgi_server.py) so ``/ws/dashboard/`` works.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone

from accounts.models import KickUser, Link
from kickbot.models import Community
from raffle.services.periods import period_open
from raffle.services.tickets import tickets_admin_adjust
from slots.services import slot_request_create
from tests.browser import asgi_server
from tests.factories import PASSWORD
from watchtime.models import WatchTick

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


MAIN_PAGES = {
    "overview": "/dashboard/",
    "users": "/dashboard/users/?q=slot",
    "user": "/dashboard/users/1001/",
    "raffle": "/dashboard/raffle/",
    "slots": "/dashboard/slots/",
    "gtb": "/dashboard/gtb/",
    "hunts": "/dashboard/hunts/",
    "watchtime": "/dashboard/watchtime/",
    "settings": "/dashboard/settings/",
    "accounts": "/dashboard/accounts/",
}
# Navigation each role should see (and not see).
NAV = {
    "viewer": (
        {"Overview", "Viewers", "Raffle", "Slots", "GTB", "Hunts", "Watchtime", "Health"},
        {"Settings", "Accounts", "Audit log"},
    ),
    "moderator": ({"Overview", "Viewers", "Slots", "GTB"}, {"Settings", "Accounts", "Audit log"}),
    "admin_user": ({"Settings", "Setup", "Audit log"}, {"Accounts"}),
    "owner": ({"Settings", "Accounts", "Audit log"}, set()),
}
FORBIDDEN = {
    "viewer": "/dashboard/settings/",
    "moderator": "/dashboard/settings/",
    "admin_user": "/dashboard/accounts/",
}


@pytest.fixture
def base_url() -> str:
    return asgi_server.start()


@pytest.fixture
def world(community: Community) -> Community:
    now = timezone.now()
    period_open(
        community=community,
        starts_at=now - timedelta(days=1),
        ends_at=now + timedelta(days=10),
        actor_label="t",
    )
    Link.objects.create(
        discord_user_id=555, kick_user=KickUser.objects.create(user_id=1001, username="SlotFan")
    )
    tickets_admin_adjust(
        community_id=community.pk, kick_user_id=1001, amount=40, remove=False, reason="seed", actor_label="t"
    )
    slot_request_create(
        community_id=community.pk, kick_user_id=1001, username="SlotFan", text="book of dead", message_id="m1"
    )
    for i in range(3):
        WatchTick.objects.create(
            community=community, bucket=now - timedelta(days=i, minutes=1), viewers=10 + i, minutes=1
        )
    return community


def login(page: Any, base_url: str, username: str) -> None:
    page.goto(f"{base_url}/dashboard/login/")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", PASSWORD)
    page.click("main button[type=submit]")
    page.wait_for_selector("h1")


def _nav(page: Any) -> set[str]:
    return {t.strip() for t in page.locator("nav.nav a").all_inner_texts()}


@pytest.mark.parametrize("role", list(NAV))
def test_each_role_sees_only_what_it_may(
    new_context: Any, base_url: str, world: Community, request: pytest.FixtureRequest, role: str
) -> None:
    user = request.getfixturevalue(role)
    context = new_context(viewport={"width": 1280, "height": 800})
    page = context.new_page()
    login(page, base_url, user.username)
    shown, hidden = NAV[role]
    nav = _nav(page)
    assert shown <= nav and not (hidden & nav), nav
    if role in FORBIDDEN:
        response = page.goto(f"{base_url}{FORBIDDEN[role]}")
        assert response is not None and response.status == 403
    page.goto(f"{base_url}/dashboard/slots/")
    has_pick = page.locator("#queue button:has-text('Pick random')").count() > 0
    assert has_pick == (role != "viewer")
    context.close()


def test_moderator_gives_tickets_and_the_overview_feed_shows_it(
    new_context: Any, base_url: str, world: Community, viewer: Any, moderator: Any
) -> None:
    watcher_ctx = new_context()
    watcher = watcher_ctx.new_page()
    login(watcher, base_url, viewer.username)
    watcher.goto(f"{base_url}/dashboard/")
    watcher.wait_for_selector("body[data-live=connected]", timeout=10_000)

    mod_ctx = new_context()
    mod = mod_ctx.new_page()
    login(mod, base_url, moderator.username)
    mod.goto(f"{base_url}/dashboard/users/1001/")
    mod.fill("#amount", "7")
    mod.fill("#reason", "raid bonus")
    mod.click("form[action$='/tickets/'] button[type=submit]")
    mod.wait_for_selector("text=Gave 7 tickets")

    item = watcher.locator("[data-live-feed] li[data-kind='raffle.tickets']").first
    item.wait_for(timeout=10_000)
    assert "gave 7 tickets to SlotFan (raid bonus)" in item.inner_text()
    watcher_ctx.close()
    mod_ctx.close()


def test_overview_feed_shows_what_happened_before_the_page_loaded_after_a_refresh_too(
    page: Any, base_url: str, world: Community, viewer: Any
) -> None:
    login(page, base_url, viewer.username)
    for _ in range(2):  # the first load, then a refresh
        page.goto(f"{base_url}/dashboard/")
        page.wait_for_selector("body[data-live-history=loaded]", timeout=10_000)
        items = page.locator("[data-live-feed] li[data-kind='raffle.tickets']")
        assert items.count() == 1  # the world's one admin gift, once
        assert "gave 40 tickets to SlotFan (seed)" in items.first.inner_text()
        assert page.locator("[data-live-feed] li.muted").count() == 0


def test_overview_charts_render_with_data(
    page: Any, base_url: str, world: Community, owner: Any, screenshot: Any
) -> None:
    login(page, base_url, owner.username)
    page.goto(f"{base_url}/dashboard/")
    page.wait_for_function("document.querySelectorAll('canvas[data-ready=\"1\"]').length === 4")
    charts = page.evaluate(
        """() => Array.from(document.querySelectorAll('canvas[data-chart]')).map((c) => {
            const chart = Chart.getChart(c);
            if (!chart) return null;
            return chart.data.datasets.reduce((n, d) => n + d.data.reduce((a, b) => a + b, 0), 0);
        })"""
    )
    assert None not in charts, charts
    watch, tickets, requests, _links = charts
    assert watch > 0 and tickets == 40 and requests == 1
    screenshot("dashboard-overview")


def test_screenshots_of_each_main_page(
    page: Any, base_url: str, world: Community, owner: Any, screenshot: Any
) -> None:
    login(page, base_url, owner.username)
    for name, path in MAIN_PAGES.items():
        response = page.goto(f"{base_url}{path}")
        assert response is not None and response.status == 200, name
        page.wait_for_load_state("networkidle")
        screenshot(f"dashboard-{name}")


def test_phone_width_has_no_horizontal_scroll_on_main_pages(
    new_context: Any, base_url: str, world: Community, owner: Any
) -> None:
    context = new_context(viewport={"width": 390, "height": 844})
    page = context.new_page()
    login(page, base_url, owner.username)
    problems = {}
    for name, path in MAIN_PAGES.items():
        page.goto(f"{base_url}{path}")
        page.wait_for_load_state("networkidle")
        overflow = page.evaluate(
            "document.documentElement.scrollWidth - document.documentElement.clientWidth"
        )
        if overflow > 0:
            problems[name] = overflow
        if name in ("overview", "slots", "settings"):
            page.screenshot(path=str(_artifact(f"dashboard-{name}-390")), full_page=True)
    context.close()
    assert not problems, problems


def _artifact(name: str) -> Any:
    from tests.browser.conftest import ARTIFACTS

    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    return ARTIFACTS / f"{name}.png"
