from __future__ import annotations

from typing import Any

import pytest

from kickbot.models import Community
from tests.browser import asgi_server
from tests.factories import PASSWORD

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def base_url() -> str:
    """Daphne in a thread (tests/browser/asgi_server.py): the dashboard's live feed needs WebSockets."""
    return asgi_server.start()


def login(page: Any, base_url: str, username: str) -> None:
    page.goto(f"{base_url}/dashboard/")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")


def test_owner_logs_in_and_opens_dashboard_and_health(
    page: Any, base_url: str, owner: Any, community: Community, screenshot: Any
) -> None:
    login(page, base_url, owner.username)
    page.wait_for_selector("h1:has-text('Overview')")
    assert community.kick_channel_slug in page.inner_text("main")
    screenshot("overview")
    page.click("nav >> text=Health")
    page.wait_for_selector("h1:has-text('Health')")
    text = page.inner_text("main")
    assert "Database" in text and "Redis" in text
    screenshot("health")


def test_wrong_password_stays_on_login(page: Any, base_url: str, viewer: Any) -> None:
    page.goto(f"{base_url}/dashboard/login/")
    page.fill("input[name=username]", viewer.username)
    page.fill("input[name=password]", "wrong")
    page.click("button[type=submit]")
    page.wait_for_selector("text=Please enter a correct username and password")
    assert "/dashboard/login/" in page.url


def test_phone_width_has_no_horizontal_scroll(
    new_context: Any, base_url: str, owner: Any, community: Community
) -> None:
    context = new_context(viewport={"width": 390, "height": 844})
    page = context.new_page()
    login(page, base_url, owner.username)
    for path in ("/dashboard/", "/dashboard/health/", "/dashboard/setup/", "/dashboard/audit/"):
        page.goto(f"{base_url}{path}")
        overflow = page.evaluate(
            "document.documentElement.scrollWidth - document.documentElement.clientWidth"
        )
        assert overflow <= 0, (path, overflow)
    context.close()
