"""run_sync: the one async → sync crossing survives the database server ending its connection."""

from __future__ import annotations

from typing import Any

import psycopg
import pytest
from django.conf import settings
from django.db import OperationalError, connection, transaction

from accounts.models import KickUser
from accounts.services import kick_users_seen
from kickbot.bridge import run_sync
from outbox.models import OutboxMessage
from outbox.services import kick_chat_enqueue

needs_server = pytest.mark.skipif(
    not settings.DATABASES["default"]["ENGINE"].endswith("postgresql"),
    reason="needs a server to end the connection (SQLite's in-memory test database cannot be cut)",
)


def _end_this_connection() -> None:
    """What a restart, a failover or pg_terminate_backend does to the connection of this thread."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        pid = cursor.fetchone()[0]
    _terminate(pid)


def _terminate(pid: int) -> None:
    other = connection.get_new_connection(connection.get_connection_params())
    try:
        other.execute("SELECT pg_terminate_backend(%s)", [pid])
        other.commit()
    finally:
        other.close()


@needs_server
@pytest.mark.django_db(transaction=True)
async def test_a_call_whose_connection_the_server_ended_runs_again_on_a_new_one_and_writes_once(
    community: Any,
) -> None:
    calls: list[int] = []

    def command() -> int:
        calls.append(1)
        if len(calls) == 1:
            _end_this_connection()  # between Django's health check and the writes
        kick_users_seen(users=[(77, "viewer", "viewer")])
        return kick_chat_enqueue(community_id=community.pk, text="hi", reply_to="m1", dedupe_key="reply:m1")

    await run_sync(command, idempotent=True)()
    assert len(calls) == 2
    assert await run_sync(OutboxMessage.objects.filter(dedupe_key="reply:m1").count)() == 1
    assert await run_sync(KickUser.objects.filter(user_id=77).count)() == 1


@needs_server
@pytest.mark.django_db(transaction=True)
async def test_a_call_that_committed_before_its_connection_ended_is_not_run_again(community: Any) -> None:
    calls: list[int] = []

    def enqueue_then_read() -> int:
        calls.append(1)
        kick_chat_enqueue(community_id=community.pk, text="not keyed")  # committed (autocommit)
        if len(calls) == 1:
            _end_this_connection()
        return OutboxMessage.objects.count()

    with pytest.raises(OperationalError):
        await run_sync(enqueue_then_read)()
    assert len(calls) == 1
    assert await run_sync(OutboxMessage.objects.filter(payload__text="not keyed").count)() == 1


@needs_server
@pytest.mark.django_db(transaction=True)
async def test_a_commit_whose_answer_was_lost_is_not_run_again(
    community: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """One transaction is not enough: the server may have committed before the connection ended."""
    real_commit = psycopg.Connection.commit
    lost: list[int] = []

    def commit_then_lose_the_answer(conn: psycopg.Connection[Any]) -> None:
        real_commit(conn)
        if not lost:
            lost.append(conn.info.backend_pid)
            _terminate(conn.info.backend_pid)
            raise psycopg.OperationalError("server closed the connection unexpectedly")

    monkeypatch.setattr(psycopg.Connection, "commit", commit_then_lose_the_answer)

    def give() -> None:
        with transaction.atomic():
            kick_chat_enqueue(community_id=community.pk, text="not keyed")

    with pytest.raises(OperationalError):
        await run_sync(give)()
    assert lost
    monkeypatch.undo()
    assert await run_sync(OutboxMessage.objects.filter(payload__text="not keyed").count)() == 1


@pytest.mark.django_db(transaction=True)
async def test_an_error_on_a_connection_that_still_works_is_not_run_again() -> None:
    calls: list[int] = []

    def fails() -> None:
        calls.append(1)
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        raise OperationalError("deadlock detected")

    with pytest.raises(OperationalError):
        await run_sync(fails, idempotent=True)()
    assert len(calls) == 1


@needs_server
@pytest.mark.django_db(transaction=True)
async def test_kick_ingestion_runs_its_keyed_writes_again_on_a_new_connection(
    community: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The users upsert and the reply write (keyed) are the calls Kick ingestion opts in."""
    from botworker.commands.router import Reply
    from botworker.kick import component, pipeline

    calls: list[str] = []

    def cut_first(name: str, real: Any) -> Any:
        def call(**kwargs: Any) -> Any:
            if name not in calls:
                _end_this_connection()  # after Django's health check, before the write
            calls.append(name)
            return real(**kwargs)

        return call

    monkeypatch.setattr(pipeline, "kick_users_seen", cut_first("users", kick_users_seen))
    monkeypatch.setattr(component, "kick_chat_enqueue", cut_first("reply", kick_chat_enqueue))
    users = pipeline.KnownUsers()
    users.seen(78, "viewer78", "viewer78")
    assert await users.flush() == 1
    ingestion = component.KickIngestion(communities=[], redis=None, holder_id="t")
    cfg = pipeline.CommunityConfig(
        id=community.pk,
        slug="c",
        prefix="!",
        chatroom_id=1,
        channel_id=2,
        broadcaster_user_id=3,
        bot_user_id=None,
    )
    await ingestion.on_reply(cfg, Reply(text="hi", reply_to_message_id="m78", command="tickets"))

    assert calls == ["users", "users", "reply", "reply"]
    assert await run_sync(KickUser.objects.filter(user_id=78).count)() == 1
    assert await run_sync(OutboxMessage.objects.filter(payload__reply_to="m78").count)() == 1
