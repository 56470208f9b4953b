"""Kick public API (api.kick.com/public/v1, v2 where v1 is deprecated) clients: sync for Celery/web,
async for the bot worker.

Request building and response parsing are pure functions shared by both clients; only the send loop
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
from datetime import UTC, datetime
from typing import Any, Generic, Protocol, TypeVar

import httpx

from kickbot.integrations._http import AsyncOwnedHttpClient, OwnedHttpClient

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
    KickLivestreamInfo,
    KickUserInfo,
    LiveScan,
    LivestreamPage,
    SentMessage,
    SubscriptionResult,
)

log = logging.getLogger(__name__)

T = TypeVar("T")

CHAT_MAX_CHARS = 500
CHAT_TYPES = frozenset({"bot", "user"})
MAX_IDS_PER_REQUEST = 50  # Kick's documented cap for broadcaster_user_id / slug filters.
# GET /public/v2/livestreams: cursor-paginated, oldest stream first, up to 1,000 a page; it filters by
# category and language only (v1's broadcaster filter is gone), so a broadcaster is found by paging.
LIVESTREAMS_PAGE_LIMIT = 1000
LIVESTREAMS_MAX_PAGES = 30
# Failures where the request never reached Kick, so even a non-idempotent call may be resent.
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


# --- calls: what to send and how to read the answer (pure) -----------------------------------------


@dataclass(frozen=True)
class ApiCall(Generic[T]):
    """One API operation: method, path under /public/v1, query, JSON body and the parser for `data`."""

    method: str
    path: str
    parse: Callable[[Any], T]
    params: tuple[tuple[str, str | int], ...] = ()
    json: dict[str, Any] | None = None
    idempotent: bool = True
    expects_data: bool = True
    version: str = "v1"
    whole_body: bool = False  # parse the whole JSON body (v2 lists carry `pagination` beside `data`)

    @property
    def prefix(self) -> str:
        return f"/public/{self.version}"

    @property
    def label(self) -> str:
        """Short, token-free description for logs and error messages."""
        return f"{self.method} {self.prefix}{self.path}"


def _bad(what: str) -> KickBadResponse:
    return KickBadResponse(f"Kick API response {what}")


def _items(data: Any, what: str) -> list[dict[str, Any]]:
    if not isinstance(data, list) or not all(isinstance(item, dict) for item in data):
        raise _bad(f"for {what} is not a list of objects")
    return data


def _req_int(item: dict[str, Any], key: str) -> int:
    value = item.get(key)
    if isinstance(value, bool) or not isinstance(value, int):
        raise _bad(f"lacks integer {key!r}")
    return value


def _req_str(item: dict[str, Any], key: str) -> str:
    value = item.get(key)
    if not isinstance(value, str) or not value:
        raise _bad(f"lacks string {key!r}")
    return value


def _opt_int(item: dict[str, Any], key: str) -> int | None:
    value = item.get(key)
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _opt_str(item: dict[str, Any], key: str) -> str | None:
    value = item.get(key)
    return value if isinstance(value, str) and value else None


def _opt_datetime(item: dict[str, Any], key: str) -> datetime | None:
    value = item.get(key)
    if not isinstance(value, str) or not value:
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        return None
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)


def parse_users(data: Any) -> list[KickUserInfo]:
    """Parse `data` of GET /users."""
    return [
        KickUserInfo(
            user_id=_req_int(item, "user_id"),
            name=_req_str(item, "name"),
            email=_opt_str(item, "email"),
            profile_picture=_opt_str(item, "profile_picture"),
        )
        for item in _items(data, "users")
    ]


def parse_channels(data: Any) -> list[KickChannelInfo]:
    """Parse `data` of GET /channels; `is_live` comes from the nested `stream` object."""
    channels = []
    for item in _items(data, "channels"):
        stream = item.get("stream")
        is_live = stream.get("is_live") if isinstance(stream, dict) else None
        channels.append(
            KickChannelInfo(
                broadcaster_user_id=_req_int(item, "broadcaster_user_id"),
                slug=_req_str(item, "slug"),
                is_live=is_live if isinstance(is_live, bool) else None,
                stream_title=_opt_str(item, "stream_title"),
                raw=item,
            )
        )
    return channels


def parse_livestreams_page(body: Any) -> LivestreamPage:
    """Parse GET /public/v2/livestreams: ``{"data": [{broadcaster_user{id}, channel{slug}, started_at,
    title, viewer_count, ...}], "pagination": {"next_cursor"}}``."""
    if not isinstance(body, dict) or "data" not in body:
        raise _bad("for livestreams has no 'data'")
    streams = []
    for item in _items(body["data"], "livestreams"):
        user = item.get("broadcaster_user")
        channel = item.get("channel")
        if not isinstance(user, dict):
            raise _bad("lacks object 'broadcaster_user'")
        streams.append(
            KickLivestreamInfo(
                broadcaster_user_id=_req_int(user, "id"),
                channel_id=None,
                slug=_opt_str(channel, "slug") if isinstance(channel, dict) else None,
                started_at=_opt_datetime(item, "started_at"),
                viewer_count=_opt_int(item, "viewer_count"),
                title=_opt_str(item, "title"),
            )
        )
    pagination = body.get("pagination")
    cursor = pagination.get("next_cursor") if isinstance(pagination, dict) else None
    return LivestreamPage(streams=streams, next_cursor=cursor if isinstance(cursor, str) and cursor else None)


def parse_sent_message(data: Any) -> SentMessage:
    """Parse `data` of POST /chat: {"is_sent": bool, "message_id": str}."""
    if not isinstance(data, dict) or not isinstance(data.get("is_sent"), bool):
        raise _bad("for chat lacks boolean 'is_sent'")
    return SentMessage(is_sent=data["is_sent"], message_id=_opt_str(data, "message_id"))


def parse_subscriptions(data: Any) -> list[EventSubscription]:
    """Parse `data` of GET /events/subscriptions."""
    return [
        EventSubscription(
            id=_req_str(item, "id"),
            event=_req_str(item, "event"),
            version=_req_int(item, "version"),
            broadcaster_user_id=_opt_int(item, "broadcaster_user_id"),
            method=_opt_str(item, "method") or "webhook",
        )
        for item in _items(data, "subscriptions")
    ]


def parse_subscription_results(data: Any) -> list[SubscriptionResult]:
    """Parse `data` of POST /events/subscriptions: one {name, version, subscription_id, error} per event."""
    return [
        SubscriptionResult(
            name=_req_str(item, "name"),
            version=_req_int(item, "version"),
            subscription_id=_opt_str(item, "subscription_id"),
            error=_opt_str(item, "error"),
        )
        for item in _items(data, "subscription results")
    ]


def parse_public_key(data: Any) -> str:
    """Parse `data` of GET /public-key: {"public_key": PEM}."""
    if isinstance(data, dict):
        data = data.get("public_key")
    if not isinstance(data, str) or "BEGIN PUBLIC KEY" not in data:
        raise _bad("for public-key lacks a PEM 'public_key'")
    return data


def _ignore(data: Any) -> None:
    return None


def _id_params(name: str, values: list[Any], *, cap: int | None = None) -> tuple[tuple[str, Any], ...]:
    if not values:
        raise ValueError(f"{name} must not be empty")
    if cap is not None and len(values) > cap:
        raise ValueError(f"at most {cap} {name} values per request, got {len(values)}")
    return tuple((name, value) for value in values)


def users_call(user_ids: list[int] | None) -> ApiCall[list[KickUserInfo]]:
    """GET /users?id=..; None asks for the token's own user."""
    params = () if user_ids is None else _id_params("id", user_ids)
    return ApiCall("GET", "/users", parse_users, params=params)


def channels_call(
    *, broadcaster_user_ids: list[int] | None = None, slugs: list[str] | None = None
) -> ApiCall[list[KickChannelInfo]]:
    """GET /channels by broadcaster ids or slugs (not both); neither asks for the token's own channel."""
    if broadcaster_user_ids is not None and slugs is not None:
        raise ValueError("Kick cannot filter channels by broadcaster_user_ids and slugs at once")
    params: tuple[tuple[str, Any], ...] = ()
    if broadcaster_user_ids is not None:
        params = _id_params("broadcaster_user_id", broadcaster_user_ids, cap=MAX_IDS_PER_REQUEST)
    elif slugs is not None:
        params = _id_params("slug", slugs, cap=MAX_IDS_PER_REQUEST)
    return ApiCall("GET", "/channels", parse_channels, params=params)


def livestreams_page_call(
    *, cursor: str | None = None, limit: int = LIVESTREAMS_PAGE_LIMIT
) -> ApiCall[LivestreamPage]:
    """GET /public/v2/livestreams, one page (v1 is deprecated since 2026-06-23)."""
    if not 1 <= limit <= LIVESTREAMS_PAGE_LIMIT:
        raise ValueError(f"limit must be 1..{LIVESTREAMS_PAGE_LIMIT}")
    params: tuple[tuple[str, Any], ...] = (("limit", limit),)
    if cursor:
        params += (("cursor", cursor),)
    return ApiCall(
        "GET", "/livestreams", parse_livestreams_page, params=params, version="v2", whole_body=True
    )


def _scan_step(wanted: set[int], found: dict[int, KickLivestreamInfo], page: LivestreamPage) -> str | None:
    """Take a page's streams of ``wanted`` broadcasters; the cursor to go on with, None when done."""
    for stream in page.streams:
        if stream.broadcaster_user_id in wanted:
            found[stream.broadcaster_user_id] = stream
    return None if wanted <= found.keys() else page.next_cursor


def chat_call(
    *,
    content: str,
    broadcaster_user_id: int | None,
    type: str = "bot",
    reply_to_message_id: str | None = None,
) -> ApiCall[SentMessage]:
    """POST /chat; "bot" posts to the token's channel (broadcaster optional), "user" needs the broadcaster."""
    if type not in CHAT_TYPES:
        raise ValueError(f"chat type must be one of {sorted(CHAT_TYPES)}")
    if not content.strip():
        raise ValueError("chat content must not be blank")
    if len(content) > CHAT_MAX_CHARS:
        raise ValueError(f"chat content is {len(content)} chars, Kick allows {CHAT_MAX_CHARS}")
    if type == "user" and broadcaster_user_id is None:
        raise ValueError("broadcaster_user_id is required when type is 'user'")
    body: dict[str, Any] = {"type": type, "content": content}
    if broadcaster_user_id is not None:
        body["broadcaster_user_id"] = broadcaster_user_id
    if reply_to_message_id:
        body["reply_to_message_id"] = reply_to_message_id
    # Not idempotent: resending after an ambiguous failure could post the message twice.
    return ApiCall("POST", "/chat", parse_sent_message, json=body, idempotent=False)


def list_subscriptions_call(*, broadcaster_user_id: int | None = None) -> ApiCall[list[EventSubscription]]:
    """GET /events/subscriptions, optionally for one broadcaster."""
    params: tuple[tuple[str, Any], ...] = ()
    if broadcaster_user_id is not None:
        params = (("broadcaster_user_id", broadcaster_user_id),)
    return ApiCall("GET", "/events/subscriptions", parse_subscriptions, params=params)


def create_subscriptions_call(
    *, broadcaster_user_id: int, events: list[tuple[str, int]]
) -> ApiCall[list[SubscriptionResult]]:
    """POST /events/subscriptions with method "webhook"; creating an existing one again is harmless."""
    if not events:
        raise ValueError("events must not be empty")
    body = {
        "broadcaster_user_id": broadcaster_user_id,
        "events": [{"name": name, "version": version} for name, version in events],
        "method": "webhook",
    }
    return ApiCall("POST", "/events/subscriptions", parse_subscription_results, json=body)


def delete_subscriptions_call(ids: list[str]) -> ApiCall[None]:
    """DELETE /events/subscriptions?id=..&id=.. (Kick answers 204)."""
    return ApiCall(
        "DELETE", "/events/subscriptions", _ignore, params=_id_params("id", ids), expects_data=False
    )


def public_key_call() -> ApiCall[str]:
    """GET /public-key: the PEM Kick signs webhooks with."""
    return ApiCall("GET", "/public-key", parse_public_key)


def build_request(base_url: str, call: ApiCall[Any], token: str, *, timeout: float) -> httpx.Request:
    """Build the httpx.Request for a call with its bearer token."""
    return httpx.Request(
        call.method,
        f"{base_url.rstrip('/')}{call.prefix}{call.path}",
        params=list(call.params),
        json=call.json,
        headers={"Authorization": f"Bearer {token}", "Accept": "application/json"},
        extensions={"timeout": httpx.Timeout(timeout).as_dict()},
    )


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
