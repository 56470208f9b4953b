"""Plain, immutable values returned by the Kick clients."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any


@dataclass(frozen=True)
class TokenSet:
    """An OAuth token pair; `expires_at` is aware UTC. Tokens are kept out of repr so logs stay clean."""

    access_token: str = field(repr=False)
    refresh_token: str = field(repr=False)
    expires_at: datetime
    scope: str
    token_type: str


@dataclass(frozen=True)
class KickUserInfo:
    """A Kick user from GET /public/v1/users; `email` only for the token's own user with user:read."""

    user_id: int
    name: str
    email: str | None
    profile_picture: str | None


@dataclass(frozen=True)
class KickChannelInfo:
    """A channel from GET /public/v1/channels; `raw` keeps the full item for fields we do not model."""

    broadcaster_user_id: int
    slug: str
    is_live: bool | None
    stream_title: str | None
    raw: dict[str, Any] = field(compare=False, repr=False)


@dataclass(frozen=True)
class KickLivestreamInfo:
    """A live stream from GET /public/v2/livestreams; `started_at` is aware UTC."""

    broadcaster_user_id: int
    channel_id: int | None
    slug: str | None
    started_at: datetime | None
    viewer_count: int | None
    title: str | None = None


@dataclass(frozen=True)
class LivestreamPage:
    """One page of GET /public/v2/livestreams; `next_cursor` None on the last page."""

    streams: list[KickLivestreamInfo]
    next_cursor: str | None


@dataclass(frozen=True)
class LiveScan:
    """Which of the asked broadcasters are live; `complete` False when the page cap was hit first
    (then a broadcaster not found may still be live: callers must not conclude "offline")."""

    streams: list[KickLivestreamInfo]
    complete: bool


@dataclass(frozen=True)
class SentMessage:
    """Result of POST /public/v1/chat; `is_sent` False means Kick took the call but dropped the message."""

    is_sent: bool
    message_id: str | None


@dataclass(frozen=True)
class EventSubscription:
    """An active webhook subscription from GET /public/v1/events/subscriptions."""

    id: str
    event: str
    version: int
    broadcaster_user_id: int | None
    method: str


@dataclass(frozen=True)
class SubscriptionResult:
    """One item of POST /public/v1/events/subscriptions; exactly one of `subscription_id`/`error` is set."""

    name: str
    version: int
    subscription_id: str | None
    error: str | None

    @property
    def ok(self) -> bool:
        """True when Kick created (or already had) the subscription."""
        return self.subscription_id is not None and self.error is None
