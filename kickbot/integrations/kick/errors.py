"""Typed errors for the Kick clients; every message is safe to log (no tokens, codes or secrets)."""

from __future__ import annotations

import json
import time
from collections.abc import Iterable
from email.utils import parsedate_to_datetime

import httpx

_MAX_SERVER_TEXT = 200
DEFAULT_RETRY_AFTER = 1.0


class KickError(Exception):
    """Base error for Kick HTTP calls; `status_code` is the HTTP status when there was one."""

    def __init__(self, message: str, *, status_code: int | None = None) -> None:
        super().__init__(message)
        self.status_code = status_code


class KickAuthError(KickError):
    """The token or grant was rejected (401/403, invalid_grant); the user must re-link or re-consent."""


class RateLimited(KickError):
    """Kick answered 429; wait `retry_after` seconds before calling again."""

    def __init__(self, message: str, *, retry_after: float = DEFAULT_RETRY_AFTER) -> None:
        super().__init__(message, status_code=429)
        self.retry_after = retry_after


class KickUnavailable(KickError):
    """Kick kept failing (5xx, timeout, connection error) after the bounded retries."""


class KickNotSent(KickUnavailable):
    """Kick could not be reached at all (connection refused, DNS, TLS before the request, 503, or the
    token could not be had): nothing was delivered, so even a chat message may be sent again."""


class KickBadResponse(KickError):
    """Kick answered with a body we cannot parse or that lacks required fields."""


def redact(text: str, secrets: Iterable[str | None]) -> str:
    """Return `text` with every non-empty secret replaced by `***`."""
    for secret in secrets:
        if secret:
            text = text.replace(secret, "***")
    return text


def server_message(response: httpx.Response, secrets: Iterable[str | None] = ()) -> str:
    """Return Kick's short error text from a response body (`message`/`error`), redacted and truncated."""
    try:
        body = response.json()
    except (json.JSONDecodeError, UnicodeDecodeError):
        body = None
    parts: list[str] = []
    if isinstance(body, dict):
        for key in ("error", "error_description", "message"):
            value = body.get(key)
            if isinstance(value, str) and value and value not in parts:
                parts.append(value)
    text = ": ".join(parts) if parts else ""
    return redact(text, secrets)[:_MAX_SERVER_TEXT]


def retry_after_seconds(response: httpx.Response, *, now: float | None = None) -> float:
    """Return the Retry-After delay in seconds (number or HTTP date), or 1.0 when absent or unreadable."""
    raw = response.headers.get("Retry-After", "").strip()
    if not raw:
        return DEFAULT_RETRY_AFTER
    try:
        return max(0.0, float(raw))
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(raw)
    except (TypeError, ValueError):
        return DEFAULT_RETRY_AFTER
    current = time.time() if now is None else now
    return max(0.0, when.timestamp() - current)
