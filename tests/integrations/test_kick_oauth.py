"""Kick OAuth client: PKCE, authorize URL, token exchange/refresh/revoke and their failure paths."""

from __future__ import annotations

import base64
import json
import re
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from kickbot.integrations.kick import (
    KickAuthError,
    KickBadResponse,
    KickError,
    KickOAuth,
    KickUnavailable,
    RateLimited,
    TokenSet,
    authorize_url,
    pkce_challenge,
    pkce_pair,
)

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "kick" / "api"
BASE = "https://id.kick.test"
NOW = datetime(2025, 6, 6, 18, 0, tzinfo=UTC)
CLIENT_SECRET = "client-secret-xyz"
CODE = "auth-code-123"
VERIFIER = "verifier-" + "v" * 50
REFRESH = "refresh-token-abc"


def token_body() -> dict[str, object]:
    return json.loads((FIXTURES / "oauth_token.json").read_text())


class Recorder:
    """MockTransport handler that replays scripted answers and records every request."""

    def __init__(
        self, *answers: httpx.Response | Exception | Callable[[httpx.Request], httpx.Response]
    ) -> None:
        self.answers = list(answers)
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        answer = self.answers.pop(0)
        if isinstance(answer, Exception):
            raise answer
        if callable(answer):
            return answer(request)
        return answer


def make_oauth(recorder: Recorder) -> KickOAuth:
    client = httpx.Client(transport=httpx.MockTransport(recorder))
    return KickOAuth(
        base_url=BASE + "/",
        client_id="client-id-1",
        client_secret=CLIENT_SECRET,
        client=client,
        clock=lambda: NOW,
    )


def form_of(request: httpx.Request) -> dict[str, str]:
    return {key: values[0] for key, values in parse_qs(request.content.decode()).items()}


def test_pkce_challenge_matches_rfc7636_appendix_b() -> None:
    # The RFC's verifier is the base64url of these 32 octets; its S256 challenge is printed beside it.
    octets = bytes.fromhex("7418dfb49799e0254ffa607dd8adbbba16d4254d69d6bff05b58055853848d79")
    verifier = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"
    assert base64.urlsafe_b64encode(octets).rstrip(b"=").decode() == verifier
    assert pkce_challenge(verifier) == "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"


def test_pkce_pair_verifier_is_rfc_shaped_and_matches_its_challenge() -> None:
    verifier, challenge = pkce_pair()
    assert 43 <= len(verifier) <= 128
    assert re.fullmatch(r"[A-Za-z0-9\-._~]+", verifier)
    assert challenge == pkce_challenge(verifier)
    assert "=" not in challenge


def test_pkce_pair_is_fresh_each_time() -> None:
    assert pkce_pair()[0] != pkce_pair()[0]


def test_authorize_url_carries_every_documented_param() -> None:
    url = authorize_url(
        base_url=BASE + "/",
        client_id="client-id-1",
        redirect_uri="https://bot.example/kick/callback",
        scopes=["user:read", "chat:write", "events:subscribe"],
        state="state-42",
        code_challenge="challenge-abc",
    )
    parts = urlsplit(url)
    assert f"{parts.scheme}://{parts.netloc}{parts.path}" == f"{BASE}/oauth/authorize"
    assert parse_qs(parts.query) == {
        "response_type": ["code"],
        "client_id": ["client-id-1"],
        "redirect_uri": ["https://bot.example/kick/callback"],
        "scope": ["user:read chat:write events:subscribe"],
        "code_challenge": ["challenge-abc"],
        "code_challenge_method": ["S256"],
        "state": ["state-42"],
    }
    assert "scope=user%3Aread%20chat%3Awrite" in url


def test_exchange_code_posts_the_documented_form_and_returns_tokens() -> None:
    recorder = Recorder(httpx.Response(200, json=token_body()))
    tokens = make_oauth(recorder).exchange_code(
        code=CODE, redirect_uri="https://bot.example/kick/callback", code_verifier=VERIFIER
    )
    (request,) = recorder.requests
    assert request.method == "POST"
    assert str(request.url) == f"{BASE}/oauth/token"
    assert request.headers["Content-Type"] == "application/x-www-form-urlencoded"
    assert "Authorization" not in request.headers
    assert form_of(request) == {
        "grant_type": "authorization_code",
        "client_id": "client-id-1",
        "client_secret": CLIENT_SECRET,
        "redirect_uri": "https://bot.example/kick/callback",
        "code_verifier": VERIFIER,
        "code": CODE,
    }
    assert tokens == TokenSet(
        access_token="fixture-access-token",
        refresh_token="fixture-refresh-token",
        expires_at=NOW + timedelta(seconds=7200),
        scope="user:read channel:read chat:write events:subscribe",
        token_type="Bearer",
    )
    assert tokens.expires_at.tzinfo is UTC


def test_exchange_code_accepts_expires_in_as_a_string_like_the_docs_show() -> None:
    body = token_body() | {"expires_in": "3600"}
    tokens = make_oauth(Recorder(httpx.Response(200, json=body))).exchange_code(
        code=CODE, redirect_uri="https://r", code_verifier=VERIFIER
    )
    assert tokens.expires_at == NOW + timedelta(seconds=3600)


def test_refresh_posts_refresh_grant() -> None:
    recorder = Recorder(httpx.Response(200, json=token_body()))
    tokens = make_oauth(recorder).refresh(refresh_token=REFRESH)
    (request,) = recorder.requests
    assert request.method == "POST"
    assert str(request.url) == f"{BASE}/oauth/token"
    assert form_of(request) == {
        "grant_type": "refresh_token",
        "client_id": "client-id-1",
        "client_secret": CLIENT_SECRET,
        "refresh_token": REFRESH,
    }
    assert tokens.refresh_token == "fixture-refresh-token"


def test_refresh_keeps_the_old_refresh_token_when_kick_omits_it() -> None:
    body = token_body()
    del body["refresh_token"]
    tokens = make_oauth(Recorder(httpx.Response(200, json=body))).refresh(refresh_token=REFRESH)
    assert tokens.refresh_token == REFRESH


def test_revoke_sends_token_and_hint_as_query_like_the_docs() -> None:
    recorder = Recorder(httpx.Response(200, text="OK"))
    make_oauth(recorder).revoke(token="access-to-revoke", token_hint_type="access_token")
    (request,) = recorder.requests
    assert request.method == "POST"
    assert request.url.path == "/oauth/revoke"
    assert dict(request.url.params) == {"token": "access-to-revoke", "token_hint_type": "access_token"}


def test_revoke_refuses_an_unknown_hint() -> None:
    with pytest.raises(ValueError):
        make_oauth(Recorder()).revoke(token="t", token_hint_type="id_token")


@pytest.mark.parametrize(
    ("response", "error"),
    [
        (httpx.Response(400, json={"error": "invalid_grant"}), KickAuthError),
        (httpx.Response(400, json={"error": "Invalid request"}), KickAuthError),
        (httpx.Response(401, json={"error": "unauthorized"}), KickAuthError),
        (httpx.Response(404, text="nope"), KickError),
        (httpx.Response(500, text="boom"), KickUnavailable),
        (httpx.Response(200, text="<html>not json</html>"), KickBadResponse),
        (httpx.Response(200, json={"token_type": "Bearer", "expires_in": 60}), KickBadResponse),
        (httpx.Response(200, json={"access_token": "a", "refresh_token": "r"}), KickBadResponse),
        (httpx.Response(200, json=["not", "an", "object"]), KickBadResponse),
    ],
)
def test_refresh_failures_map_to_typed_errors(response: httpx.Response, error: type[KickError]) -> None:
    recorder = Recorder(response)
    with pytest.raises(error) as caught:
        make_oauth(recorder).refresh(refresh_token=REFRESH)
    assert type(caught.value) is error
    assert len(recorder.requests) == 1  # no retries on the token endpoint


def test_rate_limited_token_call_reports_retry_after() -> None:
    recorder = Recorder(httpx.Response(429, headers={"Retry-After": "2"}))
    with pytest.raises(RateLimited) as caught:
        make_oauth(recorder).refresh(refresh_token=REFRESH)
    assert caught.value.retry_after == 2.0


def test_timeout_becomes_unavailable_without_a_retry() -> None:
    recorder = Recorder(httpx.ReadTimeout("timed out"))
    with pytest.raises(KickUnavailable) as caught:
        make_oauth(recorder).exchange_code(code=CODE, redirect_uri="https://r", code_verifier=VERIFIER)
    assert len(recorder.requests) == 1
    assert caught.value.__cause__ is None


@pytest.mark.parametrize(
    "action",
    ["exchange", "refresh", "revoke"],
)
def test_secrets_echoed_by_kick_never_reach_error_text(action: str) -> None:
    echo = f"bad {CODE} {VERIFIER} {REFRESH} {CLIENT_SECRET} revoke-me"
    recorder = Recorder(httpx.Response(400, json={"error": "invalid_grant", "message": echo}))
    oauth = make_oauth(recorder)
    with pytest.raises(KickAuthError) as caught:
        if action == "exchange":
            oauth.exchange_code(code=CODE, redirect_uri="https://r", code_verifier=VERIFIER)
        elif action == "refresh":
            oauth.refresh(refresh_token=REFRESH)
        else:
            oauth.revoke(token="revoke-me")
    sent = {"exchange": (CODE, VERIFIER), "refresh": (REFRESH,), "revoke": ("revoke-me",)}[action]
    text = str(caught.value) + repr(caught.value)
    assert "invalid_grant" in text
    for secret in (*sent, CLIENT_SECRET):
        assert secret not in text


def test_revoke_transport_error_does_not_chain_the_url_with_the_token() -> None:
    recorder = Recorder(httpx.ConnectError("connection refused"))
    with pytest.raises(KickUnavailable) as caught:
        make_oauth(recorder).revoke(token="revoke-me")
    assert caught.value.__cause__ is None
    assert "revoke-me" not in str(caught.value)


def test_reprs_hide_tokens_and_secret() -> None:
    tokens = TokenSet(
        access_token="access-secret",
        refresh_token="refresh-secret",
        expires_at=NOW,
        scope="user:read",
        token_type="Bearer",
    )
    oauth = make_oauth(Recorder())
    assert "access-secret" not in repr(tokens)
    assert "refresh-secret" not in repr(tokens)
    assert CLIENT_SECRET not in repr(oauth)


def test_owned_client_is_closed_by_the_context_manager() -> None:
    with KickOAuth(base_url=BASE, client_id="c", client_secret="s") as oauth:
        inner = oauth._client
    assert inner.is_closed
