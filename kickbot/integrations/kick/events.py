"""Typed Kick events, the only shapes the rest of the bot sees.

Every event is a frozen dataclass built by :mod:`kickbot.integrations.kick.parsers` from a Pusher frame
or a webhook body. Two methods matter for counting things once:

* ``semantic_key()`` names the *thing that happened*, independent of which source reported
  it, so the same chat line seen on Pusher and via webhook maps to the same key;
* ``dedupe_keys()`` is what the pipeline claims through :class:`botworker.kick.dedupe.Dedupe`:
  the source's own id (message id / webhook message id) plus the semantic key.

Pusher gift frames are not events: they are :class:`GiftEvidence`, which only
:class:`botworker.kick.gifts.GiftCoalescer` turns into a :class:`GiftEvent`. Nothing else can
count a raw Pusher gift frame by mistake.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

Source = Literal["pusher", "webhook"]
ChatKind = Literal["message", "reply", "celebration"]
EvidenceOrigin = Literal["gifted_subscriptions", "lucky_users", "chat_message_sent", "leaderboard"]

ANONYMOUS_GIFTER = "~anonymous"

# Redis keys stay short however many giftees a gift has.
_MAX_KEY_LEN = 200


def _short(key: str) -> str:
    if len(key) <= _MAX_KEY_LEN:
        return key
    head = key.split(":", 1)[0]
    return f"{head}:h:{hashlib.sha1(key.encode()).hexdigest()}"  # noqa: S324 - a key, not security


def _minute(dt: datetime | None) -> str:
    return dt.strftime("%Y%m%d%H%M") if dt is not None else "-"


def gifter_key(username: str | None) -> str:
    """The gifter part of a gift key: lowercased username, or a marker for anonymous gifts."""
    return username.strip().lower() if username and username.strip() else ANONYMOUS_GIFTER


@dataclass(frozen=True, slots=True)
class ChatEvent:
    message_id: str
    chatroom_id: int | None
    broadcaster_user_id: int | None
    sender_id: int
    sender_username: str
    sender_slug: str
    content: str
    kind: ChatKind
    created_at: datetime
    badges: tuple[str, ...]
    reply_to_message_id: str | None
    source: Source
    # Webhook ``emotes`` positions (inclusive character offsets into ``content``); Pusher has none.
    emote_spans: tuple[tuple[int, int], ...] = ()

    def semantic_key(self) -> str:
        """Sender, content hash and the second it was sent: equal on Pusher and webhook.

        Two identical lines by one sender within the same second collapse into one; that is
        intended (nobody earns twice for a double-sent line).
        """
        digest = hashlib.sha1(self.content.encode()).hexdigest()[:16]  # noqa: S324 - a key
        return f"chat:{self.sender_id}:{digest}:{int(self.created_at.timestamp())}"

    def dedupe_keys(self) -> list[str]:
        return [f"chatid:{self.message_id}", self.semantic_key()]


@dataclass(frozen=True, slots=True)
class GiftEvent:
    """One gift purchase (``quantity`` subs), however many frames Kick sent for it."""

    gifter_id: int | None
    gifter_username: str | None  # None or "" means anonymous
    giftee_usernames: tuple[str, ...]  # lowercased, sorted
    giftee_ids: tuple[int, ...]
    quantity: int
    created_at: datetime
    source: Source
    event_key: str  # webhook: Kick-Event-Message-Id; pusher: the semantic key (or a frame id)
    gifter_slug: str | None = None

    @property
    def is_anonymous(self) -> bool:
        return gifter_key(self.gifter_username) == ANONYMOUS_GIFTER

    def semantic_key(self) -> str:
        """``gift:<gifter lower>:<sorted giftees>``; the time window is the coalescer's job.

        Kick gives subs only to viewers who are not subscribed, so the same gifter cannot buy
        for the same giftee twice within the dedupe TTL. A gift with unknown giftees gets a
        key bound to its frame id instead, so two such gifts never collapse.
        """
        gifter = gifter_key(self.gifter_username)
        if not self.giftee_usernames:
            return _short(f"gift:{gifter}:?:{self.event_key}")
        return _short(f"gift:{gifter}:{','.join(self.giftee_usernames)}")

    def dedupe_keys(self) -> list[str]:
        """The report with the gifter's id has keys of its own: it completes a purchase reported
        before without one (the database joins the two and awards once)."""
        mark = ":id" if self.gifter_id is not None else ""
        return _keys(f"evt:{self.source}:{self.event_key}{mark}", f"{self.semantic_key()}{mark}")


@dataclass(frozen=True, slots=True)
class GiftEvidence:
    """One Pusher frame that speaks about a gift purchase; feed it to the GiftCoalescer."""

    origin: EvidenceOrigin
    gifter_id: int | None
    gifter_username: str | None
    giftee_usernames: tuple[str, ...]  # lowercased, sorted; empty when the frame has none
    giftee_ids: tuple[int, ...]
    quantity: int | None  # what the frame claims, when it claims anything
    created_at: datetime
    frame_id: str | None = None  # e.g. the ChatMessageSentEvent message id

    @property
    def gifter(self) -> str:
        return gifter_key(self.gifter_username)


@dataclass(frozen=True, slots=True)
class SubEvent:
    """A viewer subscribed (or renewed) with their own money."""

    user_id: int | None
    username: str
    months: int | None
    is_renewal: bool
    created_at: datetime
    source: Source
    event_key: str

    def semantic_key(self) -> str:
        """``sub:<username lower>``: one viewer cannot subscribe twice within the dedupe TTL."""
        return _short(f"sub:{self.username.lower()}")

    def dedupe_keys(self) -> list[str]:
        return _keys(f"evt:{self.source}:{self.event_key}", self.semantic_key())


@dataclass(frozen=True, slots=True)
class LiveEvent:
    """The stream went live or offline. Consumers should treat it as idempotent state."""

    is_live: bool
    livestream_id: int | None
    title: str | None
    started_at: datetime | None
    source: Source
    created_at: datetime

    def semantic_key(self) -> str:
        state = "on" if self.is_live else "off"
        if self.started_at is not None:
            return f"live:{state}:{_minute(self.started_at)}"
        return f"live:{state}:id{self.livestream_id}"

    def dedupe_keys(self) -> list[str]:
        return [self.semantic_key()]


@dataclass(frozen=True, slots=True)
class FollowEvent:
    user_id: int
    username: str
    created_at: datetime
    source: Source
    event_key: str

    def semantic_key(self) -> str:
        return f"follow:{self.user_id}"

    def dedupe_keys(self) -> list[str]:
        return _keys(f"evt:{self.source}:{self.event_key}", self.semantic_key())


@dataclass(frozen=True, slots=True)
class BanEvent:
    user_id: int
    username: str
    permanent: bool
    expires_at: datetime | None
    created_at: datetime
    source: Source
    event_key: str
    banned_by_username: str | None = None
    reason: str | None = None

    def semantic_key(self) -> str:
        until = "perm" if self.permanent else _minute(self.expires_at)
        return f"ban:{self.user_id}:{until}"

    def dedupe_keys(self) -> list[str]:
        return _keys(f"evt:{self.source}:{self.event_key}", self.semantic_key())


def _keys(*keys: str) -> list[str]:
    return list(dict.fromkeys(_short(k) for k in keys))


Event = ChatEvent | GiftEvent | SubEvent | LiveEvent | FollowEvent | BanEvent
"""What the pipeline dispatches. ``GiftEvidence`` is deliberately not part of it."""

PusherItem = Event | GiftEvidence
"""What :func:`kickbot.integrations.kick.parsers.pusher_to_events` returns."""
