"""A fake Kick (OAuth token endpoint + /public/v1/users) behind httpx.MockTransport, and link helpers."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, urlparse

import httpx
import pytest
from django.test import Client

from accounts import link_flow
from accounts.models import LinkLogConfig
from kickbot.integrations.kick.oauth import pkce_challenge

OAUTH = "https://id.kick.test"
API = "https://api.kick.test"
PUBLIC = "https://bot.example.test"
CLIENT_ID = "kick-client-id"
CLIENT_SECRET = "kick-client-secret-value"


@dataclass
class FakeKick:
    """Kick as the link flow sees it. ``users_by_code`` decides who logs in with which code."""

    users_by_code: dict[str, tuple[int, str]] = field(default_factory=dict)
    token_status: int = 200
    requests: list[httpx.Request] = field(default_factory=list)
    challenges: dict[str, str] = field(default_factory=dict)  # state -> code_challenge
    _tokens: dict[str, tuple[int, str]] = field(default_factory=dict)

    def handle(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        url = str(request.url)
        if request.method == "POST" and url == f"{OAUTH}/oauth/token":
            form = {k: v[0] for k, v in parse_qs(request.content.decode()).items()}
            if self.token_status != 200:
                return httpx.Response(self.token_status, json={"error": "invalid_grant"})
            assert form["grant_type"] == "authorization_code"
            assert form["client_id"] == CLIENT_ID
            assert form["client_secret"] == CLIENT_SECRET
            assert form["redirect_uri"] == f"{PUBLIC}/link/callback/"
            # PKCE: the verifier sent now must match a challenge sent to /oauth/authorize.
            assert pkce_challenge(form["code_verifier"]) in self.challenges.values()
            who = self.users_by_code.get(form["code"])
            if who is None:
                return httpx.Response(400, json={"error": "invalid_grant"})
            token = f"access-{form['code']}"
            self._tokens[token] = who
            return httpx.Response(
                200,
                json={
                    "access_token": token,
                    "refresh_token": f"refresh-{form['code']}",
                    "expires_in": 3600,
                    "scope": "user:read",
                    "token_type": "Bearer",
                },
            )
        if request.method == "GET" and url == f"{API}/public/v1/users":
            token = request.headers.get("Authorization", "").removeprefix("Bearer ")
            who = self._tokens.get(token)
            if who is None:
                return httpx.Response(401, json={"message": "Unauthorized"})
            user_id, name = who
            body = {"data": [{"user_id": user_id, "name": name, "email": None, "profile_picture": None}]}
            return httpx.Response(200, content=json.dumps(body).encode())
        return httpx.Response(404, json={"message": "not found"})


@pytest.fixture(autouse=True)
def kick_settings(settings: Any) -> None:
    settings.KICK_CLIENT_ID = CLIENT_ID
    settings.KICK_CLIENT_SECRET = CLIENT_SECRET
    settings.KICK_OAUTH_BASE_URL = OAUTH
    settings.KICK_API_BASE_URL = API
    settings.PUBLIC_BASE_URL = PUBLIC


@pytest.fixture
def fake_kick(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeKick]:
    fake = FakeKick()
    transport = httpx.MockTransport(fake.handle)
    monkeypatch.setattr(link_flow, "kick_oauth_client_factory", lambda: httpx.Client(transport=transport))
    yield fake


@pytest.fixture
def link_logs(community: Any) -> LinkLogConfig:
    return LinkLogConfig.objects.create(community=community, enabled=True, channel_id=555000111)


def link_url(community: Any, discord_user_id: int) -> str:
    """A fresh signed link, as a path for the test client."""
    offer = link_flow.link_request_create(community_id=community.id, discord_user_id=discord_user_id)
    assert offer.url.startswith(f"{PUBLIC}/link/start/?t=")
    return offer.url.removeprefix(PUBLIC)


def confirm(client: Client, path: str) -> Any:
    """Open the signed link (the page that names the Discord member), then confirm it (a POST)."""
    page = client.get(path)
    assert page.status_code == 200, page.content
    assert b'name="t"' in page.content
    return client.post("/link/start/", {"t": parse_qs(urlparse(path).query)["t"][0]})


def start(client: Client, fake: FakeKick, path: str) -> str:
    """Open the signed link and confirm it; assert the redirect to Kick; return the OAuth state."""
    response = confirm(client, path)
    assert response.status_code == 302, response.content
    location = urlparse(response["Location"])
    assert f"{location.scheme}://{location.netloc}{location.path}" == f"{OAUTH}/oauth/authorize"
    query = {k: v[0] for k, v in parse_qs(location.query).items()}
    assert query["client_id"] == CLIENT_ID
    assert query["redirect_uri"] == f"{PUBLIC}/link/callback/"
    assert query["scope"] == "user:read"
    assert query["code_challenge_method"] == "S256"
    assert query["response_type"] == "code"
    fake.challenges[query["state"]] = query["code_challenge"]
    return query["state"]
