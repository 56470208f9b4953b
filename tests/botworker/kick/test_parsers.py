"""Every parser on every fixture, plus the junk table."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from kickbot.integrations.kick import parsers
from kickbot.integrations.kick.events import (
    BanEvent,
    ChatEvent,
    FollowEvent,
    GiftEvent,
    GiftEvidence,
    LiveEvent,
    SubEvent,
)
from kickbot.integrations.kick.parsers import (
    MAX_CONTENT_CHARS,
    ParseError,
    event_basename,
    parse_pusher_frame,
    pusher_to_events,
    webhook_event_types,
    webhook_to_events,
)
from tests.botworker.kick.conftest import FIXTURES, NOW, pusher_raw, webhook

GIFTEES = ("alpha_fan", "beta_viewer", "charlie99", "deltadawn", "echo_echo")


def from_pusher(name: str) -> list[object]:
    return list(pusher_to_events(parse_pusher_frame(pusher_raw(name)), now=NOW))


def from_webhook(name: str) -> list[object]:
    return list(webhook_to_events(*webhook(name), now=NOW))


# ---------------------------------------------------------------- frames


def test_frame_data_is_decoded_from_its_json_string():
    frame = parse_pusher_frame(pusher_raw("chat_message"))
    assert frame.event == "App\\Events\\ChatMessageEvent"
    assert frame.channel == "chatrooms.2915314.v2"
    assert frame.data is not None and frame.data["chatroom_id"] == 2915314


def test_frame_double_encoded_data_is_decoded_twice():
    inner = {"chatroom_id": 1, "username": "x", "months": 2}
    raw = json.dumps({"event": "App\\Events\\SubscriptionEvent", "data": json.dumps(json.dumps(inner))})
    assert parse_pusher_frame(raw).data == inner


def test_frame_with_object_data_and_bytes_input():
    raw = json.dumps({"event": "pusher:error", "data": {"code": 4200, "message": "reconnect"}}).encode()
    frame = parse_pusher_frame(raw)
    assert frame.data == {"code": 4200, "message": "reconnect"} and frame.channel is None


def test_frame_with_empty_data_string_has_no_data():
    assert parse_pusher_frame('{"event":"pusher:pong","data":""}').data is None


# ---------------------------------------------------------------- pusher fixtures


def test_pusher_chat_message():
    [ev] = from_pusher("chat_message")
    assert ev == ChatEvent(
        message_id="6f1c1a43-3f0b-4a55-9a0e-1f6e2c7d8b90",
        chatroom_id=2915314,
        broadcaster_user_id=None,
        sender_id=5871204,
        sender_username="Viewer_Vic",
        sender_slug="viewer-vic",
        content="hello chat [emote:37226:KEKW] !tickets",
        kind="message",
        created_at=datetime(2025, 3, 14, 16, 8, 6, tzinfo=UTC),
        badges=("moderator", "subscriber", "sub_gifter"),
        reply_to_message_id=None,
        source="pusher",
    )


def test_pusher_chat_reply_points_at_original():
    [ev] = from_pusher("chat_reply")
    assert isinstance(ev, ChatEvent)
    assert ev.kind == "reply" and ev.reply_to_message_id == "6f1c1a43-3f0b-4a55-9a0e-1f6e2c7d8b90"
    assert ev.badges == ()


def test_pusher_celebration_is_a_chat_line_with_lowercased_badges():
    [ev] = from_pusher("chat_celebration")
    assert isinstance(ev, ChatEvent)
    assert ev.kind == "celebration" and ev.badges == ("subscriber", "og")


def test_pusher_subscription_event():
    [ev] = from_pusher("subscription")
    assert isinstance(ev, SubEvent)
    assert (ev.username, ev.months, ev.is_renewal, ev.user_id, ev.source) == (
        "NewSub_Nia",
        1,
        False,
        None,
        "pusher",
    )
    assert ev.event_key == ev.semantic_key() == "sub:newsub_nia"


@pytest.mark.parametrize("name", ["gifted_subscriptions", "gifted_subscriptions_legacy"])
def test_pusher_gifted_subscriptions_both_names_are_evidence(name):
    [ev] = from_pusher(name)
    assert isinstance(ev, GiftEvidence) and ev.origin == "gifted_subscriptions"
    if name == "gifted_subscriptions":
        assert ev.giftee_usernames == GIFTEES and ev.gifter_username == "GenerousGary"
        assert ev.quantity == 5  # not gifter_total (42)
    else:
        assert ev.giftee_usernames == ("solo_sam",) and ev.quantity == 1


def test_pusher_lucky_users():
    [ev] = from_pusher("lucky_users")
    assert isinstance(ev, GiftEvidence)
    assert (ev.origin, ev.gifter, ev.giftee_usernames) == ("lucky_users", "generousgary", GIFTEES)


def test_pusher_chat_message_sent_gift_has_gifter_id_and_count():
    [ev] = from_pusher("chat_message_sent_gift")
    assert isinstance(ev, GiftEvidence)
    assert (ev.origin, ev.gifter_id, ev.quantity, ev.giftee_usernames) == (
        "chat_message_sent",
        4455667,
        5,
        GIFTEES,
    )
    assert ev.created_at == datetime.fromtimestamp(1741968600, tz=UTC)


def test_pusher_chat_message_sent_count_zero_is_a_self_sub():
    [ev] = from_pusher("chat_message_sent_self_sub")
    assert isinstance(ev, SubEvent)
    assert (ev.user_id, ev.username, ev.months, ev.is_renewal) == (3322110, "SelfSub_Sid", 4, True)


def test_pusher_channel_subscription_self_sub():
    [ev] = from_pusher("channel_subscription")
    assert isinstance(ev, SubEvent) and (ev.user_id, ev.username) == (8800123, "NewSub_Nia")
    # the same sub as the SubscriptionEvent frame: one semantic key
    [other] = from_pusher("subscription")
    assert isinstance(other, SubEvent) and ev.semantic_key() == other.semantic_key()


def test_pusher_channel_subscription_gift_form_is_left_to_the_other_gift_frames():
    assert from_pusher("channel_subscription_gift") == []


def test_pusher_leaderboard_is_evidence_only():
    [ev] = from_pusher("gifts_leaderboard_updated")
    assert isinstance(ev, GiftEvidence)
    assert (ev.origin, ev.gifter_id, ev.giftee_usernames, ev.quantity) == ("leaderboard", 4455667, (), 5)


def test_pusher_streamer_is_live_and_stop():
    [live] = from_pusher("streamer_is_live")
    [stop] = from_pusher("stop_stream_broadcast")
    assert live == LiveEvent(
        is_live=True,
        livestream_id=51234567,
        title="Slots & chill | !raffle",
        started_at=datetime(2025, 3, 14, 15, 0, 2, tzinfo=UTC),
        source="pusher",
        created_at=NOW,
    )
    assert isinstance(stop, LiveEvent) and not stop.is_live and stop.livestream_id == 51234567


def test_pusher_user_banned_timed_and_permanent():
    [timed] = from_pusher("user_banned")
    [perm] = from_pusher("user_banned_permanent")
    assert isinstance(timed, BanEvent) and isinstance(perm, BanEvent)
    assert (timed.user_id, timed.permanent, timed.expires_at) == (
        6661313,
        False,
        datetime(2025, 3, 14, 16, 20, tzinfo=UTC),
    )
    assert timed.banned_by_username == "Mo_Moderator"
    assert (perm.username, perm.permanent, perm.expires_at) == ("Troll_Tom", True, None)


def test_pusher_unknown_and_protocol_events_yield_nothing():
    assert from_pusher("message_deleted") == []
    assert pusher_to_events(parse_pusher_frame('{"event":"pusher:pong","data":"{}"}')) == []
    assert (
        pusher_to_events(parse_pusher_frame('{"event":"App\\\\Events\\\\BrandNewThing","data":"{}"}')) == []
    )


def test_every_pusher_fixture_parses_without_error():
    paths = sorted((FIXTURES / "pusher").glob("*.json"))
    # A moved or emptied fixture folder must fail here, not pass on nothing: the sweep finds the
    # recorded frames, one at least for every event the parser reads, and gets every kind out of them.
    assert len(paths) >= 18, f"{len(paths)} Pusher fixtures in {FIXTURES / 'pusher'}"
    frames = [parse_pusher_frame(path.read_text()) for path in paths]
    assert {event_basename(f.event) for f in frames} >= set(parsers._PUSHER)
    items = [item for frame in frames for item in pusher_to_events(frame, now=NOW)]
    assert {type(item) for item in items} == {ChatEvent, GiftEvidence, SubEvent, LiveEvent, BanEvent}


def test_every_webhook_fixture_parses_without_error():
    paths = sorted((FIXTURES / "webhooks").glob("*.json"))
    assert len(paths) >= 13, f"{len(paths)} webhook fixtures in {FIXTURES / 'webhooks'}"
    deliveries = [webhook(path.stem) for path in paths]
    assert {event_type for event_type, _, _ in deliveries} >= webhook_event_types()
    events = [event for delivery in deliveries for event in webhook_to_events(*delivery, now=NOW)]
    assert {type(e) for e in events} == {ChatEvent, FollowEvent, SubEvent, GiftEvent, LiveEvent, BanEvent}


# ---------------------------------------------------------------- webhook fixtures


def test_webhook_chat_message_matches_pusher_semantic_key():
    [ev] = from_webhook("chat_message_sent")
    [pev] = from_pusher("chat_message")
    assert isinstance(ev, ChatEvent) and isinstance(pev, ChatEvent)
    assert (ev.source, ev.broadcaster_user_id, ev.chatroom_id, ev.kind) == (
        "webhook",
        2984711,
        None,
        "message",
    )
    assert ev.badges == ("moderator", "sub_gifter", "subscriber")
    assert ev.semantic_key() == pev.semantic_key()
    assert ev.message_id == pev.message_id


def test_webhook_chat_reply():
    [ev] = from_webhook("chat_message_sent_reply")
    assert isinstance(ev, ChatEvent)
    assert (ev.kind, ev.reply_to_message_id, ev.sender_slug) == (
        "reply",
        "6f1c1a43-3f0b-4a55-9a0e-1f6e2c7d8b90",
        "replier-rae",
    )


def test_webhook_follow():
    [ev] = from_webhook("channel_followed")
    assert ev == FollowEvent(7001234, "Follower_Fay", NOW, "webhook", "01JPBX037ZK3Q5V8W2N4R6T9YA")


def test_webhook_subscription_new_and_renewal():
    [new] = from_webhook("channel_subscription_new")
    [renewal] = from_webhook("channel_subscription_renewal")
    assert isinstance(new, SubEvent) and isinstance(renewal, SubEvent)
    assert (new.user_id, new.username, new.months, new.is_renewal) == (8800123, "NewSub_Nia", 1, False)
    assert (renewal.months, renewal.is_renewal) == (12, True)
    [pusher_sub] = from_pusher("subscription")
    assert isinstance(pusher_sub, SubEvent) and new.semantic_key() == pusher_sub.semantic_key()


def test_webhook_gifts_carry_ids_and_quantity():
    [ev] = from_webhook("channel_subscription_gifts")
    assert isinstance(ev, GiftEvent)
    assert (ev.gifter_id, ev.gifter_username, ev.quantity) == (4455667, "GenerousGary", 5)
    assert ev.giftee_usernames == GIFTEES
    assert ev.giftee_ids == (9100001, 9100002, 9100003, 9100004, 9100005)
    assert ev.event_key == "01JPBX067ZK3Q5V8W2N4R6T9YA"
    assert ev.semantic_key() == "gift:generousgary:" + ",".join(GIFTEES)


def test_webhook_anonymous_gift():
    [ev] = from_webhook("channel_subscription_gifts_anonymous")
    assert isinstance(ev, GiftEvent)
    assert ev.is_anonymous and ev.gifter_id is None and ev.gifter_username is None
    assert ev.quantity == 1 and ev.semantic_key() == "gift:~anonymous:lucky_lee"


def test_webhook_livestream_started_and_ended_in_utc():
    [on] = from_webhook("livestream_status_updated_started")
    [off] = from_webhook("livestream_status_updated_ended")
    assert isinstance(on, LiveEvent) and isinstance(off, LiveEvent)
    assert on.is_live and on.started_at == datetime(2025, 3, 14, 15, 0, 2, tzinfo=UTC)
    assert on.created_at == on.started_at and on.title == "Slots & chill | !raffle"
    assert not off.is_live and off.created_at == datetime(2025, 3, 14, 19, 0, tzinfo=UTC)
    [pusher_live] = from_pusher("streamer_is_live")
    assert isinstance(pusher_live, LiveEvent) and on.semantic_key() == pusher_live.semantic_key()


def test_webhook_bans():
    [timed] = from_webhook("moderation_banned")
    [perm] = from_webhook("moderation_banned_permanent")
    assert isinstance(timed, BanEvent) and isinstance(perm, BanEvent)
    assert (timed.user_id, timed.permanent, timed.reason, timed.banned_by_username) == (
        6661313,
        False,
        "spam",
        "Mo_Moderator",
    )
    assert timed.expires_at == datetime(2025, 3, 14, 16, 20, tzinfo=UTC)
    assert (perm.permanent, perm.expires_at) == (True, None)
    [pusher_timed] = from_pusher("user_banned")
    assert isinstance(pusher_timed, BanEvent) and pusher_timed.semantic_key() == timed.semantic_key()


def test_webhook_unknown_types_yield_nothing():
    assert from_webhook("kicks_gifted") == []
    assert webhook_to_events("channel.reward.redemption.updated", "01X", b"{}") == []


def test_webhook_accepts_dict_body():
    _, mid, body = webhook("channel_followed")
    [ev] = webhook_to_events("channel.followed", mid, json.loads(body), now=NOW)
    assert isinstance(ev, FollowEvent) and ev.user_id == 7001234


# ---------------------------------------------------------------- junk


def chat_frame(**data_overrides: object) -> str:
    doc = json.loads(pusher_raw("chat_message"))
    data = json.loads(doc["data"])
    data.update(data_overrides)
    doc["data"] = json.dumps(data)
    return json.dumps(doc)


JUNK_FRAMES = {
    "not json": "this is not json {",
    "empty": "",
    "a list": "[1, 2, 3]",
    "no event": '{"data": "{}"}',
    "event not a string": '{"event": 5, "data": "{}"}',
    "channel not a string": '{"event": "x", "channel": 7, "data": "{}"}',
    "data not json": '{"event": "App\\\\Events\\\\ChatMessageEvent", "data": "{nope"}',
    "data a list": '{"event": "App\\\\Events\\\\ChatMessageEvent", "data": "[1,2]"}',
    "data a number": '{"event": "App\\\\Events\\\\ChatMessageEvent", "data": 12}',
    "missing sender": chat_frame(sender=None),
    "sender without id": chat_frame(sender={"username": "x", "slug": "x"}),
    "sender id not a number": chat_frame(sender={"id": "abc", "username": "x"}),
    "sender id a bool": chat_frame(sender={"id": True, "username": "x"}),
    "sender a list": chat_frame(sender=[1]),
    "username null": chat_frame(sender={"id": 1, "username": None}),
    "content a dict": chat_frame(content={"a": 1}),
    "huge content": chat_frame(content="x" * (MAX_CONTENT_CHARS + 1)),
    "id null": chat_frame(id=None),
    "metadata a string": chat_frame(metadata="oops"),
    "badges not a list": chat_frame(sender={"id": 1, "username": "x", "identity": {"badges": "mod"}}),
    "gift usernames a string": json.dumps(
        {
            "event": "GiftedSubscriptionsEvent",
            "data": json.dumps({"gifted_usernames": "abc", "gifter_username": "g"}),
        }
    ),
    "gift usernames empty": json.dumps(
        {
            "event": "GiftedSubscriptionsEvent",
            "data": json.dumps({"gifted_usernames": [], "gifter_username": "g"}),
        }
    ),
    "gift username null entry": json.dumps(
        {
            "event": "GiftedSubscriptionsEvent",
            "data": json.dumps({"gifted_usernames": [None], "gifter_username": "g"}),
        }
    ),
    "sent gift without message": json.dumps({"event": "App\\Events\\ChatMessageSentEvent", "data": "{}"}),
    "banned without user": json.dumps(
        {"event": "App\\Events\\UserBannedEvent", "data": json.dumps({"id": "x"})}
    ),
    "live without livestream": json.dumps({"event": "App\\Events\\StreamerIsLive", "data": "{}"}),
    "subscription without data": '{"event": "App\\\\Events\\\\SubscriptionEvent"}',
    "subscription months text": json.dumps(
        {"event": "App\\Events\\SubscriptionEvent", "data": json.dumps({"username": "u", "months": "many"})}
    ),
}


@pytest.mark.parametrize("raw", JUNK_FRAMES.values(), ids=JUNK_FRAMES.keys())
def test_junk_pusher_frame_raises_only_parse_error(raw):
    with pytest.raises(ParseError):
        pusher_to_events(parse_pusher_frame(raw), now=NOW)


def test_parse_error_message_never_holds_the_content():
    secret = "my-secret-token-" + "y" * MAX_CONTENT_CHARS
    with pytest.raises(ParseError) as err:
        pusher_to_events(parse_pusher_frame(chat_frame(content=secret)), now=NOW)
    assert "secret" not in str(err.value)


TOLERATED = {
    "unicode content": (chat_frame(content="héllo 👋 مرحبا \u200b"), 1),
    "content null is empty": (chat_frame(content=None), 1),
    "content at the limit": (chat_frame(content="x" * MAX_CONTENT_CHARS), 1),
    "created_at null falls back to now": (chat_frame(created_at=None), 1),
    "created_at garbage falls back to now": (chat_frame(created_at="yesterday-ish"), 1),
    "metadata null": (chat_frame(metadata=None), 1),
    "identity null": (chat_frame(sender={"id": 1, "username": "u", "slug": None, "identity": None}), 1),
    "numeric string sender id": (chat_frame(sender={"id": "42", "username": "u"}), 1),
    "unknown chat type": (chat_frame(type="poll"), 0),
    "sent message not a gift": (
        json.dumps(
            {
                "event": "App\\Events\\ChatMessageSentEvent",
                "data": json.dumps({"message": {"action": "host"}}),
            }
        ),
        0,
    ),
}


@pytest.mark.parametrize(("raw", "count"), TOLERATED.values(), ids=TOLERATED.keys())
def test_tolerated_oddities_parse(raw, count):
    events = pusher_to_events(parse_pusher_frame(raw), now=NOW)
    assert len(events) == count


def test_fallback_timestamp_is_now_and_unicode_survives():
    [ev] = pusher_to_events(parse_pusher_frame(chat_frame(created_at=None, content="héllo 👋")), now=NOW)
    assert isinstance(ev, ChatEvent) and ev.created_at == NOW and ev.content == "héllo 👋"


JUNK_WEBHOOKS = {
    "not json": ("chat.message.sent", b"<html>"),
    "a list": ("chat.message.sent", b"[]"),
    "no sender": ("chat.message.sent", b'{"message_id": "m", "content": "hi"}'),
    "sender without user_id": ("chat.message.sent", b'{"message_id": "m", "sender": {"username": "u"}}'),
    "huge content": (
        "chat.message.sent",
        json.dumps(
            {
                "message_id": "m",
                "sender": {"user_id": 1, "username": "u"},
                "content": "x" * (MAX_CONTENT_CHARS + 1),
            }
        ).encode(),
    ),
    "follower null": ("channel.followed", b'{"follower": null}'),
    "subscriber user_id text": (
        "channel.subscription.new",
        b'{"subscriber": {"user_id": "abc", "username": "u"}}',
    ),
    "gifts without giftees": ("channel.subscription.gifts", b'{"gifter": {"user_id": 1, "username": "g"}}'),
    "giftees not objects": ("channel.subscription.gifts", b'{"giftees": ["a", "b"]}'),
    "live without is_live": ("livestream.status.updated", b'{"title": "t"}'),
    "banned user missing": ("moderation.banned", b'{"metadata": {}}'),
}


@pytest.mark.parametrize(("event_type", "body"), JUNK_WEBHOOKS.values(), ids=JUNK_WEBHOOKS.keys())
def test_junk_webhook_raises_only_parse_error(event_type, body):
    with pytest.raises(ParseError):
        webhook_to_events(event_type, "01JUNK", body, now=NOW)


def test_webhook_without_message_id_is_rejected():
    _, _, body = webhook("channel_followed")
    with pytest.raises(ParseError):
        webhook_to_events("channel.followed", "", body)


@pytest.mark.parametrize(
    ("stamp", "expected"),
    [
        ("2025-01-14T16:08:06Z", datetime(2025, 1, 14, 16, 8, 6, tzinfo=UTC)),
        ("2025-01-14t16:08:06z", datetime(2025, 1, 14, 16, 8, 6, tzinfo=UTC)),  # RFC 3339 5.6: any case
        ("2025-01-14T16:08:06.123456789Z", datetime(2025, 1, 14, 16, 8, 6, 123456, tzinfo=UTC)),
        ("2025-01-15T03:08:06+11:00", datetime(2025, 1, 14, 16, 8, 6, tzinfo=UTC)),
        ("2016-12-31T23:59:60Z", datetime(2016, 12, 31, 23, 59, 59, 999999, tzinfo=UTC)),  # a leap second
    ],
)
def test_webhook_times_are_read_as_rfc3339_in_full(stamp: str, expected: datetime) -> None:
    event_type, message_id, raw = webhook("chat_message_sent")
    body = json.loads(raw)
    body["created_at"] = stamp
    [event] = webhook_to_events(event_type, message_id, json.dumps(body).encode(), now=NOW)
    assert event.created_at == expected


def test_a_webhook_of_a_version_we_do_not_read_is_refused() -> None:
    with pytest.raises(ParseError, match="version"):
        webhook_to_events(*webhook("chat_message_sent"), now=NOW, version="2")
