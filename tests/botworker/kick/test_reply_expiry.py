"""Kick chat replies expire unsent after their TTL; a send Kick never received is retried, not dropped."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import time_machine
from asgiref.sync import sync_to_async
from django.utils import timezone

from outbox.models import OutboxMessage
from outbox.services import (
    STALE_CLAIM_SECONDS,
    kick_chat_enqueue,
    kick_reply_expires_at,
    outbox_claim,
    outbox_mark_expired,
    outbox_mark_failed,
)
from tests.fakes.kick_api import FakeKick
from tests.fakes.kick_chat import chat_frame, ingesting, until

Status = OutboxMessage.Status
KICK = (OutboxMessage.Kind.KICK_CHAT,)


def reply_row(community: Any, *, expires_at: datetime | None, text: str = "hi") -> OutboxMessage:
    pk = kick_chat_enqueue(community_id=community.pk, text=text, reply_to="m", expires_at=expires_at)
    return OutboxMessage.objects.get(pk=pk)


@pytest.mark.django_db
class TestExpiry:
    def test_a_reply_past_its_deadline_is_marked_expired_never_claimed(self, community: Any) -> None:
        with time_machine.travel(timezone.now(), tick=False) as clock:
            late = reply_row(community, expires_at=timezone.now() + timedelta(seconds=90))
            timely = reply_row(community, expires_at=timezone.now() + timedelta(seconds=200))
            forever = reply_row(community, expires_at=None)  # timers, announcements
            clock.shift(90)
            claimed = outbox_claim(worker_id="bot", kinds=KICK)
        assert [i.id for i in claimed] == [timely.pk, forever.pk]
        late.refresh_from_db()
        assert (late.status, late.last_error) == (Status.EXPIRED, "expired unsent")

    def test_a_reply_waiting_out_a_retry_backoff_expires_too(self, community: Any) -> None:
        with time_machine.travel(timezone.now(), tick=False) as clock:
            row = reply_row(community, expires_at=timezone.now() + timedelta(seconds=20))
            [item] = outbox_claim(worker_id="bot", kinds=KICK)
            for _ in range(4):  # backoff grows to 40 s: the next try is due after the deadline
                outbox_mark_failed(message_id=item.id, worker_id="bot", error="not sent: refused")
                due = OutboxMessage.objects.get(pk=row.pk).next_attempt_at
                clock.shift(int((due - timezone.now()).total_seconds()) + 1)
                claimed = outbox_claim(worker_id="bot", kinds=KICK)
                if not claimed:
                    break
                [item] = claimed
        row.refresh_from_db()
        assert row.status == Status.EXPIRED
        assert row.attempts >= 2  # it was retried while it was worth sending

    def test_a_row_being_sent_is_left_to_its_sender_until_the_claim_goes_stale(self, community: Any) -> None:
        with time_machine.travel(timezone.now(), tick=False) as clock:
            row = reply_row(community, expires_at=timezone.now() + timedelta(seconds=5))
            [item] = outbox_claim(worker_id="a", kinds=KICK)
            clock.shift(10)
            assert outbox_claim(worker_id="b", kinds=KICK) == []
            assert OutboxMessage.objects.get(pk=row.pk).status == Status.SENDING
            assert outbox_mark_expired(message_id=item.id, worker_id="a")
            assert not outbox_mark_expired(message_id=item.id, worker_id="a")  # once
            row.refresh_from_db()
            assert row.status == Status.EXPIRED
            other = reply_row(community, expires_at=timezone.now() + timedelta(seconds=5), text="x")
            outbox_claim(worker_id="dead", kinds=KICK)
            clock.shift(STALE_CLAIM_SECONDS + 1)  # its sender died mid-send, long past the deadline
            assert outbox_claim(worker_id="b", kinds=KICK) == []
            assert OutboxMessage.objects.get(pk=other.pk).status == Status.EXPIRED

    def test_the_deadline_counts_from_the_command_s_own_time(self, settings: Any) -> None:
        settings.KICK_REPLY_TTL_SECONDS = 90
        said = datetime(2026, 12, 3, 12, 0, tzinfo=UTC)
        assert kick_reply_expires_at(said) == said + timedelta(seconds=90)


# --- through the real ingestion and sender -----------------------------------------------------------

e2e = pytest.mark.django_db(transaction=True)


@e2e
async def test_reply_refused_at_connect_is_retried_and_sent_once_kick_is_back(
    streamer: Any, fake: FakeKick
) -> None:
    fake.down = True
    async with ingesting() as (server, _):
        await server.send(chat_frame("c-1", 501, "asker", "!commands"))

        def refused_once() -> bool:
            row = OutboxMessage.objects.filter(kind="kick_chat").first()
            return row is not None and row.attempts >= 1 and row.last_error.startswith("not sent")

        await until(sync_to_async(refused_once), within_s=15)
        row = await OutboxMessage.objects.aget(kind="kick_chat")
        assert row.status == Status.PENDING  # not failed for good: nothing reached Kick
        fake.down = False

        def sent() -> bool:
            return OutboxMessage.objects.filter(kind="kick_chat", status=Status.SENT).exists()

        await until(sync_to_async(sent), within_s=20)
    assert [c["reply_to_message_id"] for c in fake.chat] == ["c-1"]
    row = await OutboxMessage.objects.aget(kind="kick_chat")
    assert row.attempts == 2


@e2e
async def test_reply_to_a_command_older_than_the_ttl_is_never_sent(
    streamer: Any, fake: FakeKick, settings: Any
) -> None:
    settings.KICK_REPLY_TTL_SECONDS = 20
    now = datetime.now(UTC)
    async with ingesting() as (server, _):
        # Said 60 s ago (Kick delivered it late: a backlog after an outage), within the 2 minutes a
        # command is still run, but its reply's 20 s are over.
        await server.send(chat_frame("old-1", 601, "late", "!commands", when=now - timedelta(seconds=60)))
        await server.send(chat_frame("new-1", 602, "fresh", "!commands", when=now))
        await until(lambda: len(fake.chat) == 1)

        def both_done() -> bool:
            return set(OutboxMessage.objects.values_list("status", flat=True)) == {"sent", "expired"}

        await until(sync_to_async(both_done))
    assert [c["reply_to_message_id"] for c in fake.chat] == ["new-1"]
    old = await OutboxMessage.objects.aget(payload__reply_to="old-1")
    assert old.status == Status.EXPIRED and old.attempts == 0
