"""Kick OAuth 2.1 (authorization code + PKCE) on id.kick.com: authorize URL, exchange, refresh, revoke."""

from __future__ import annotations

import base64
import hashlib
import json
import logging
import secrets
from collections.abc import Callable, Iterable, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import quote, urlencode

import httpx

from kickbot.integrations._http import OwnedHttpClient

from .errors import (
    KickAuthError,
    KickBadResponse,
    KickError,
    KickUnavailable,
    RateLimited,
    retry_after_seconds,
    server_message,
)
from .types import TokenSet

log = logging.getLogger(__name__)

# Statuses on the token endpoint that mean "this grant or these credentials are refused": our requests are
# well-formed, so Kick's documented 400 {"error": "Invalid request"} is a dead code/refresh token, not a bug.
_AUTH_STATUSES = frozenset({400, 401, 403})


def _utcnow() -> datetime:
    return datetime.now(UTC)


def pkce_challenge(verifier: str) -> str:
    """Return the S256 code challenge for a verifier (RFC 7636 §4.2): base64url(sha256), no padding."""
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


def pkce_pair() -> tuple[str, str]:
    """Return a fresh (verifier, challenge); the verifier is 86 urlsafe chars (RFC 7636 allows 43-128)."""
    verifier = secrets.token_urlsafe(64)
    return verifier, pkce_challenge(verifier)


def authorize_url(
    *,
    base_url: str,
    client_id: str,
    redirect_uri: str,
    scopes: list[str],
    state: str,
    code_challenge: str,
) -> str:
    """Return the URL that sends the user to Kick's consent page; scopes are space-separated."""
    params = {
        "response_type": "code",
        "client_id": client_id,
        "redirect_uri": redirect_uri,
        "scope": " ".join(scopes),
        "code_challenge": code_challenge,
        "code_challenge_method": "S256",
        "state": state,
    }
    return f"{base_url.rstrip('/')}/oauth/authorize?{urlencode(params, quote_via=quote)}"


def build_token_request(*, base_url: str, form: Mapping[str, str], timeout: float) -> httpx.Request:
    """Build the form-encoded POST {base}/oauth/token request."""
    return httpx.Request(
        "POST",
        f"{base_url.rstrip('/')}/oauth/token",
        data=dict(form),
        headers={"Accept": "application/json"},
        extensions={"timeout": httpx.Timeout(timeout).as_dict()},
    )


def build_revoke_request(*, base_url: str, token: str, token_hint_type: str, timeout: float) -> httpx.Request:
    """Build POST {base}/oauth/revoke; Kick documents `token` and `token_hint_type` as query parameters."""
    return httpx.Request(
        "POST",
        f"{base_url.rstrip('/')}/oauth/revoke",
        params={"token": token, "token_hint_type": token_hint_type},
        headers={"Accept": "application/json"},
        extensions={"timeout": httpx.Timeout(timeout).as_dict()},
    )


def raise_for_oauth_status(response: httpx.Response, *, action: str, hide: Iterable[str | None]) -> None:
    """Raise the typed error for a non-2xx answer from id.kick.com; return when the status is 2xx."""
    status = response.status_code
    if 200 <= status < 300:
        return
    detail = server_message(response, hide)
    suffix = f": {detail}" if detail else ""
    if status == 429:
        raise RateLimited(
            f"Kick OAuth {action} rate limited{suffix}", retry_after=retry_after_seconds(response)
        )
    if status >= 500:
        raise KickUnavailable(f"Kick OAuth {action} failed with {status}{suffix}", status_code=status)
    if status in _AUTH_STATUSES or "invalid_grant" in detail:
        raise KickAuthError(f"Kick OAuth {action} refused ({status}){suffix}", status_code=status)
    raise KickError(f"Kick OAuth {action} returned {status}{suffix}", status_code=status)


def _expires_in(value: Any) -> int:
    # The docs show every field as a string in the example; accept "3600" as well as 3600.
    if isinstance(value, bool):
        raise ValueError("boolean expires_in")
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        return int(value)
    if isinstance(value, str) and value.strip().isdigit():
        return int(value.strip())
    raise ValueError("expires_in is not a number")


def parse_token_response(
    response: httpx.Response, *, now: datetime, fallback_refresh_token: str | None = None
) -> TokenSet:
    """Parse a 2xx token endpoint body into a TokenSet; missing or malformed fields raise KickBadResponse."""

    def bad(what: str) -> KickBadResponse:
        return KickBadResponse(f"Kick OAuth token response {what}", status_code=response.status_code)

    try:
        body = response.json()
    except (json.JSONDecodeError, UnicodeDecodeError):
        raise bad("is not JSON") from None
    if not isinstance(body, dict):
        raise bad("is not an object")
    access_token = body.get("access_token")
    refresh_token = body.get("refresh_token") or fallback_refresh_token
    if not isinstance(access_token, str) or not access_token:
        raise bad("has no access_token")
    if not isinstance(refresh_token, str) or not refresh_token:
        raise bad("has no refresh_token")
    try:
        expires_in = _expires_in(body.get("expires_in"))
    except ValueError:
        raise bad("has no usable expires_in") from None
    scope = body.get("scope")
    token_type = body.get("token_type")
    return TokenSet(
        access_token=access_token,
        refresh_token=refresh_token,
        expires_at=now + timedelta(seconds=expires_in),
        scope=scope if isinstance(scope, str) else "",
        token_type=token_type if isinstance(token_type, str) and token_type else "Bearer",
    )


class KickOAuth(OwnedHttpClient):
    """Sync client for id.kick.com; no retries: codes are single-use and refresh tokens rotate."""

    def __init__(
        self,
        *,
        base_url: str,
        client_id: str,
        client_secret: str,
        client: httpx.Client | None = None,
        owns_client: bool | None = None,
        timeout: float = 10.0,
        clock: Callable[[], datetime] = _utcnow,
    ) -> None:
        super().__init__(client=client, owns_client=owns_client, timeout=timeout)
        self._base_url = base_url.rstrip("/")
        self._client_id = client_id
        self._client_secret = client_secret
        self._clock = clock

    def __repr__(self) -> str:
        return f"KickOAuth(base_url={self._base_url!r}, client_id={self._client_id!r})"

    def exchange_code(self, *, code: str, redirect_uri: str, code_verifier: str) -> TokenSet:
        """Exchange an authorization code for tokens (grant_type=authorization_code); a code works once."""
        form = {
            "grant_type": "authorization_code",
            "client_id": self._client_id,
            "client_secret": self._client_secret,
            "redirect_uri": redirect_uri,
            "code_verifier": code_verifier,
            "code": code,
        }
        return self._token(form, action="code exchange", hide=(code, code_verifier))

    def refresh(self, *, refresh_token: str) -> TokenSet:
        """Trade a refresh token for a new pair (grant_type=refresh_token); store the new refresh token."""
        form = {
            "grant_type": "refresh_token",
            "client_id": self._client_id,
            "client_secret": self._client_secret,
            "refresh_token": refresh_token,
        }
        return self._token(form, action="refresh", hide=(refresh_token,), fallback=refresh_token)

    def revoke(self, *, token: str, token_hint_type: str = "access_token") -> None:  # noqa: S107
        """Revoke an access or refresh token (POST {base}/oauth/revoke)."""
        if token_hint_type not in ("access_token", "refresh_token"):
            raise ValueError("token_hint_type must be 'access_token' or 'refresh_token'")
        request = build_revoke_request(
            base_url=self._base_url, token=token, token_hint_type=token_hint_type, timeout=self._timeout
        )
        response = self._send(request, action="revoke")
        raise_for_oauth_status(response, action="revoke", hide=self._secrets(token))
        log.info("kick oauth revoked a %s", token_hint_type)

    def _secrets(self, *extra: str) -> tuple[str, ...]:
        return (self._client_secret, *extra)

    def _token(
        self, form: dict[str, str], *, action: str, hide: tuple[str, ...], fallback: str | None = None
    ) -> TokenSet:
        request = build_token_request(base_url=self._base_url, form=form, timeout=self._timeout)
        response = self._send(request, action=action)
        raise_for_oauth_status(response, action=action, hide=self._secrets(*hide))
        tokens = parse_token_response(response, now=self._clock(), fallback_refresh_token=fallback)
        log.info(
            "kick oauth %s ok, scope=%s, expires_at=%s", action, tokens.scope, tokens.expires_at.isoformat()
        )
        return tokens

    def _send(self, request: httpx.Request, *, action: str) -> httpx.Response:
        try:
            return self._client.send(request)
        except httpx.TransportError as exc:
            # `from None`: the revoke URL carries the token, and httpx errors may quote the request.
            log.warning("kick oauth %s transport error: %s", action, type(exc).__name__)
            raise KickUnavailable(f"Kick OAuth {action} failed: {type(exc).__name__}") from None
