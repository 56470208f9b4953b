"""Kick public API (api.kick.com/public/v1, v2 where v1 is deprecated) clients: sync for Celery/web,
async for the bot worker.

Request building and response parsing are the pure functions in ``calls.py``; only the send loop
(auth refresh once on 401, bounded exponential backoff on 5xx/transport errors) is written twice.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, Generic, Protocol, TypeVar

import httpx

from kickbot.integrations._http import AsyncOwnedHttpClient, OwnedHttpClient

from .calls import (
    LIVESTREAMS_MAX_PAGES,
    ApiCall,
    _scan_step,
    build_request,
    channels_call,
    chat_call,
    create_subscriptions_call,
    delete_subscriptions_call,
    list_subscriptions_call,
    livestreams_page_call,
    public_key_call,
    users_call,
)
from .errors import (
    KickAuthError,
    KickBadResponse,
    KickError,
    KickNotSent,
    KickUnavailable,
    RateLimited,
    retry_after_seconds,
    server_message,
)
from .types import (
    EventSubscription,
    KickChannelInfo,
    KickUserInfo,
    LiveScan,
    LivestreamPage,
    SentMessage,
    SubscriptionResult,
)

log = logging.getLogger(__name__)

T = TypeVar("T")

_NOT_SENT_ERRORS = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout)


class TokenProvider(Protocol):
    """Source of the bearer token for the sync client."""

    def get(self) -> str:
        """Return the current access token."""
        ...

    def refresh(self) -> str:
        """Refresh after a 401 and return the new access token, or raise KickAuthError."""
        ...


class AsyncTokenProvider(Protocol):
    """Source of the bearer token for the async client."""

    async def get(self) -> str:
        """Return the current access token."""
        ...

    async def refresh(self) -> str:
        """Refresh after a 401 and return the new access token, or raise KickAuthError."""
        ...


# --- outcome of one response (pure) and the retry bookkeeping shared by both loops ------------------


@dataclass(frozen=True)
class Done(Generic[T]):
    """A successful, parsed result."""

    value: T


class Unauthorized:
    """Kick answered 401: refresh the token once and resend."""


class Retryable:
    """Kick answered 5xx: back off and resend if the budget and idempotency allow."""

    def __init__(self, status: int) -> None:
        self.status = status


def _envelope_data(call: ApiCall[Any], response: httpx.Response) -> Any:
    if not call.expects_data:
        return None
    try:
        body = response.json()
    except (json.JSONDecodeError, UnicodeDecodeError):
        raise KickBadResponse(f"{call.label} answered {response.status_code} with a non-JSON body") from None
    if not isinstance(body, dict) or "data" not in body:
        raise KickBadResponse(f"{call.label} answered without a 'data' envelope")
    return body if call.whole_body else body["data"]


def assess(call: ApiCall[T], response: httpx.Response, token: str) -> Done[T] | Unauthorized | Retryable:
    """Turn one response into Done/Unauthorized/Retryable, or raise the typed error (429, 403, 4xx, junk)."""
    status = response.status_code
    if 200 <= status < 300:
        try:
            return Done(call.parse(_envelope_data(call, response)))
        except KickBadResponse as exc:
            raise KickBadResponse(f"{call.label}: {exc}", status_code=status) from None
    if status == 401:
        return Unauthorized()
    if status >= 500:
        return Retryable(status)
    detail = server_message(response, (token,))
    suffix = f": {detail}" if detail else ""
    if status == 429:
        raise RateLimited(f"{call.label} rate limited{suffix}", retry_after=retry_after_seconds(response))
    if status == 403:
        raise KickAuthError(f"{call.label} forbidden (403), missing scope?{suffix}", status_code=403)
    raise KickError(f"{call.label} answered {status}{suffix}", status_code=status)


class _Attempts:
    """Bookkeeping for one call: a single refresh, then at most `max_retries` backed-off resends."""

    def __init__(self, call: ApiCall[Any], *, max_retries: int, backoff: float) -> None:
        self.call = call
        self.max_retries = max_retries
        self.backoff = backoff
        self.refreshed = False
        self.failures = 0
        self.maybe_processed = False  # some failed attempt may have reached Kick and been acted on

    def on_unauthorized(self) -> None:
        if self.refreshed:
            raise KickAuthError(
                f"{self.call.label} still unauthorized (401) after a token refresh", status_code=401
            )
        self.refreshed = True
        log.info("kick api %s got 401, refreshing the token once", self.call.label)

    def on_transport_error(self, exc: httpx.TransportError) -> float:
        reached_kick = not isinstance(exc, _NOT_SENT_ERRORS)
        return self._next_delay(type(exc).__name__, status=None, maybe_processed=reached_kick)

    def on_server_error(self, outcome: Retryable) -> float:
        # A 503 means the request was not taken; other 5xx may hide a processed request.
        return self._next_delay(
            f"HTTP {outcome.status}", status=outcome.status, maybe_processed=outcome.status != 503
        )

    def _next_delay(self, reason: str, *, status: int | None, maybe_processed: bool) -> float:
        if maybe_processed and not self.call.idempotent:
            raise KickUnavailable(
                f"{self.call.label} failed ({reason}); not resent because it may have gone through",
                status_code=status,
            )
        self.maybe_processed = self.maybe_processed or maybe_processed
        self.failures += 1
        if self.failures > self.max_retries:
            # Connect-time failures only (refused, DNS, TLS, 503): the caller may send it again later.
            error = KickUnavailable if self.maybe_processed else KickNotSent
            raise error(
                f"{self.call.label} failed ({reason}) after {self.max_retries} retries", status_code=status
            )
        delay = self.backoff * 2 ** (self.failures - 1)
        log.warning(
            "kick api %s failed (%s), retry %s/%s in %.2fs",
            self.call.label,
            reason,
            self.failures,
            self.max_retries,
            delay,
        )
        return delay


@contextmanager
def _not_sent_without_token(call: ApiCall[Any]) -> Iterator[None]:
    """Getting or refreshing the token comes before the (re)send: Kick unreachable there sent nothing."""
    try:
        yield
    except KickNotSent:
        raise
    except KickUnavailable as exc:
        raise KickNotSent(f"{call.label}: no token ({exc})", status_code=exc.status_code) from exc


# --- clients -------------------------------------------------------------------------------------


class KickApi(OwnedHttpClient):
    """Sync client for Kick's public API, for Celery tasks and web views."""

    def __init__(
        self,
        *,
        base_url: str,
        tokens: TokenProvider,
        client: httpx.Client | None = None,
        owns_client: bool | None = None,
        timeout: float = 10.0,
        max_retries: int = 2,
        backoff: float = 0.5,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        super().__init__(client=client, owns_client=owns_client, timeout=timeout)
        self._base_url = base_url.rstrip("/")
        self._tokens = tokens
        self._max_retries = max_retries
        self._backoff = backoff
        self._sleep = sleep

    def __repr__(self) -> str:
        return f"KickApi(base_url={self._base_url!r})"

    def get_users(self, user_ids: list[int] | None = None) -> list[KickUserInfo]:
        """Users by id; None returns the token's own user (with email when the scope allows)."""
        return self.call(users_call(user_ids))

    def get_channels(
        self, *, broadcaster_user_ids: list[int] | None = None, slugs: list[str] | None = None
    ) -> list[KickChannelInfo]:
        """Channels by broadcaster ids or slugs (≤50, not both); neither returns the token's channel."""
        return self.call(channels_call(broadcaster_user_ids=broadcaster_user_ids, slugs=slugs))

    def get_livestreams_page(self, *, cursor: str | None = None) -> LivestreamPage:
        """One page of Kick's live streams (GET /public/v2/livestreams)."""
        return self.call(livestreams_page_call(cursor=cursor))

    def live_streams_of(
        self, broadcaster_user_ids: list[int], *, max_pages: int = LIVESTREAMS_MAX_PAGES
    ) -> LiveScan:
        """Which of these broadcasters are live: pages through v2 until all are found or the list ends
        (``complete``), or ``max_pages`` were read (not complete: absence then proves nothing)."""
        if not broadcaster_user_ids:
            raise ValueError("broadcaster_user_ids must not be empty")
        wanted, found = set(broadcaster_user_ids), {}  # type: ignore[var-annotated]
        cursor: str | None = None
        for _ in range(max_pages):
            page = self.get_livestreams_page(cursor=cursor)
            cursor = _scan_step(wanted, found, page)
            if cursor is None:
                return LiveScan(streams=list(found.values()), complete=True)
        return LiveScan(streams=list(found.values()), complete=wanted <= found.keys())

    def send_chat(
        self,
        *,
        content: str,
        broadcaster_user_id: int | None,
        type: str = "bot",
        reply_to_message_id: str | None = None,
    ) -> SentMessage:
        """Post a chat message (≤500 chars); never resent after an ambiguous failure."""
        return self.call(
            chat_call(
                content=content,
                broadcaster_user_id=broadcaster_user_id,
                type=type,
                reply_to_message_id=reply_to_message_id,
            )
        )

    def list_subscriptions(self, *, broadcaster_user_id: int | None = None) -> list[EventSubscription]:
        """Active webhook subscriptions of this app."""
        return self.call(list_subscriptions_call(broadcaster_user_id=broadcaster_user_id))

    def create_subscriptions(
        self, *, broadcaster_user_id: int, events: list[tuple[str, int]]
    ) -> list[SubscriptionResult]:
        """Subscribe the app's webhook to (event name, version) pairs; check each result's `error`."""
        return self.call(create_subscriptions_call(broadcaster_user_id=broadcaster_user_id, events=events))

    def delete_subscriptions(self, ids: list[str]) -> None:
        """Delete webhook subscriptions by id."""
        self.call(delete_subscriptions_call(ids))

    def public_key(self) -> str:
        """Kick's webhook signing key as PEM."""
        return self.call(public_key_call())

    def call(self, call: ApiCall[T]) -> T:
        """Send a call: refresh once on 401, back off on 5xx/transport errors, raise typed errors."""
        attempts = _Attempts(call, max_retries=self._max_retries, backoff=self._backoff)
        with _not_sent_without_token(call):
            token = self._tokens.get()
        while True:
            request = build_request(self._base_url, call, token, timeout=self._timeout)
            try:
                response = self._client.send(request)
            except httpx.TransportError as exc:
                self._sleep(attempts.on_transport_error(exc))
                continue
            outcome = assess(call, response, token)
            if isinstance(outcome, Done):
                return outcome.value
            if isinstance(outcome, Unauthorized):
                attempts.on_unauthorized()
                with _not_sent_without_token(call):
                    token = self._tokens.refresh()
                continue
            self._sleep(attempts.on_server_error(outcome))


class AsyncKickApi(AsyncOwnedHttpClient):
    """Async client for Kick's public API, for the bot worker."""

    def __init__(
        self,
        *,
        base_url: str,
        tokens: AsyncTokenProvider,
        client: httpx.AsyncClient | None = None,
        owns_client: bool | None = None,
        timeout: float = 10.0,
        max_retries: int = 2,
        backoff: float = 0.5,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        super().__init__(client=client, owns_client=owns_client, timeout=timeout)
        self._base_url = base_url.rstrip("/")
        self._tokens = tokens
        self._max_retries = max_retries
        self._backoff = backoff
        self._sleep = sleep

    def __repr__(self) -> str:
        return f"AsyncKickApi(base_url={self._base_url!r})"

    async def get_users(self, user_ids: list[int] | None = None) -> list[KickUserInfo]:
        """Users by id; None returns the token's own user (with email when the scope allows)."""
        return await self.call(users_call(user_ids))

    async def get_channels(
        self, *, broadcaster_user_ids: list[int] | None = None, slugs: list[str] | None = None
    ) -> list[KickChannelInfo]:
        """Channels by broadcaster ids or slugs (≤50, not both); neither returns the token's channel."""
        return await self.call(channels_call(broadcaster_user_ids=broadcaster_user_ids, slugs=slugs))

    async def get_livestreams_page(self, *, cursor: str | None = None) -> LivestreamPage:
        """One page of Kick's live streams (GET /public/v2/livestreams)."""
        return await self.call(livestreams_page_call(cursor=cursor))

    async def send_chat(
        self,
        *,
        content: str,
        broadcaster_user_id: int | None,
        type: str = "bot",
        reply_to_message_id: str | None = None,
    ) -> SentMessage:
        """Post a chat message (≤500 chars); never resent after an ambiguous failure."""
        return await self.call(
            chat_call(
                content=content,
                broadcaster_user_id=broadcaster_user_id,
                type=type,
                reply_to_message_id=reply_to_message_id,
            )
        )

    async def list_subscriptions(self, *, broadcaster_user_id: int | None = None) -> list[EventSubscription]:
        """Active webhook subscriptions of this app."""
        return await self.call(list_subscriptions_call(broadcaster_user_id=broadcaster_user_id))

    async def create_subscriptions(
        self, *, broadcaster_user_id: int, events: list[tuple[str, int]]
    ) -> list[SubscriptionResult]:
        """Subscribe the app's webhook to (event name, version) pairs; check each result's `error`."""
        return await self.call(
            create_subscriptions_call(broadcaster_user_id=broadcaster_user_id, events=events)
        )

    async def delete_subscriptions(self, ids: list[str]) -> None:
        """Delete webhook subscriptions by id."""
        await self.call(delete_subscriptions_call(ids))

    async def public_key(self) -> str:
        """Kick's webhook signing key as PEM."""
        return await self.call(public_key_call())

    async def call(self, call: ApiCall[T]) -> T:
        """Send a call: refresh once on 401, back off on 5xx/transport errors, raise typed errors."""
        attempts = _Attempts(call, max_retries=self._max_retries, backoff=self._backoff)
        with _not_sent_without_token(call):
            token = await self._tokens.get()
        while True:
            request = build_request(self._base_url, call, token, timeout=self._timeout)
            try:
                response = await self._client.send(request)
            except httpx.TransportError as exc:
                await self._sleep(attempts.on_transport_error(exc))
                continue
            outcome = assess(call, response, token)
            if isinstance(outcome, Done):
                return outcome.value
            if isinstance(outcome, Unauthorized):
                attempts.on_unauthorized()
                with _not_sent_without_token(call):
                    token = await self._tokens.refresh()
                continue
            await self._sleep(attempts.on_server_error(outcome))
