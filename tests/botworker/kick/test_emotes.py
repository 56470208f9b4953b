"""Emote markup: commands see the line without it, from Pusher frames and from webhooks alike."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from asgiref.sync import sync_to_async

from botworker.kick.emotes import strip_emotes
from gtb.models import GtbGuess
from gtb.services import gtb_session_start
from kickbot.bridge import run_sync
from kickbot.integrations.kick.events import ChatEvent
from kickbot.integrations.kick.parsers import parse_pusher_frame, pusher_to_events, webhook_to_events
from kickbot.redis_client import get_redis
from kickbot.webhook_stream import webhook_enqueue
from slots.catalogue import slots_import
from slots.importers import parse_document
from slots.models import SlotRequest
from tests.botworker.kick.conftest import FIXTURES, NOW, pusher_raw, webhook
from tests.fakes.kick_api import FakeKick
from tests.fakes.kick_chat import ingesting, until

CATALOGUE = Path(__file__).resolve().parents[2] / "fixtures" / "slots" / "catalogue.json"


@pytest.mark.parametrize(
    ("text", "spans", "expected"),
    [
        ("!sr sweet bonanza [emote:37226:KEKW]", (), "!sr sweet bonanza"),
        ("!gtb 1234.50 [emote:37226:KEKW]", (), "!gtb 1234.50"),
        ("!gtb [emote:1:a]1234.50[emote:2:b]", (), "!gtb 1234.50"),
        ("!sr gates of olympus", (), "!sr gates of olympus"),
        ("!sr [emote:37226:KEKW]", (), "!sr"),
        # the webhook's positions cut the tokens they point at ...
        ("!gtb [emote:1:a]1500", ((5, 15),), "!gtb 1500"),
        # ... and never into an argument: positions counted in another unit are ignored
        ("!gtb 😀 1500 [emote:37226:KEKW]", ((9, 26),), "!gtb 😀 1500"),
        ("!gtb 1500 KEKW", ((5, 8), (10, 13)), "!gtb 1500 KEKW"),
        ("!gtb 1500", ((50, 60), (-1, 2), (3, 1)), "!gtb 1500"),
        ("[emote:notanid:x] stays", (), "[emote:notanid:x] stays"),
    ],
)
def test_strip_emotes(text: str, spans: tuple[tuple[int, int], ...], expected: str) -> None:
    assert strip_emotes(text, spans) == expected


def test_plain_lines_come_back_as_the_same_object() -> None:
    line = "!sr   book  of dead"
    assert strip_emotes(line) is line  # nothing scanned or rebuilt for a line without emotes


def test_webhook_chat_keeps_its_emote_positions_and_content() -> None:
    [event] = webhook_to_events(*webhook("chat_message_sent_emotes"), now=NOW)
    assert isinstance(event, ChatEvent)
    assert event.content == "!gtb 1234.50 [emote:37226:KEKW] [emote:4148074:HYPERCLAP]"
    assert event.emote_spans == ((13, 30), (32, 56))
    assert strip_emotes(event.content, event.emote_spans) == "!gtb 1234.50"


def test_webhook_with_malformed_emotes_still_parses_the_line() -> None:
    event_type, message_id, body = webhook("chat_message_sent_emotes")
    doc = json.loads(body)
    doc["emotes"] = [{"emote_id": "1", "positions": [{"s": "x", "e": 3}, 7, {"s": 5}]}, "junk", None]
    [event] = webhook_to_events(event_type, message_id, json.dumps(doc).encode(), now=NOW)
    assert isinstance(event, ChatEvent) and event.emote_spans == ()


def test_pusher_chat_keeps_its_emote_tokens() -> None:
    [event] = pusher_to_events(parse_pusher_frame(pusher_raw("chat_message_emote_command")), now=NOW)
    assert isinstance(event, ChatEvent)
    assert event.content == "!sr sweet bonanza [emote:37226:KEKW]" and event.emote_spans == ()


# --- end to end: recorded shapes through the real ingestion ----------------------------------------


def _fresh_pusher_frame(name: str, when: datetime) -> dict[str, Any]:
    frame = json.loads((FIXTURES / "pusher" / f"{name}.json").read_text())
    data = json.loads(frame["data"])
    data["created_at"] = when.isoformat(timespec="seconds")
    return {**frame, "data": json.dumps(data)}


def _fresh_webhook(name: str, when: datetime) -> tuple[str, str, bytes]:
    event_type, message_id, body = webhook(name)
    doc = json.loads(body)
    doc["created_at"] = when.isoformat(timespec="seconds").replace("+00:00", "Z")
    return event_type, message_id, json.dumps(doc).encode()


@pytest.mark.django_db(transaction=True)
async def test_pusher_sr_with_an_emote_matches_the_slot_exactly(streamer: Any, fake: FakeKick) -> None:
    await sync_to_async(slots_import)(rows=parse_document(CATALOGUE.read_bytes(), "json"), source="fixture")
    async with ingesting() as (server, _):
        await server.send(_fresh_pusher_frame("chat_message_emote_command", datetime.now(UTC)))
        await until(lambda: len(fake.chat) == 1)
    request = await SlotRequest.objects.select_related("slot").aget()
    assert request.slot is not None and request.slot.name == "Sweet Bonanza"
    assert request.match_score == 1.0
    assert request.text == "sweet bonanza"
    assert "Sweet Bonanza" in fake.chat[0]["content"]


@pytest.mark.django_db(transaction=True)
async def test_webhook_gtb_with_emotes_is_accepted(streamer: Any, fake: FakeKick) -> None:
    await run_sync(gtb_session_start)(community_id=streamer.pk, title="Hunt", prize_cents=0, actor_label="t")
    event_type, message_id, body = _fresh_webhook("chat_message_sent_emotes", datetime.now(UTC))
    async with ingesting() as _:
        await sync_to_async(webhook_enqueue)(
            get_redis(), community_id=streamer.pk, event_type=event_type, message_id=message_id, body=body
        )
        await until(lambda: any(c.get("reply_to_message_id") for c in fake.chat))
    guess = await GtbGuess.objects.aget()
    assert guess.amount_cents == 1_234_50
    [reply] = [c for c in fake.chat if c.get("reply_to_message_id")]
    assert reply["content"] == "Guess saved: $1,234.50"
