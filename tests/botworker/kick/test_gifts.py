"""One gift purchase is one GiftEvent, whatever Kick sends for it."""

from __future__ import annotations

import json
from dataclasses import replace

from botworker.kick.gifts import GiftCoalescer
from kickbot.integrations.kick.events import GiftEvent, GiftEvidence
from kickbot.integrations.kick.parsers import parse_pusher_frame, pusher_to_events, webhook_to_events
from tests.botworker.kick.conftest import NOW, pusher_lines, pusher_raw, webhook

GIFTEES = ("alpha_fan", "beta_viewer", "charlie99", "deltadawn", "echo_echo")


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


def evidence_from(raw: str) -> list[GiftEvidence]:
    return [e for e in pusher_to_events(parse_pusher_frame(raw), now=NOW) if isinstance(e, GiftEvidence)]


def feed_lines(coalescer: GiftCoalescer, lines: list[str]) -> list[GiftEvent]:
    out: list[GiftEvent] = []
    for raw in lines:
        for ev in evidence_from(raw):
            out += coalescer.feed(ev)
    return out


def evidence(
    origin: str = "lucky_users", gifter: str | None = "Gary", giftees: tuple[str, ...] = ("a",), **kw
) -> GiftEvidence:
    fields = {
        "origin": origin,
        "gifter_id": None,
        "gifter_username": gifter,
        "giftee_usernames": giftees,
        "giftee_ids": (),
        "quantity": len(giftees) or None,
        "created_at": NOW,
    }
    fields.update(kw)
    return GiftEvidence(**fields)  # type: ignore[arg-type]


def test_gift_purchase_over_five_channels_is_one_purchase_completed_by_the_frame_with_the_id():
    clock = FakeClock()
    coalescer = GiftCoalescer(window_s=10, clock=clock)
    lines = pusher_lines("gift_purchase_5.jsonl")
    assert [json.loads(ln)["channel"] for ln in lines] == [
        "chatroom_2915314",
        "channel.2938540",
        "chatrooms.2915314",
        "channel.2938540",
        "channel_2938540",
    ]
    events = feed_lines(coalescer, lines)
    clock.advance(60)
    events += coalescer.flush()
    # The authoritative frame comes first and has no user id: the purchase goes out at once; the
    # ChatMessageSentEvent after it carries the gifter's id, so the same purchase goes out once more
    # with it (a first-time gifter is not known by name). The leaderboard's id adds nothing new.
    first, completed = events
    assert (first.gifter_username, first.quantity, first.giftee_usernames) == ("GenerousGary", 5, GIFTEES)
    assert first.gifter_id is None and first.event_key == first.semantic_key()
    assert completed == replace(first, gifter_id=4455667)
    assert set(first.dedupe_keys()).isdisjoint(completed.dedupe_keys())


def test_authoritative_frame_emits_at_once_with_gifter_id_from_earlier_evidence():
    clock = FakeClock()
    coalescer = GiftCoalescer(clock=clock)
    lines = pusher_lines("gift_purchase_5.jsonl")
    # ChatMessageSentEvent first (carries the gifter id), then the authoritative frame
    assert feed_lines(coalescer, [lines[2]]) == []
    [gift] = feed_lines(coalescer, [lines[0]])
    assert gift.gifter_id == 4455667 and gift.quantity == 5
    assert coalescer.pending_count == 0


def test_same_purchase_in_any_frame_order_is_one_event():
    lines = pusher_lines("gift_purchase_5.jsonl")
    for order in (lines[::-1], [lines[1], lines[4], lines[2], lines[0], lines[3]]):
        clock = FakeClock()
        coalescer = GiftCoalescer(clock=clock)
        events = feed_lines(coalescer, order)
        clock.advance(30)
        events += coalescer.flush()
        assert [e.quantity for e in events] == [5]


def test_without_authoritative_frame_the_fallback_is_emitted_after_the_window():
    clock = FakeClock()
    coalescer = GiftCoalescer(window_s=10, clock=clock)
    lines = pusher_lines("gift_purchase_5.jsonl")
    assert feed_lines(coalescer, [lines[1], lines[2], lines[4]]) == []
    clock.advance(9.9)
    assert coalescer.flush() == []
    clock.advance(0.2)
    [gift] = coalescer.flush()
    assert (gift.gifter_id, gift.quantity) == (4455667, 5)


def test_two_purchases_by_the_same_gifter_are_two_events():
    clock = FakeClock()
    coalescer = GiftCoalescer(clock=clock)
    first = coalescer.feed(evidence("gifted_subscriptions", giftees=("a", "b")))
    clock.advance(1)
    second = coalescer.feed(evidence("gifted_subscriptions", giftees=("c",)))
    # the other frames of both purchases arrive afterwards
    assert coalescer.feed(evidence("lucky_users", giftees=("a", "b"))) == []
    assert coalescer.feed(evidence("lucky_users", giftees=("c",))) == []
    clock.advance(30)
    assert coalescer.flush() == []
    assert [g.quantity for g in first + second] == [2, 1]


def test_gifter_names_compare_case_insensitively():
    clock = FakeClock()
    coalescer = GiftCoalescer(clock=clock)
    [gift] = coalescer.feed(evidence("gifted_subscriptions", gifter="GenerousGary", giftees=("a",)))
    assert coalescer.feed(evidence("chat_message_sent", gifter="generousgary", giftees=("a",))) == []
    assert gift.gifter_username == "GenerousGary"


def test_same_purchase_seen_after_the_window_via_another_frame_is_not_counted_again():
    clock = FakeClock()
    coalescer = GiftCoalescer(window_s=10, clock=clock)
    assert len(coalescer.feed(evidence("gifted_subscriptions", giftees=GIFTEES))) == 1
    clock.advance(120)
    assert coalescer.feed(evidence("lucky_users", giftees=GIFTEES)) == []
    clock.advance(60)
    assert coalescer.flush() == []


def test_memory_is_bounded_in_time():
    clock = FakeClock()
    coalescer = GiftCoalescer(window_s=10, clock=clock, memory_s=600)
    assert len(coalescer.feed(evidence("gifted_subscriptions", giftees=("a",)))) == 1
    clock.advance(601)
    assert len(coalescer.feed(evidence("gifted_subscriptions", giftees=("a",)))) == 1


def test_leaderboard_alone_never_makes_a_gift():
    clock = FakeClock()
    coalescer = GiftCoalescer(clock=clock)
    assert coalescer.feed(evidence("leaderboard", giftees=(), quantity=5, gifter_id=7)) == []
    clock.advance(60)
    assert coalescer.flush() == []


def test_count_only_frame_is_emitted_with_subscriptions_count():
    clock = FakeClock()
    coalescer = GiftCoalescer(window_s=10, clock=clock)
    coalescer.feed(evidence("chat_message_sent", giftees=(), quantity=3, gifter_id=9, frame_id="m-1"))
    clock.advance(11)
    [gift] = coalescer.flush()
    assert (gift.quantity, gift.giftee_usernames, gift.event_key) == (3, (), "frame:m-1")


def test_count_only_frame_joins_the_named_purchase():
    clock = FakeClock()
    coalescer = GiftCoalescer(window_s=10, clock=clock)
    coalescer.feed(evidence("chat_message_sent", giftees=(), quantity=2, gifter_id=9))
    [gift] = coalescer.feed(evidence("gifted_subscriptions", giftees=("a", "b")))
    assert (gift.quantity, gift.gifter_id) == (2, 9)
    clock.advance(11)
    assert coalescer.flush() == []


def test_anonymous_gifts_coalesce_among_themselves():
    clock = FakeClock()
    coalescer = GiftCoalescer(clock=clock)
    [gift] = coalescer.feed(evidence("gifted_subscriptions", gifter=None, giftees=("a",)))
    assert gift.is_anonymous
    assert coalescer.feed(evidence("lucky_users", gifter="", giftees=("a",))) == []


def test_webhook_gift_absorbs_pending_pusher_evidence():
    clock = FakeClock()
    coalescer = GiftCoalescer(window_s=10, clock=clock, prefer_webhook=True)
    lines = pusher_lines("gift_purchase_5.jsonl")
    assert feed_lines(coalescer, lines) == []  # held for the webhook
    [hook] = webhook_to_events(*webhook("channel_subscription_gifts"), now=NOW)
    assert isinstance(hook, GiftEvent)
    assert coalescer.feed(hook) == [hook]
    clock.advance(30)
    assert coalescer.flush() == []
    assert hook.giftee_ids and hook.event_key == "01JPBX067ZK3Q5V8W2N4R6T9YA"


def test_prefer_webhook_falls_back_to_pusher_when_no_webhook_comes():
    clock = FakeClock()
    coalescer = GiftCoalescer(window_s=10, clock=clock, prefer_webhook=True)
    assert feed_lines(coalescer, pusher_lines("gift_purchase_5.jsonl")) == []
    clock.advance(10)
    [gift] = coalescer.flush()
    assert gift.quantity == 5 and gift.source == "pusher"


def test_webhook_after_pusher_emitted_with_the_gifter_id_is_not_reported_again():
    clock = FakeClock()
    coalescer = GiftCoalescer(clock=clock)
    lines = pusher_lines("gift_purchase_5.jsonl")
    [gift] = feed_lines(coalescer, [lines[2], lines[0]])  # ChatMessageSentEvent, then authoritative
    assert gift.gifter_id == 4455667
    [hook] = webhook_to_events(*webhook("channel_subscription_gifts"), now=NOW)
    assert isinstance(hook, GiftEvent)
    assert coalescer.feed(hook) == []
    # and a redelivery of the same webhook too
    assert coalescer.feed(replace(hook)) == []


def test_webhook_after_pusher_emitted_without_the_gifter_id_completes_it_once():
    clock = FakeClock()
    coalescer = GiftCoalescer(clock=clock)
    [gift] = feed_lines(coalescer, [pusher_raw("gifted_subscriptions")])
    assert gift.gifter_id is None
    [hook] = webhook_to_events(*webhook("channel_subscription_gifts"), now=NOW)
    assert isinstance(hook, GiftEvent)
    assert coalescer.feed(hook) == [hook]
    assert coalescer.feed(replace(hook)) == []  # a redelivery
    # the Pusher frames with the id that come after it add nothing either
    assert feed_lines(coalescer, [pusher_raw("chat_message_sent_gift")]) == []
