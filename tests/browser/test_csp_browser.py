"""The Content-Security-Policy in Chromium: public pages, the link page and the raffle verifier work
under it with no violation, an injected inline script is blocked, and confirmations still ask.

Served by the in-process Daphne (tests/browser/asgi_server.py) with the project's middleware, so the
header is the one production sends. The ``page`` fixture fails a test on any CSP violation,
uncaught script error or console error.
"""

from __future__ import annotations

import base64
from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone

from accounts.link_flow import link_request_create
from accounts.models import KickUser, Link
from kickbot.models import Community
from raffle.services.periods import period_open
from tests.browser import asgi_server
from tests.factories import PASSWORD

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

# A 1x1 PNG served for Discord's CDN: the browser never reaches the internet.
PIXEL = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg=="
)
AVATAR = "https://cdn.discordapp.com/avatars/42/abc.png?size=1024"


@pytest.fixture
def base_url() -> str:
    return asgi_server.start()


@pytest.fixture
def kick_app(settings: Any, base_url: str) -> str:
    """A Kick app configured; Kick's login stays the configured one (the policy's form-action names
    it), and the browser test answers it itself."""
    settings.KICK_CLIENT_ID = "client"
    settings.KICK_CLIENT_SECRET = "secret-value"
    settings.PUBLIC_BASE_URL = base_url
    return str(settings.KICK_OAUTH_BASE_URL)


def login(page: Any, base_url: str, username: str) -> None:
    page.goto(f"{base_url}/dashboard/login/")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", PASSWORD)
    page.click("main button[type=submit]")
    page.wait_for_selector("h1")


def test_public_pages_and_the_raffle_verifier_run_under_the_policy(
    page: Any, base_url: str, community: Community
) -> None:
    now = timezone.now()
    period = period_open(
        community=community,
        starts_at=now - timedelta(days=1),
        ends_at=now + timedelta(days=5),
        actor_label="t",
    )
    for path in ("/terms/", "/privacy/", "/dashboard/login/", "/admin/login/"):
        response = page.goto(f"{base_url}{path}")
        assert response.status == 200, path
        policy = response.headers["content-security-policy"]
        assert "script-src 'self'" in policy and "frame-ancestors 'none'" in policy
        assert "camera=()" in response.headers["permissions-policy"]
    page.goto(f"{base_url}/leaderboard/{community.kick_channel_slug}/")

    response = page.goto(f"{base_url}/raffle/{period.pk}/")
    # (the nonce attribute reads empty once the browser used it; the property keeps it)
    nonce = page.evaluate("() => document.querySelector('script[type=module]').nonce")
    # The module script runs only because it carries this response's nonce.
    assert nonce and f"'nonce-{nonce}'" in response.headers["content-security-policy"]
    page.click("#verify-btn")
    page.wait_for_selector("#verify-overall")


def test_an_injected_inline_script_is_blocked(browser: Any, base_url: str, db: Any) -> None:
    """The policy is enforced, not only reported: a script injected into a page does not run."""
    context = browser.new_context()  # not watched: the violation here is the expected outcome
    try:
        page = context.new_page()
        page.add_init_script(
            """window.__violations = [];
            document.addEventListener(
              "securitypolicyviolation", (e) => window.__violations.push(e.violatedDirective));"""
        )
        page.goto(f"{base_url}/terms/")
        page.evaluate(
            """() => { const s = document.createElement("script"); s.textContent = "window.injected = 1";
                       document.body.appendChild(s); }"""
        )
        page.wait_for_function("() => window.__violations.length > 0")
        assert page.evaluate("() => window.__violations") == ["script-src-elem"]
        assert page.evaluate("() => window.injected") is None
    finally:
        context.close()


def test_link_page_shows_the_member_with_the_discord_avatar_and_confirms_to_kick(
    page: Any, base_url: str, community: Community, kick_app: str
) -> None:
    page.route(
        "https://cdn.discordapp.com/**", lambda route: route.fulfill(body=PIXEL, content_type="image/png")
    )
    kick_pages: list[str] = []

    def kick(route: Any) -> None:
        kick_pages.append(route.request.url)
        route.fulfill(body="<html><body>Kick login</body></html>", content_type="text/html")

    page.route(f"{kick_app}/**", kick)
    offer = link_request_create(
        community_id=community.pk,
        discord_user_id=42,
        discord_username="alice",
        discord_display_name="Alice <b>A</b>",
        discord_avatar_url=AVATAR,
    )

    page.goto(offer.url)

    assert page.inner_text("#link-member-name") == "Alice <b>A</b>"
    page.wait_for_function("() => document.querySelector('#link-member img').naturalWidth === 1")
    page.click("#link-confirm")
    page.wait_for_function("() => document.body.innerText.includes('Kick login')")
    assert kick_pages and kick_pages[0].startswith(f"{kick_app}/oauth/authorize?")


def test_a_confirmation_still_asks_without_inline_handlers(
    page: Any, base_url: str, community: Community, owner: Any
) -> None:
    Link.objects.create(discord_user_id=555, kick_user=KickUser.objects.create(user_id=1001, username="Fan"))
    login(page, base_url, owner.username)
    page.goto(f"{base_url}/dashboard/users/1001/")
    asked: list[str] = []

    def answer(dialog: Any, accept: bool) -> None:
        asked.append(dialog.message)
        dialog.accept() if accept else dialog.dismiss()

    page.once("dialog", lambda d: answer(d, False))
    page.click("form[data-confirm] button[type=submit]")
    assert asked == ["Unlink this Discord account? Their watchtime roles are removed."]
    assert Link.objects.filter(discord_user_id=555).exists()

    page.once("dialog", lambda d: answer(d, True))
    with page.expect_navigation():
        page.click("form[data-confirm] button[type=submit]")
    assert len(asked) == 2
    assert not Link.objects.filter(discord_user_id=555).exists()
