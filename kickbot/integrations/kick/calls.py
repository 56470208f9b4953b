"""Kick public API calls: what each request sends and how its answer is read (pure functions).

Both clients in ``api.py`` (sync for Celery and the web, async for the bot) send these; nothing here
does I/O, so each call is tested on recorded answers without a client.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Generic, TypeVar

import httpx

from .errors import KickBadResponse
from .types import (
    EventSubscription,
    KickChannelInfo,
    KickLivestreamInfo,
    KickUserInfo,
    LivestreamPage,
    SentMessage,
    SubscriptionResult,
)

T = TypeVar("T")

CHAT_MAX_CHARS = 500
CHAT_TYPES = frozenset({"bot", "user"})
MAX_IDS_PER_REQUEST = 50  # Kick's documented cap for broadcaster_user_id / slug filters.
# GET /public/v2/livestreams: cursor-paginated, oldest stream first, up to 1,000 a page; it filters by
# category and language only (v1's broadcaster filter is gone), so a broadcaster is found by paging.
LIVESTREAMS_PAGE_LIMIT = 1000
LIVESTREAMS_MAX_PAGES = 30
# Failures where the request never reached Kick, so even a non-idempotent call may be resent.
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
