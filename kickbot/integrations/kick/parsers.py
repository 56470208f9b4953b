"""Pure functions from Kick's wire formats (Pusher frames, webhook bodies) to typed events.

What Kick sends, and which function here reads which event: ``docs/kick-events.md``; the
recorded shapes are ``tests/fixtures/kick/``.

Rules:

* Unknown event names and types → ``[]`` (Kick adds events all the time).
* Anything malformed in a known event → :class:`ParseError`, and only that: the caller logs
  the event name (never the body) and skips it. No other exception escapes these functions.
* Chat content longer than :data:`MAX_CONTENT_CHARS` is **rejected** (``ParseError``), not
  truncated: Kick caps chat lines at 500 characters, so such a frame is not a real chat line,
  and a truncated line could be half of a command.
* Timestamps become aware UTC datetimes; a missing or unreadable one falls back to ``now``
  (the receive time), which callers may inject for tests.
* Usernames in gift lists are lowercased and sorted (Kick is inconsistent about case).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any

import orjson

from kickbot.integrations.kick.events import (
    BanEvent,
    ChatEvent,
    ChatKind,
    Event,
    EvidenceOrigin,
    FollowEvent,
    GiftEvent,
    GiftEvidence,
    LiveEvent,
    PusherItem,
    SubEvent,
)
from kickbot.integrations.kick.webhooks import parse_timestamp

MAX_CONTENT_CHARS = 10_000
MAX_FRAME_BYTES = 1_048_576
_CHAT_KINDS: dict[str, ChatKind] = {"message": "message", "reply": "reply", "celebration": "celebration"}


class ParseError(ValueError):
    """A frame or body that cannot be turned into events. Its message never holds the content."""


@dataclass(frozen=True, slots=True)
class PusherFrame:
    event: str
    channel: str | None
    data: dict[str, Any] | None


# --------------------------------------------------------------------------- helpers


def _loads(raw: str | bytes, what: str) -> Any:
    if len(raw) > MAX_FRAME_BYTES:
        raise ParseError(f"{what}: {len(raw)} bytes is too large")
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise ParseError(f"{what}: not JSON") from exc


def _obj(value: Any, field: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise ParseError(f"{field}: expected an object, got {type(value).__name__}")
    return value


def _opt_obj(value: Any, field: str) -> dict[str, Any]:
    """An optional object: missing/null → {}; another type → ParseError."""
    return {} if value is None else _obj(value, field)


def _int(value: Any, field: str) -> int:
    if isinstance(value, bool):
        raise ParseError(f"{field}: expected an integer, got bool")
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.strip().isdigit():
        return int(value.strip())
    raise ParseError(f"{field}: expected an integer, got {type(value).__name__}")


def _opt_int(value: Any, field: str) -> int | None:
    return None if value is None or value == "" else _int(value, field)


def _str(value: Any, field: str) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)  # ids sometimes arrive as numbers
    raise ParseError(f"{field}: expected a string, got {type(value).__name__}")


def _opt_str(value: Any, field: str) -> str | None:
    return None if value is None else _str(value, field)


def _list(value: Any, field: str) -> list[Any]:
    if value is None:
        return []
    if not isinstance(value, list):
        raise ParseError(f"{field}: expected a list, got {type(value).__name__}")
    return value


def _dt(value: Any) -> datetime | None:
    """RFC 3339 in full (``t``/``z``, offsets, long fractions), other ISO 8601 (naive = UTC) or epoch
    seconds/ms → aware UTC."""
    try:
        if isinstance(value, bool):
            return None
        if isinstance(value, int | float):
            seconds = value / 1000 if value > 100_000_000_000 else value
            return datetime.fromtimestamp(seconds, tz=UTC)
        if isinstance(value, str) and value.strip():
            text = value.strip()
            try:
                # The common spellings (T, Z or an offset, any fraction) on the fast path: once per chat line.
                parsed = datetime.fromisoformat(text)
            except ValueError:
                return parse_timestamp(text)  # RFC 3339's lowercase t/z and leap second
            if parsed.tzinfo is None:
                parsed = parsed.replace(tzinfo=UTC)
            return parsed.astimezone(UTC)
    except (ValueError, OverflowError, OSError):
        return None
    return None


def _now(now: datetime | None) -> datetime:
    return now if now is not None else datetime.now(UTC)


def _content(value: Any) -> str:
    content = _str(value, "content")
    if len(content) > MAX_CONTENT_CHARS:
        raise ParseError(f"content: {len(content)} chars is over {MAX_CONTENT_CHARS}")
    return content


def _badges(identity: Any) -> tuple[str, ...]:
    out: list[str] = []
    for badge in _list(_opt_obj(identity, "identity").get("badges"), "badges"):
        if isinstance(badge, dict) and isinstance(badge.get("type"), str) and badge["type"]:
            out.append(badge["type"].strip().lower())
    return tuple(dict.fromkeys(out))


def _usernames(values: Any, field: str) -> tuple[str, ...]:
    """A list of names (strings or ``{"username": ...}`` objects) → lowercased, sorted, unique."""
    names: set[str] = set()
    for item in _list(values, field):
        name = item.get("username") if isinstance(item, dict) else item
        if isinstance(name, str) and name.strip():
            names.add(name.strip().lower())
        else:
            raise ParseError(f"{field}: an entry has no username")
    return tuple(sorted(names))


def _ids(values: Any, field: str) -> tuple[int, ...]:
    return tuple(sorted({_int(v, field) for v in _list(values, field)}))


# --------------------------------------------------------------------------- Pusher


def parse_pusher_frame(raw: str | bytes) -> PusherFrame:
    """One websocket text frame → ``PusherFrame``; ``data`` decoded from its JSON string."""
    frame = _obj(_loads(raw, "frame"), "frame")
    event = frame.get("event")
    if not isinstance(event, str) or not event:
        raise ParseError("frame: no event name")
    channel = frame.get("channel")
    if channel is not None and not isinstance(channel, str):
        raise ParseError("frame: channel is not a string")
    data = frame.get("data")
    # Pusher sends data as a JSON string; some relays encode it once more.
    for _ in range(2):
        if isinstance(data, str):
            data = None if not data.strip() else _loads(data, "data")
    if data is not None and not isinstance(data, dict):
        raise ParseError(f"data: expected an object, got {type(data).__name__}")
    return PusherFrame(event=event, channel=channel, data=data)


def event_basename(name: str) -> str:
    """``App\\Events\\ChatMessageEvent`` → ``ChatMessageEvent`` (2025 names have no prefix)."""
    return name.rsplit("\\", 1)[-1]


def _p_chat(d: dict[str, Any], now: datetime) -> list[PusherItem]:
    sender = _obj(d.get("sender"), "sender")
    if sender.get("id") is None:
        raise ParseError("sender.id missing")
    metadata = _opt_obj(d.get("metadata"), "metadata")
    original = _opt_obj(metadata.get("original_message"), "metadata.original_message")
    kind = _CHAT_KINDS.get(d.get("type") or "message")
    if kind is None:
        return []  # a chat type we do not know yet
    username = _str(sender.get("username"), "sender.username")
    return [
        ChatEvent(
            message_id=_str(d.get("id"), "id"),
            chatroom_id=_opt_int(d.get("chatroom_id"), "chatroom_id"),
            broadcaster_user_id=None,
            sender_id=_int(sender["id"], "sender.id"),
            sender_username=username,
            sender_slug=_opt_str(sender.get("slug"), "sender.slug") or username.lower(),
            content=_content(d.get("content") if d.get("content") is not None else ""),
            kind=kind,
            created_at=_dt(d.get("created_at")) or now,
            badges=_badges(sender.get("identity")),
            reply_to_message_id=_opt_str(original.get("id"), "original_message.id"),
            source="pusher",
        )
    ]


def _sub_event(user_id: int | None, username: str, months: int | None, created_at: datetime) -> SubEvent:
    sub = SubEvent(
        user_id=user_id,
        username=username,
        months=months,
        is_renewal=bool(months and months > 1),
        created_at=created_at,
        source="pusher",
        event_key="",
    )
    # Pusher has no delivery id: the semantic key is the event key.
    return replace(sub, event_key=sub.semantic_key())


def _p_subscription(d: dict[str, Any], now: datetime) -> list[PusherItem]:
    username = _str(d.get("username"), "username").strip()
    if not username:
        raise ParseError("username missing")
    return [_sub_event(None, username, _opt_int(d.get("months"), "months"), now)]


def _usernames_evidence(
    d: dict[str, Any], now: datetime, *, field: str, origin: EvidenceOrigin
) -> list[PusherItem]:
    """A gift frame that names its giftees only by username (``field``), and its gifter by name."""
    giftees = _usernames(d.get(field), field)
    if not giftees:
        raise ParseError(f"{field} empty")
    return [
        GiftEvidence(
            origin=origin,
            gifter_id=None,
            gifter_username=_opt_str(d.get("gifter_username"), "gifter_username"),
            giftee_usernames=giftees,
            giftee_ids=(),
            quantity=len(giftees),  # gifter_total, where sent, is the all-time total, never this gift
            created_at=now,
        )
    ]


def _p_gifted(d: dict[str, Any], now: datetime) -> list[PusherItem]:
    return _usernames_evidence(d, now, field="gifted_usernames", origin="gifted_subscriptions")


def _p_lucky(d: dict[str, Any], now: datetime) -> list[PusherItem]:
    return _usernames_evidence(d, now, field="usernames", origin="lucky_users")


def _p_message_sent(d: dict[str, Any], now: datetime) -> list[PusherItem]:
    message = _obj(d.get("message"), "message")
    if message.get("action") != "gift":
        return []  # other info messages carry nothing we count
    user = _obj(d.get("user"), "user")
    user_id = _opt_int(user.get("id"), "user.id")
    username = _opt_str(user.get("username"), "user.username")
    created_at = _dt(message.get("created_at")) or now
    count = _opt_int(message.get("subscriptions_count"), "subscriptions_count") or 0
    gifted = _list(message.get("giftedUsers"), "giftedUsers")
    if count == 0:
        # subscriptions_count 0 is a viewer subscribing for themselves.
        if not username:
            raise ParseError("self sub without username")
        months = _opt_int(message.get("months_subscribed"), "months_subscribed")
        if months is None and gifted and isinstance(gifted[0], dict):
            months = _opt_int(gifted[0].get("monthsSubscribed"), "monthsSubscribed")
        return [_sub_event(user_id, username, months, created_at)]
    return [
        GiftEvidence(
            origin="chat_message_sent",
            gifter_id=user_id,
            gifter_username=username,
            giftee_usernames=_usernames(gifted, "giftedUsers"),
            giftee_ids=(),
            quantity=count,
            created_at=created_at,
            frame_id=_opt_str(message.get("id"), "message.id"),
        )
    ]


def _p_channel_sub(d: dict[str, Any], now: datetime) -> list[PusherItem]:
    username = _opt_str(d.get("username"), "username") or ""
    user_ids = _ids(d.get("user_ids"), "user_ids")
    if not username.strip():
        # The gift form: giftee ids without names or gifter; the gift's other frames count it.
        return []
    return [_sub_event(user_ids[0] if len(user_ids) == 1 else None, username.strip(), None, now)]


def _p_leaderboard(d: dict[str, Any], now: datetime) -> list[PusherItem]:
    gifter = _opt_str(d.get("gifter_username"), "gifter_username")
    if not gifter:
        return []
    return [
        GiftEvidence(
            origin="leaderboard",
            gifter_id=_opt_int(d.get("gifter_id"), "gifter_id"),
            gifter_username=gifter,
            giftee_usernames=(),
            giftee_ids=(),
            quantity=_opt_int(d.get("gifted_quantity"), "gifted_quantity"),
            created_at=now,
        )
    ]


def _p_live(d: dict[str, Any], now: datetime) -> list[PusherItem]:
    stream = _obj(d.get("livestream"), "livestream")
    return [
        LiveEvent(
            is_live=True,
            livestream_id=_opt_int(stream.get("id"), "livestream.id"),
            title=_opt_str(stream.get("session_title"), "livestream.session_title"),
            started_at=_dt(stream.get("created_at") or stream.get("start_time")),
            source="pusher",
            created_at=now,
        )
    ]


def _p_stop(d: dict[str, Any], now: datetime) -> list[PusherItem]:
    stream = _opt_obj(d.get("livestream"), "livestream")
    return [
        LiveEvent(
            is_live=False,
            livestream_id=_opt_int(stream.get("id"), "livestream.id"),
            title=None,
            started_at=None,
            source="pusher",
            created_at=now,
        )
    ]


def _p_banned(d: dict[str, Any], now: datetime) -> list[PusherItem]:
    user = _obj(d.get("user"), "user")
    banned_by = _opt_obj(d.get("banned_by"), "banned_by")
    expires_at = _dt(d.get("expires_at"))
    permanent = bool(d.get("permanent")) or (expires_at is None and not d.get("duration"))
    ban = BanEvent(
        user_id=_int(user.get("id"), "user.id"),
        username=_str(user.get("username"), "user.username"),
        permanent=permanent,
        expires_at=None if permanent else expires_at,
        created_at=now,
        source="pusher",
        event_key="",
        banned_by_username=_opt_str(banned_by.get("username"), "banned_by.username"),
    )
    frame_id = _opt_str(d.get("id"), "id")
    key = f"ban:{frame_id}" if frame_id else ban.semantic_key()
    return [replace(ban, event_key=key)]


_PUSHER: dict[str, Callable[[dict[str, Any], datetime], list[PusherItem]]] = {
    "ChatMessageEvent": _p_chat,
    "SubscriptionEvent": _p_subscription,
    "GiftedSubscriptionsEvent": _p_gifted,
    "LuckyUsersWhoGotGiftSubscriptionsEvent": _p_lucky,
    "ChatMessageSentEvent": _p_message_sent,
    "ChannelSubscriptionEvent": _p_channel_sub,
    "GiftsLeaderboardUpdated": _p_leaderboard,
    "StreamerIsLive": _p_live,
    "StopStreamBroadcast": _p_stop,
    "UserBannedEvent": _p_banned,
}


def pusher_to_events(frame: PusherFrame, *, now: datetime | None = None) -> list[PusherItem]:
    """Typed events from one frame. Gift frames yield ``GiftEvidence`` for the coalescer."""
    handler = _PUSHER.get(event_basename(frame.event))
    if handler is None:
        return []
    return _guarded(handler, frame.data, _now(now))


def _guarded(handler: Callable[[dict[str, Any], datetime], list[Any]], data: Any, now: datetime) -> list[Any]:
    if data is None:
        raise ParseError("no data")
    try:
        return handler(_obj(data, "data"), now)
    except ParseError:
        raise
    except (KeyError, TypeError, ValueError, AttributeError, IndexError, OverflowError) as exc:
        raise ParseError(f"malformed: {type(exc).__name__}") from exc


# --------------------------------------------------------------------------- webhooks


def _w_user(value: Any, field: str) -> tuple[int, str]:
    user = _obj(value, field)
    user_id = user.get("user_id")
    if user_id is None:
        raise ParseError(f"{field}.user_id missing")
    return _int(user_id, f"{field}.user_id"), _str(user.get("username"), f"{field}.username")


def _w_chat(d: dict[str, Any], message_id: str, now: datetime) -> list[Event]:
    sender = _obj(d.get("sender"), "sender")
    sender_id, username = _w_user(sender, "sender")
    broadcaster = _opt_obj(d.get("broadcaster"), "broadcaster")
    replies_to = _opt_obj(d.get("replies_to"), "replies_to")
    reply_id = _opt_str(replies_to.get("message_id"), "replies_to.message_id")
    return [
        ChatEvent(
            message_id=_str(d.get("message_id") or message_id, "message_id"),
            chatroom_id=None,
            broadcaster_user_id=_opt_int(broadcaster.get("user_id"), "broadcaster.user_id"),
            sender_id=sender_id,
            sender_username=username,
            sender_slug=_opt_str(sender.get("channel_slug"), "sender.channel_slug") or username.lower(),
            content=_content(d.get("content") if d.get("content") is not None else ""),
            kind="reply" if reply_id else "message",
            created_at=_dt(d.get("created_at")) or now,
            badges=_badges(sender.get("identity")),
            reply_to_message_id=reply_id,
            source="webhook",
            emote_spans=_emote_spans(d.get("emotes")),
        )
    ]


def _emote_spans(value: Any) -> tuple[tuple[int, int], ...]:
    """``emotes[].positions[]`` → ``((s, e), ...)``. Lenient: a malformed entry is skipped, never the
    chat line (the inline ``[emote:..]`` tokens are stripped anyway)."""
    spans: list[tuple[int, int]] = []
    for emote in value if isinstance(value, list) else ():
        positions = emote.get("positions") if isinstance(emote, dict) else None
        for pos in positions if isinstance(positions, list) else ():
            if not isinstance(pos, dict):
                continue
            start, end = pos.get("s"), pos.get("e")
            if type(start) is int and type(end) is int and 0 <= start <= end:
                spans.append((start, end))
    return tuple(sorted(spans)[:64])


def _w_follow(d: dict[str, Any], message_id: str, now: datetime) -> list[Event]:
    user_id, username = _w_user(d.get("follower"), "follower")
    return [FollowEvent(user_id, username, _dt(d.get("created_at")) or now, "webhook", message_id)]


def _w_sub(renewal: bool) -> Callable[[dict[str, Any], str, datetime], list[Event]]:
    def parse(d: dict[str, Any], message_id: str, now: datetime) -> list[Event]:
        user_id, username = _w_user(d.get("subscriber"), "subscriber")
        return [
            SubEvent(
                user_id=user_id,
                username=username,
                months=_opt_int(d.get("duration"), "duration"),
                is_renewal=renewal,
                created_at=_dt(d.get("created_at")) or now,
                source="webhook",
                event_key=message_id,
            )
        ]

    return parse


def _w_gifts(d: dict[str, Any], message_id: str, now: datetime) -> list[Event]:
    gifter = _opt_obj(d.get("gifter"), "gifter")
    anonymous = bool(gifter.get("is_anonymous"))
    giftees = [_obj(g, "giftees[]") for g in _list(d.get("giftees"), "giftees")]
    if not giftees:
        raise ParseError("giftees empty")
    names = _usernames(giftees, "giftees")
    if len(names) != len(giftees):
        raise ParseError("giftees: duplicate usernames")
    return [
        GiftEvent(
            gifter_id=None if anonymous else _opt_int(gifter.get("user_id"), "gifter.user_id"),
            gifter_username=None if anonymous else _opt_str(gifter.get("username"), "gifter.username"),
            giftee_usernames=names,
            giftee_ids=_ids([g.get("user_id") for g in giftees if g.get("user_id") is not None], "giftees"),
            quantity=len(giftees),
            created_at=_dt(d.get("created_at")) or now,
            source="webhook",
            event_key=message_id,
            gifter_slug=None if anonymous else _opt_str(gifter.get("channel_slug"), "gifter.channel_slug"),
        )
    ]


def _w_live(d: dict[str, Any], message_id: str, now: datetime) -> list[Event]:
    is_live = d.get("is_live")
    if not isinstance(is_live, bool):
        raise ParseError("is_live missing")
    started_at = _dt(d.get("started_at"))
    ended_at = _dt(d.get("ended_at"))
    return [
        LiveEvent(
            is_live=is_live,
            livestream_id=None,
            title=_opt_str(d.get("title"), "title"),
            started_at=started_at,
            source="webhook",
            created_at=(started_at if is_live else ended_at) or now,
        )
    ]


def _w_banned(d: dict[str, Any], message_id: str, now: datetime) -> list[Event]:
    user_id, username = _w_user(d.get("banned_user"), "banned_user")
    metadata = _opt_obj(d.get("metadata"), "metadata")
    moderator = _opt_obj(d.get("moderator"), "moderator")
    expires_at = _dt(metadata.get("expires_at"))
    return [
        BanEvent(
            user_id=user_id,
            username=username,
            permanent=expires_at is None,
            expires_at=expires_at,
            created_at=_dt(metadata.get("created_at")) or now,
            source="webhook",
            event_key=message_id,
            banned_by_username=_opt_str(moderator.get("username"), "moderator.username"),
            reason=_opt_str(metadata.get("reason"), "metadata.reason"),
        )
    ]


_WEBHOOK: dict[str, Callable[[dict[str, Any], str, datetime], list[Event]]] = {
    "chat.message.sent": _w_chat,
    "channel.followed": _w_follow,
    "channel.subscription.new": _w_sub(renewal=False),
    "channel.subscription.renewal": _w_sub(renewal=True),
    "channel.subscription.gifts": _w_gifts,
    "livestream.status.updated": _w_live,
    "moderation.banned": _w_banned,
}


# ``Kick-Event-Version`` values whose payloads the parsers read (events/event-types.md: all are 1).
WEBHOOK_VERSIONS = frozenset({"1"})


def webhook_to_events(
    event_type: str,
    message_id: str,
    body: bytes | str | dict[str, Any],
    *,
    now: datetime | None = None,
    version: str = "1",
) -> list[Event]:
    """Typed events from a (signature-checked) webhook body.

    ``message_id`` is the ``Kick-Event-Message-Id`` header, the delivery's idempotency key; it
    becomes ``event_key`` (chat events use the body's ``message_id`` as their id instead).
    ``version`` is the ``Kick-Event-Version`` header: a payload of a version we do not know is
    refused (``ParseError``), never read as if it were version 1.
    """
    handler = _WEBHOOK.get(event_type)
    if handler is None:
        return []
    if version not in WEBHOOK_VERSIONS:
        raise ParseError(f"{event_type} version {version[:16]!r} is not one we read")
    if not isinstance(message_id, str) or not message_id:
        raise ParseError("message id missing")
    data = body if isinstance(body, dict) else _loads(body, "body")
    moment = _now(now)
    return _guarded(lambda d, _now_: handler(d, message_id, moment), data, moment)


def webhook_event_types() -> frozenset[str]:
    """The webhook event types we parse (others are acknowledged and ignored)."""
    return frozenset(_WEBHOOK)
