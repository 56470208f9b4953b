from __future__ import annotations

import os
from typing import Any

import pytest

from kickbot.models import Community
from tests.factories import PASSWORD

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

# live_server runs in a thread while Playwright's sync API drives the browser from this one.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")


def login(page: Any, live_server: Any, username: str) -> None:
    page.goto(f"{live_server.url}/dashboard/")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")


def test_owner_logs_in_and_opens_dashboard_and_health(
    page: Any, live_server: Any, owner: Any, community: Community, screenshot: Any
) -> None:
    login(page, live_server, owner.username)
    page.wait_for_selector("h1:has-text('Overview')")
    assert community.kick_channel_slug in page.inner_text("main")
    screenshot("overview")
    page.click("nav >> text=Health")
    page.wait_for_selector("h1:has-text('Health')")
    text = page.inner_text("main")
    assert "Database" in text and "Redis" in text
    screenshot("health")


def test_wrong_password_stays_on_login(page: Any, live_server: Any, viewer: Any) -> None:
    page.goto(f"{live_server.url}/dashboard/login/")
    page.fill("input[name=username]", viewer.username)
    page.fill("input[name=password]", "wrong")
    page.click("button[type=submit]")
    page.wait_for_selector("text=Please enter a correct username and password")
    assert "/dashboard/login/" in page.url


def test_phone_width_has_no_horizontal_scroll(
    browser: Any, live_server: Any, owner: Any, community: Community
) -> None:
    context = browser.new_context(viewport={"width": 390, "height": 844})
    page = context.new_page()
    login(page, live_server, owner.username)
    for path in ("/dashboard/", "/dashboard/health/", "/dashboard/setup/", "/dashboard/audit/"):
        page.goto(f"{live_server.url}{path}")
        overflow = page.evaluate(
            "document.documentElement.scrollWidth - document.documentElement.clientWidth"
        )
        assert overflow <= 0, (path, overflow)
    context.close()
