"""Acceptance (issue 15): ``runbot`` as a real process, fed a gift purchase's real frames back to back.

The fake Kick Pusher server sends the recorded frames of one purchase (tests/fixtures/kick:
``GiftedSubscriptionsEvent`` without user ids first, then ``LuckyUsers…``, ``ChatMessageSentEvent``
with ``user.id``, ``ChannelSubscriptionEvent``, ``GiftsLeaderboardUpdated`` with ``gifter_id``, over
five channels) 2 ms apart, for several first-time gifters at once; webhooks go where the web process
puts them (the community's Redis stream) at the same moment. Each gifter must end with exactly
``rate x subs`` tickets, from one ledger entry, and a name on the board.
"""

from __future__ import annotations

import contextlib
import json
import os
import time
from collections.abc import Iterator
from contextlib import ExitStack
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings

from tests.fakes.kick_chat import BROADCASTER, CHANNEL, chat_frame
from tests.faults.harness import World, throwaway_postgres, wait_for

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=False, databases=[])]

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "kick"
RECORDED_GIFTER, RECORDED_GIFTER_ID = "GenerousGary", "4455667"
RECORDED_GIFTEES = ("alpha_fan", "Beta_Viewer", "charlie99", "DeltaDawn", "echo_echo")
RECORDED_MESSAGE_ID = "a7c2d9e0-44b1-4c3e-9f0a-2b6d8e1f3c57"

CHATTED = (5_100_001, "ChattyCharlotte")  # a chat line 5 ms before the purchase's first frame
SILENT = (5_100_002, "QuietQuinn")  # never chatted
HOOKED = (5_100_003, "WebhookWendy")  # gift seen only through the webhook
BOTH = (5_100_004, "DoubleDan")  # one purchase, on Pusher and by webhook


def _swap(text: str, gifter: tuple[int, str], tag: str) -> str:
    """The recorded purchase, made by ``gifter`` for giftees of its own, on the test channel, now."""
    uid, name = gifter
    text = text.replace(RECORDED_GIFTER_ID, str(uid)).replace(RECORDED_GIFTER, name)
    text = text.replace("generousgary", name.lower())
    for giftee in RECORDED_GIFTEES:
        text = text.replace(giftee, f"{tag}_{giftee}")
    text = text.replace("2938540", str(CHANNEL)).replace("2984711", str(BROADCASTER))
    text = text.replace(RECORDED_MESSAGE_ID, f"gift-{tag}")
    now = datetime.now(UTC)
    text = text.replace("1741968600", str(int(now.timestamp())))
    return text.replace("2025-03-14T16:10:00Z", now.strftime("%Y-%m-%dT%H:%M:%SZ"))


def pusher_purchase(gifter: tuple[int, str], tag: str) -> list[str]:
    lines = (FIXTURES / "pusher" / "gift_purchase_5.jsonl").read_text().splitlines()
    return [_swap(line, gifter, tag) for line in lines if line.strip()]


def webhook_purchase(gifter: tuple[int, str], tag: str, *, subs: int) -> tuple[str, str, bytes]:
    doc = json.loads((FIXTURES / "webhooks" / "channel_subscription_gifts.json").read_text())
    doc["body"]["giftees"] = doc["body"]["giftees"][:subs]
    body = _swap(json.dumps(doc["body"]), gifter, tag)
    return "channel.subscription.gifts", f"01JGIFTS{tag.upper():0>18}", body.encode()


@pytest.fixture
def world(tmp_path: Path) -> Iterator[World]:
    """The suite's own Redis (its key prefix apart) and database server: SQLite under ``tmp_path``, or a
    throwaway Postgres database when the suite runs on Postgres."""
    with ExitStack() as stack:
        database_url = None
        if settings.DATABASES["default"]["ENGINE"].endswith("postgresql"):
            database_url = stack.enter_context(throwaway_postgres(os.environ["DATABASE_URL"]))
        w = World(tmp=tmp_path, database_url=database_url, redis_url=settings.REDIS_URL)
        stack.callback(w.close)
        w.setup()
        yield w


def report(world: World) -> dict[str, Any]:
    ids = ", ".join(str(uid) for uid, _ in (CHATTED, SILENT, HOOKED, BOTH))
    return dict(world.shell(f"import tests.gifts.runbot_world as w; w.report({ids})"))


def ingest_state(world: World) -> dict[bytes, bytes]:
    return dict(world.redis().hgetall(f"{world.prefix}:ingest:{world.community_id}"))


def test_first_time_gifters_at_kicks_pacing_get_rate_times_subs_once(world: World) -> None:
    bot = world.start_bot()
    wait_for(lambda: any(len(channels) >= 5 for channels in world.pusher.server.subscriptions), 90)

    chat = json.dumps(chat_frame("hello-1", CHATTED[0], CHATTED[1], "first time here, have some subs"))
    frames = [
        chat,
        *pusher_purchase(CHATTED, "c"),
        *pusher_purchase(SILENT, "s"),
        *pusher_purchase(BOTH, "b"),
    ]
    world.webhook(*webhook_purchase(HOOKED, "h", subs=3))
    world.webhook(*webhook_purchase(BOTH, "b", subs=5))
    sent_at = time.time()
    world.pusher.send_many(frames, per_second=500)  # 2 ms apart: Kick's own pacing for one purchase

    def everyone_awarded() -> bool:
        return all(report(world)["tickets"][str(uid)] for uid, _ in (CHATTED, SILENT, HOOKED, BOTH))

    with contextlib.suppress(TimeoutError):  # what is missing then shows in the comparison below
        wait_for(everyone_awarded, 90, step=0.5)
    # Past the gift window (10 s) by the bot's own clock: anything still held has gone out by now.
    wait_for(lambda: float(ingest_state(world).get(b"updated_at", 0)) > sent_at + 12, 60, step=0.5)
    assert bot.poll() is None, world.log("bot")[-3000:]

    rep = report(world)
    rate = rep["rate"]
    assert rep["tickets"] == {
        str(CHATTED[0]): [5 * rate],
        str(SILENT[0]): [5 * rate],
        str(HOOKED[0]): [3 * rate],
        str(BOTH[0]): [5 * rate],
    }
    assert rep["names"] == {str(uid): name for uid, name in (CHATTED, SILENT, HOOKED, BOTH)}
    assert ingest_state(world).get(b"errors") == b"0"
    assert "is not a known Kick user" not in world.log("bot")
