"""The outbox model moved from botworker to the outbox app; rows written before the move stay."""

from __future__ import annotations

from typing import Any

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from outbox.models import OutboxMessage

BEFORE = [("botworker", "0002_outbox_expires")]


@pytest.fixture
def back_to_latest() -> Any:
    yield
    executor = MigrationExecutor(connection)
    executor.migrate(executor.loader.graph.leaf_nodes())


@pytest.mark.django_db(transaction=True)
def test_rows_queued_before_the_move_are_still_sent(community: Any, back_to_latest: Any) -> None:
    executor = MigrationExecutor(connection)
    executor.migrate(BEFORE)
    old = executor.loader.project_state(BEFORE).apps.get_model("botworker", "OutboxMessage")
    old.objects.create(
        community_id=community.pk, kind="kick_chat", target="42", payload={"content": "hi"}, dedupe_key="k1"
    )

    executor = MigrationExecutor(connection)
    executor.migrate(executor.loader.graph.leaf_nodes())

    row = OutboxMessage.objects.get(dedupe_key="k1")
    assert (row.community_id, row.target, row.payload, row.status) == (
        community.pk,
        "42",
        {"content": "hi"},
        OutboxMessage.Status.PENDING,
    )
