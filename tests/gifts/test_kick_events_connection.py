"""The Kick-side gift call that may run twice does, when the database ends its connection."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from asgiref.sync import sync_to_async

from gifts import kick_events
from kickbot.event_handlers import EventContext
from kickbot.integrations.kick.events import GiftEvent
from raffle.models import TicketEntry
from raffle.services.periods import period_open
from tests.botworker.test_bridge import _end_this_connection, needs_server


@needs_server
@pytest.mark.django_db(transaction=True)
async def test_a_gift_whose_connection_is_cut_is_awarded_once_on_a_new_one(
    community: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Pusher-only gifts are never re-sent by Kick: the keyed award runs again instead of failing."""
    await sync_to_async(period_open)(
        community=community,
        starts_at=datetime(2026, 11, 1, tzinfo=UTC),
        ends_at=datetime(2099, 1, 1, tzinfo=UTC),
        actor_label="t",
    )
    calls: list[int] = []
    real = kick_events.gift_purchase_record

    def cut_first(**kwargs: Any) -> Any:
        calls.append(1)
        if len(calls) == 1:
            _end_this_connection()  # after Django's health check, before the ledger write
        return real(**kwargs)

    monkeypatch.setattr(kick_events, "gift_purchase_record", cut_first)
    event = GiftEvent(
        gifter_id=4321,
        gifter_username="generous",
        giftee_usernames=("a", "b"),
        giftee_ids=(1, 2),
        quantity=2,
        created_at=datetime(2026, 11, 27, tzinfo=UTC),
        source="pusher",
        event_key="gift:abc",
    )

    await kick_events.record_gift_purchase(EventContext(community_id=community.pk, prefix="!"), event)

    assert len(calls) == 2

    def amounts() -> list[int]:
        return list(TicketEntry.objects.filter(kick_user_id=4321).values_list("amount", flat=True))

    assert await sync_to_async(amounts)() == [30]
