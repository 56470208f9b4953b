"""Services publish live-feed events for the overview (tickets, gifts, draws, links)."""

from __future__ import annotations

from typing import Any

import pytest

from accounts import services as account_services
from raffle import services as raffle_services
from raffle.models import RafflePeriod
from tests.dashboard.conftest import DISCORD, LINKED, World
from tests.raffle.conftest import FakeRelay, use_round

pytestmark = pytest.mark.django_db


@pytest.fixture
def feed(monkeypatch: pytest.MonkeyPatch) -> list[dict[str, Any]]:
    sent: list[dict[str, Any]] = []

    def record(**kwargs: Any) -> None:
        sent.append(kwargs)

    monkeypatch.setattr(raffle_services, "live_publish", record)
    monkeypatch.setattr(account_services, "live_publish", record)
    return sent


def test_admin_tickets_publish_who_gave_how_many_to_whom(world: World, feed: list[dict[str, Any]]) -> None:
    raffle_services.tickets_admin_adjust(
        community_id=world.community.pk,
        kick_user_id=LINKED,
        amount=5,
        remove=False,
        reason="raid",
        actor_label="mod",
    )
    assert feed[-1]["kind"] == "raffle.tickets"
    assert feed[-1]["data"]["text"] == "mod gave 5 tickets to SlotFan (raid)"


def test_gift_tickets_publish(world: World, feed: list[dict[str, Any]]) -> None:
    raffle_services.tickets_award_gift(
        community_id=world.community.pk,
        gifter_id=LINKED,
        gifter_username="SlotFan",
        quantity=2,
        event_key="e1",
    )
    assert feed[-1]["kind"] == "raffle.tickets" and "gifted 2 sub(s)" in feed[-1]["data"]["text"]


def test_draw_publishes_the_winners(
    world: World, feed: list[dict[str, Any]], monkeypatch: pytest.MonkeyPatch
) -> None:
    raffle_services.period_freeze(community_id=world.community.pk, actor_label="t")
    use_round(RafflePeriod.objects.get(pk=world.period.pk))
    monkeypatch.setattr(raffle_services, "drand_client_factory", FakeRelay().client)
    raffle_services.period_draw(period_id=world.period.pk, actor_label="t")
    assert feed[-1]["kind"] == "raffle.draw" and "SlotFan" in feed[-1]["data"]["text"]


def test_unlink_publishes(world: World, feed: list[dict[str, Any]]) -> None:
    account_services.link_remove(community_id=world.community.pk, discord_user_id=DISCORD)
    assert feed[-1] == {
        "community_id": world.community.pk,
        "kind": "link",
        "data": {"text": "SlotFan unlinked their Discord"},
    }
