"""`!sr` end to end: fake Pusher frame → real ingestion → one Discord post queued and one Kick reply sent."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from asgiref.sync import sync_to_async

from botworker.kick.component import KickIngestion
from outbox.models import OutboxMessage
from slots.catalogue import slots_import
from slots.importers import parse_document
from slots.models import SlotRequest, SlotSettings
from tests.fakes.kick_api import FakeKick
from tests.fakes.kick_chat import chat_frame, ingesting, until
from tests.fakes.kick_pusher import FakePusherServer

pytestmark = pytest.mark.django_db(transaction=True)

CATALOGUE = Path(__file__).resolve().parents[1] / "fixtures" / "slots" / "catalogue.json"
CHANNEL_ID = 555000111


@pytest.fixture
def slot_streamer(streamer: Any) -> Any:
    slots_import(rows=parse_document(CATALOGUE.read_bytes(), "json"), source="fixture")
    SlotSettings.objects.update_or_create(community=streamer, defaults={"channel_id": CHANNEL_ID})
    return streamer


@pytest.fixture
async def running(
    slot_streamer: Any, fake: FakeKick
) -> AsyncIterator[tuple[FakePusherServer, KickIngestion]]:
    async with ingesting() as world:
        yield world


def _discord_posts() -> list[dict[str, Any]]:
    return [o.payload for o in OutboxMessage.objects.filter(kind="discord_message", target=str(CHANNEL_ID))]


async def test_slot_request_posts_to_discord_and_replies_in_kick(
    running: tuple[FakePusherServer, KickIngestion], fake: FakeKick, slot_streamer: Any
) -> None:
    server, ingestion = running
    frame = chat_frame("sr-1", 4321, "SlotFan", "!sr gates of olympus")
    await server.send(frame)
    await server.send(frame)  # Kick delivers it twice
    # Both deliveries handled (the second one a duplicate), then the one reply sent: a second reply
    # would be a second outbox row, so the count of rows is what proves "once", not a pause.
    await until(lambda: ingestion.pipelines[slot_streamer.pk].stats.duplicates == 1)
    await until(lambda: len(fake.chat) == 1)
    replies = await sync_to_async(OutboxMessage.objects.filter(kind=OutboxMessage.Kind.KICK_CHAT).count)()
    assert replies == 1
    assert len(fake.chat) == 1
    assert fake.chat[0]["reply_to_message_id"] == "sr-1"
    assert "Gates of Olympus" in fake.chat[0]["content"]
    request = await sync_to_async(SlotRequest.objects.get)()
    assert request.kick_message_id == "sr-1"
    posts = await sync_to_async(_discord_posts)()
    assert len(posts) == 1
    text = str(posts[0])
    assert "Gates of Olympus" in text and "SlotFan" in text


async def test_everyone_in_a_request_never_pings(
    running: tuple[FakePusherServer, KickIngestion], fake: FakeKick, slot_streamer: Any
) -> None:
    server, _ = running
    await server.send(chat_frame("sr-2", 4322, "Troll", "!sr @everyone <@&123> free spins"))
    await until(lambda: len(fake.chat) == 1)
    posts = await sync_to_async(_discord_posts)()
    assert len(posts) == 1
    assert "@everyone" not in str(posts[0]).replace("@\u200beveryone", "")
