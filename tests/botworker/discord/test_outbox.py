"""Outbox: enqueue once per cause, claim by conditional UPDATE, retries, and the Discord sender."""

from __future__ import annotations

import threading
import time
from datetime import timedelta
from typing import Any

import discord
import pytest
import time_machine
from django.db import OperationalError, close_old_connections, connection
from django.utils import timezone

from botworker.discord.outbox_sender import DiscordOutboxSender
from outbox.models import OutboxMessage
from outbox.services import (
    STALE_CLAIM_SECONDS,
    outbox_claim,
    outbox_enqueue,
    outbox_mark_failed,
    outbox_mark_sent,
)
from tests.fakes.discord import MockBot, MockGuild, MockTextChannel, MockUser, no_mentions

Status = OutboxMessage.Status


def enqueue(community: Any, n: int = 1, **kw: Any) -> list[OutboxMessage]:
    return [
        outbox_enqueue(
            community=community,
            kind=kw.get("kind", "discord_message"),
            target=kw.get("target", 555),
            payload=kw.get("payload", {"content": f"hello {i}"}),
            dedupe_key=kw.get("dedupe_key"),
        )
        for i in range(n)
    ]


@pytest.mark.django_db
class TestServices:
    def test_a_cause_enqueues_once(self, community: Any) -> None:
        enqueue(community, 2, dedupe_key="gift:abc")
        assert OutboxMessage.objects.count() == 1

    def test_unknown_kind_is_rejected(self, community: Any) -> None:
        with pytest.raises(ValueError):
            enqueue(community, kind="carrier_pigeon")

    def test_claim_takes_due_rows_once(self, community: Any) -> None:
        rows = enqueue(community, 3)
        first = outbox_claim(worker_id="a", limit=2)
        second = outbox_claim(worker_id="b", limit=10)
        assert [i.id for i in first] == [rows[0].pk, rows[1].pk]
        assert [i.id for i in second] == [rows[2].pk]
        assert outbox_claim(worker_id="c", limit=10) == []
        assert first[0].guild_id == community.discord_guild_id

    def test_kick_chat_rows_are_left_for_the_kick_sender(self, community: Any) -> None:
        enqueue(community, kind="kick_chat", target=3001, payload={"content": "hi"})
        assert outbox_claim(worker_id="a", limit=10) == []
        assert len(outbox_claim(worker_id="kick", limit=10, kinds=("kick_chat",))) == 1

    def test_stale_claim_is_reclaimable_after_a_minute(self, community: Any) -> None:
        with time_machine.travel(timezone.now(), tick=False) as clock:
            [row] = enqueue(community)
            assert outbox_claim(worker_id="dead", limit=1)
            clock.shift(timedelta(seconds=STALE_CLAIM_SECONDS - 1))
            assert outbox_claim(worker_id="b", limit=1) == []
            clock.shift(timedelta(seconds=2))
            [item] = outbox_claim(worker_id="b", limit=1)
        assert item.id == row.pk and item.attempts == 2
        assert not outbox_mark_sent(message_id=row.pk, worker_id="dead")  # the old claim is void
        assert outbox_mark_sent(message_id=row.pk, worker_id="b")

    def test_failure_backs_off_then_gives_up(self, community: Any, settings: Any) -> None:
        settings.OUTBOX_MAX_ATTEMPTS = 2
        [row] = enqueue(community)
        with time_machine.travel(timezone.now(), tick=False) as clock:
            outbox_claim(worker_id="a", limit=1)
            status = outbox_mark_failed(message_id=row.pk, worker_id="a", error="HTTPException 500")
            assert status == "pending"
            assert outbox_claim(worker_id="a", limit=1) == []  # not due yet
            clock.shift(timedelta(seconds=6))
            assert outbox_claim(worker_id="a", limit=1)
            assert outbox_mark_failed(message_id=row.pk, worker_id="a", error="HTTPException 502") == "failed"
        row.refresh_from_db()
        assert (row.status, row.attempts, row.last_error) == (Status.FAILED, 2, "HTTPException 502")

    def test_permanent_failure_is_not_retried(self, community: Any) -> None:
        [row] = enqueue(community)
        outbox_claim(worker_id="a", limit=1)
        status = outbox_mark_failed(message_id=row.pk, worker_id="a", error="Forbidden", retry=False)
        assert status == "failed"


@pytest.mark.django_db(transaction=True)
def test_two_racing_claimers_send_each_row_exactly_once(community: Any) -> None:
    rows = enqueue(community, 60)
    sent: dict[str, list[int]] = {"a": [], "b": []}
    errors: list[BaseException] = []
    barrier = threading.Barrier(2)

    def retrying(func: Any, **kwargs: Any) -> Any:
        # The in-memory shared-cache SQLite test database answers a concurrent write with
        # SQLITE_LOCKED at once instead of waiting busy_timeout like the file database does.
        # Postgres never takes this branch. A failed statement rolled back, so retrying is exact.
        # The lock is held only for the other thread's statement, but a loaded machine can stretch
        # that: retry until a deadline, not a count.
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            try:
                return func(**kwargs)
            except OperationalError as exc:
                if "locked" not in str(exc):
                    raise
                time.sleep(0.005)
        raise AssertionError("database stayed locked for 20 s")

    def worker(name: str) -> None:
        try:
            barrier.wait()
            while True:
                items = retrying(outbox_claim, worker_id=name, limit=7)
                if not items:
                    break
                for item in items:
                    if retrying(outbox_mark_sent, message_id=item.id, worker_id=name):
                        sent[name].append(item.id)
        except BaseException as exc:  # surfaced below
            errors.append(exc)
        finally:
            close_old_connections()
            connection.close()

    threads = [threading.Thread(target=worker, args=(n,)) for n in sent]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)

    assert not errors, errors
    all_sent = sent["a"] + sent["b"]
    assert sorted(all_sent) == sorted(r.pk for r in rows)  # every row once, none twice
    assert OutboxMessage.objects.filter(status=Status.SENT).count() == 60


# --- the Discord sender ------------------------------------------------------------------


def http_error(cls: type[discord.HTTPException], status: int) -> discord.HTTPException:
    from unittest.mock import MagicMock

    response = MagicMock()
    response.status = status
    response.reason = "x"
    return cls(response, "error")


@pytest.fixture
def bot() -> MockBot:
    return MockBot()


@pytest.mark.django_db(transaction=True)
class TestSender:
    async def test_channel_message_is_sent_without_pings(self, community: Any, bot: MockBot) -> None:
        channel = MockTextChannel(guild=MockGuild(id=community.discord_guild_id))
        bot.get_channel.return_value = channel
        text = "@everyone @here <@&123456789012345678> <@123456789012345678> hi"
        [row] = await _aenqueue(community, payload={"content": text}, target=channel.id)

        assert await DiscordOutboxSender(bot, worker_id="w").run_once() == 1

        channel.send.assert_awaited_once()
        kwargs = channel.send.await_args.kwargs
        assert kwargs["content"] == text
        assert no_mentions(kwargs["allowed_mentions"])
        bot.get_channel.assert_called_once_with(channel.id)
        assert (await OutboxMessage.objects.aget(pk=row.pk)).status == Status.SENT

    async def test_dm_is_sent_to_the_user_without_pings(self, community: Any, bot: MockBot) -> None:
        user = MockUser(id=111)
        bot.get_user.return_value = user
        await _aenqueue(community, payload={"content": "linked <@&1>", "dm": True}, target=111)

        await DiscordOutboxSender(bot, worker_id="w").run_once()

        assert no_mentions(user.send.await_args.kwargs["allowed_mentions"])

    async def test_forbidden_fails_for_good(self, community: Any, bot: MockBot) -> None:
        channel = MockTextChannel(guild=MockGuild(id=community.discord_guild_id))
        channel.send.side_effect = http_error(discord.Forbidden, 403)
        bot.get_channel.return_value = channel
        [row] = await _aenqueue(community, target=channel.id)

        assert await DiscordOutboxSender(bot, worker_id="w").run_once() == 0

        row = await OutboxMessage.objects.aget(pk=row.pk)
        assert (row.status, row.last_error) == (Status.FAILED, "Forbidden 403")

    async def test_server_error_is_retried_later(self, community: Any, bot: MockBot) -> None:
        channel = MockTextChannel(guild=MockGuild(id=community.discord_guild_id))
        channel.send.side_effect = http_error(discord.DiscordServerError, 503)
        bot.get_channel.return_value = channel
        [row] = await _aenqueue(community, target=channel.id)

        await DiscordOutboxSender(bot, worker_id="w").run_once()

        row = await OutboxMessage.objects.aget(pk=row.pk)
        assert (row.status, row.attempts) == (Status.PENDING, 1)
        assert row.next_attempt_at > timezone.now()

    async def test_a_channel_of_another_guild_is_never_used(self, community: Any, bot: MockBot) -> None:
        channel = MockTextChannel(guild=MockGuild(id=1))
        bot.get_channel.return_value = channel
        [row] = await _aenqueue(community, target=channel.id)

        await DiscordOutboxSender(bot, worker_id="w").run_once()

        channel.send.assert_not_called()
        assert (await OutboxMessage.objects.aget(pk=row.pk)).status == Status.FAILED

    async def test_edit_and_roles(self, community: Any, bot: MockBot) -> None:
        from tests.fakes.discord import MockMember, MockPartialMessage, MockRole

        role = MockRole(id=77)
        member = MockMember(id=222)
        guild = MockGuild(id=community.discord_guild_id, roles=[role], members=[member])
        channel = MockTextChannel(guild=guild)
        channel.get_partial_message.return_value = MockPartialMessage(id=5)
        bot.get_channel.return_value = channel
        bot.get_guild.return_value = guild
        edit_payload = {"message_id": 5, "content": "x"}
        await _aenqueue(community, kind="discord_edit", target=channel.id, payload=edit_payload)
        await _aenqueue(
            community, kind="discord_role_add", target=222, payload={"guild_id": guild.id, "role_id": 77}
        )

        assert await DiscordOutboxSender(bot, worker_id="w").run_once() == 2

        channel.get_partial_message.assert_called_once_with(5)
        edit = channel.get_partial_message.return_value.edit
        assert no_mentions(edit.await_args.kwargs["allowed_mentions"])
        member.add_roles.assert_awaited_once()
        assert member.add_roles.await_args.args == (role,)


async def _aenqueue(community: Any, **kw: Any) -> list[OutboxMessage]:
    from asgiref.sync import sync_to_async

    return await sync_to_async(enqueue)(community, **kw)
