"""Attacks on the account-link flow and on redirects: forged, expired, replayed, mixed-up, open redirect.

The happy path and each refusal reason are tested in tests/accounts/test_link_flow.py; here are
the attacks, phrased as an attacker would try them, each asserting that nothing was linked.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any
from urllib.parse import urlparse

import httpx
import pytest
import time_machine
from django.test import Client
from django.utils import timezone

from accounts import link_flow
from accounts.models import Link, OAuthState
from tests.accounts import conftest as link_fakes
from tests.accounts.conftest import FakeKick, link_url, start

pytestmark = pytest.mark.django_db

MALLORY_DISCORD = 666_000_000_000_000_066
VICTIM_DISCORD = 111_000_000_000_000_001
VICTIM_KICK = (4_242, "Victim_On_Kick")


@pytest.fixture(autouse=True)
def _kick_app(settings: Any) -> None:
    settings.KICK_CLIENT_ID = link_fakes.CLIENT_ID
    settings.KICK_CLIENT_SECRET = link_fakes.CLIENT_SECRET
    settings.KICK_OAUTH_BASE_URL = link_fakes.OAUTH
    settings.KICK_API_BASE_URL = link_fakes.API
    settings.PUBLIC_BASE_URL = link_fakes.PUBLIC


@pytest.fixture
def fake_kick(monkeypatch: pytest.MonkeyPatch) -> FakeKick:
    fake = FakeKick()
    transport = httpx.MockTransport(fake.handle)
    monkeypatch.setattr(link_flow, "kick_oauth_client_factory", lambda: httpx.Client(transport=transport))
    return fake


def test_forged_link_token_links_nothing(client: Client, community: Any) -> None:
    from django.core import signing

    forged = signing.dumps("made-up-nonce", key="not-our-secret", salt="accounts.link")
    response = client.get("/link/start/", {"t": forged})
    assert response.status_code == 400
    assert not OAuthState.objects.exists()


def test_expired_link_cannot_be_used_even_a_second_late(client: Client, community: Any) -> None:
    path = link_url(community, VICTIM_DISCORD)
    with time_machine.travel(timezone.now() + timedelta(minutes=10, seconds=1)):
        response = client.get(path)
    assert response.status_code == 410
    assert not OAuthState.objects.exists()


def test_link_from_the_future_clock_skew_is_not_valid_before_it_was_made(
    client: Client, community: Any
) -> None:
    # A link made "in the future" (a server with a fast clock) must not extend its own life.
    with time_machine.travel(timezone.now() + timedelta(hours=1)):
        path = link_url(community, VICTIM_DISCORD)
    with time_machine.travel(timezone.now() + timedelta(hours=1, minutes=11)):
        assert client.get(path).status_code == 410


def test_replayed_callback_links_once(client: Client, community: Any, fake_kick: FakeKick) -> None:
    fake_kick.users_by_code["code"] = VICTIM_KICK
    state = start(client, fake_kick, link_url(community, VICTIM_DISCORD))
    assert client.get("/link/callback/", {"code": "code", "state": state}).status_code == 200
    replay = client.get("/link/callback/", {"code": "code", "state": state})
    assert replay.status_code == 410
    assert Link.objects.count() == 1


def test_state_of_one_user_completed_in_another_users_browser_links_nothing(
    community: Any, fake_kick: FakeKick
) -> None:
    """Login CSRF: Mallory opens her own link, hands Kick's authorise URL to the victim, who logs in
    on Kick; the callback then arrives in the victim's browser with Mallory's state. Without the
    browser binding this linked the victim's Kick account to Mallory's Discord (docs/lessons.md #8)."""
    mallory, victim = Client(), Client()
    mallory_state = start(mallory, fake_kick, link_url(community, MALLORY_DISCORD))
    fake_kick.users_by_code["victim-code"] = VICTIM_KICK

    response = victim.get("/link/callback/", {"code": "victim-code", "state": mallory_state})

    assert response.status_code == 400
    assert not Link.objects.exists()
    assert not any(r.url.path == "/public/v1/users" for r in fake_kick.requests)  # code never exchanged


def test_two_users_states_swapped_between_their_browsers_link_nobody(
    community: Any, fake_kick: FakeKick
) -> None:
    alice, bob = Client(), Client()
    alice_state = start(alice, fake_kick, link_url(community, VICTIM_DISCORD))
    bob_state = start(bob, fake_kick, link_url(community, MALLORY_DISCORD))
    fake_kick.users_by_code.update({"a": VICTIM_KICK, "b": (5_555, "Bob")})

    assert alice.get("/link/callback/", {"code": "a", "state": bob_state}).status_code == 400
    assert bob.get("/link/callback/", {"code": "b", "state": alice_state}).status_code == 400
    assert not Link.objects.exists()
    # both states were burned by the refused callbacks: each starts again with a new link
    assert alice.get("/link/callback/", {"code": "a", "state": alice_state}).status_code == 410
    assert not Link.objects.exists()


def test_callback_refused_in_another_browser_cannot_be_replayed_in_the_starters_browser(
    community: Any, fake_kick: FakeKick
) -> None:
    """Mallory hands Kick's authorise URL of her own link to the victim; the victim logs in on Kick
    and their browser is refused ("started in another browser"). That callback URL carries a code
    for the victim's Kick login: replayed in Mallory's own browser, it must link nothing."""
    mallory, victim = Client(), Client()
    mallory_state = start(mallory, fake_kick, link_url(community, MALLORY_DISCORD))
    fake_kick.users_by_code["victim-code"] = VICTIM_KICK
    callback = f"/link/callback/?code=victim-code&state={mallory_state}"

    refused = victim.get(callback)
    replayed = mallory.get(callback)

    assert refused.status_code == 400 and b"another browser" in refused.content
    assert replayed.status_code == 410
    assert not Link.objects.exists()
    assert fake_kick.requests == []  # the victim's code was never exchanged
    assert OAuthState.objects.get(state=mallory_state).used_at is not None


def test_opening_a_link_someone_sent_you_names_their_discord_account_and_links_nothing(
    community: Any, fake_kick: FakeKick
) -> None:
    """Mallory sends her link to a victim logged in to Kick: the page names Mallory's Discord
    account and asks to confirm; merely opening it uses nothing and never reaches Kick."""
    offer = link_flow.link_request_create(
        community_id=community.id,
        discord_user_id=MALLORY_DISCORD,
        discord_username="mallory",
        discord_display_name="Mallory M",
        discord_avatar_url="https://cdn.discordapp.com/avatars/666/abc.png?size=1024",
    )
    victim = Client()

    page = victim.get(offer.url.removeprefix(link_fakes.PUBLIC))

    assert page.status_code == 200
    assert b"Mallory M" in page.content and b"@mallory" in page.content
    assert b'src="https://cdn.discordapp.com/avatars/666/abc.png?size=1024"' in page.content
    assert b"Continue only if this is <strong>your</strong> Discord account" in page.content
    assert not OAuthState.objects.exists()
    assert fake_kick.requests == []


def test_confirming_a_link_needs_the_pages_csrf_token(community: Any, fake_kick: FakeKick) -> None:
    """A site that auto-submits the confirmation form for a visitor gets 403, not a Kick redirect."""
    path = link_url(community, VICTIM_DISCORD)
    token = path.split("t=", 1)[1]
    browser = Client(enforce_csrf_checks=True)

    forged = browser.post("/link/start/", {"t": token})
    assert forged.status_code == 403
    assert not OAuthState.objects.exists()

    page = browser.get(path)
    csrf = page.context["csrf_token"]
    assert browser.post("/link/start/", {"t": token, "csrfmiddlewaretoken": str(csrf)}).status_code == 302


def test_link_pages_ignore_redirect_parameters(client: Client, community: Any, fake_kick: FakeKick) -> None:
    fake_kick.users_by_code["c"] = VICTIM_KICK
    path = link_url(community, VICTIM_DISCORD)
    assert client.get(path + "&next=https://evil.example/").status_code == 200
    response = client.post(
        "/link/start/?next=https://evil.example/",
        {
            "t": path.split("t=", 1)[1],
            "next": "https://evil.example/",
            "redirect_uri": "https://evil.example/cb",
        },
    )
    assert response.status_code == 302
    location = urlparse(response["Location"])
    assert location.netloc == "id.kick.test"
    assert "evil.example" not in response["Location"]


EVIL_NEXT = [
    "https://evil.example/",
    "//evil.example/",
    "/\\evil.example",
    "https:evil.example",
    "javascript:alert(1)",
]


@pytest.mark.parametrize("evil", EVIL_NEXT)
def test_login_next_parameter_never_leaves_the_site(client: Client, viewer: Any, evil: str) -> None:
    from tests.factories import PASSWORD

    response = client.post(
        f"/dashboard/login/?next={evil}", {"username": viewer.username, "password": PASSWORD}
    )
    assert response.status_code == 302
    assert response["Location"].startswith("/")
    assert not response["Location"].startswith("//")
    assert "evil.example" not in response["Location"]


@pytest.mark.parametrize("evil", [*EVIL_NEXT, "//evil.example/dashboard/", "/dashboard/../\\evil"])
def test_community_switch_next_never_leaves_the_site(
    client: Client, viewer: Any, community: Any, evil: str
) -> None:
    client.force_login(viewer)
    response = client.post("/dashboard/community/", {"community_id": community.pk, "next": evil})
    assert response.status_code == 302
    assert urlparse(response["Location"]).netloc == ""
    assert not response["Location"].startswith("//")
