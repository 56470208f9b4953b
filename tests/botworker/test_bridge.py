"""run_sync: the one async → sync crossing survives the database server ending its connection."""

from __future__ import annotations

from typing import Any

import pytest
from django.conf import settings
from django.db import OperationalError, connection

from accounts.models import KickUser
from accounts.services import kick_users_seen
from botworker.bridge import run_sync
from botworker.models import OutboxMessage
from botworker.outbox import kick_chat_enqueue

needs_server = pytest.mark.skipif(
    not settings.DATABASES["default"]["ENGINE"].endswith("postgresql"),
    reason="needs a server to end the connection (SQLite's in-memory test database cannot be cut)",
)


def _end_this_connection() -> None:
    """What a restart, a failover or pg_terminate_backend does to the connection of this thread."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        pid = cursor.fetchone()[0]
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

    await run_sync(command)()
    assert len(calls) == 2
    assert await run_sync(OutboxMessage.objects.filter(dedupe_key="reply:m1").count)() == 1
    assert await run_sync(KickUser.objects.filter(user_id=77).count)() == 1


@pytest.mark.django_db(transaction=True)
async def test_an_error_on_a_connection_that_still_works_is_not_run_again() -> None:
    calls: list[int] = []

    def fails() -> None:
        calls.append(1)
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        raise OperationalError("deadlock detected")

    with pytest.raises(OperationalError):
        await run_sync(fails)()
    assert len(calls) == 1
