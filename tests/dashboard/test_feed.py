"""Services publish live-feed events for the overview (tickets, gifts, draws, links)."""

from __future__ import annotations

from typing import Any

import pytest

from accounts import services as account_services
from raffle.models import RafflePeriod
from raffle.services.drawing import period_draw
from raffle.services.tickets import tickets_admin_adjust, tickets_award_gift
from tests.dashboard.conftest import DISCORD, LINKED, World
from tests.raffle.conftest import FakeRelay, use_round

pytestmark = pytest.mark.django_db


@pytest.fixture
def feed(monkeypatch: pytest.MonkeyPatch) -> list[dict[str, Any]]:
    sent: list[dict[str, Any]] = []

    def record(**kwargs: Any) -> None:
        sent.append(kwargs)

    monkeypatch.setattr("raffle.services.drawing.live_publish", record)
    monkeypatch.setattr("raffle.services.tickets.live_publish", record)
    monkeypatch.setattr(account_services, "live_publish", record)
    return sent


def test_admin_tickets_publish_who_gave_how_many_to_whom(world: World, feed: list[dict[str, Any]]) -> None:
    tickets_admin_adjust(
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
    tickets_award_gift(
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
    use_round(RafflePeriod.objects.get(pk=world.period.pk))
    monkeypatch.setattr("raffle.services.drawing.drand_client_factory", FakeRelay().client)
    period_draw(period_id=world.period.pk, actor_label="t")
    assert feed[-1]["kind"] == "raffle.draw" and "SlotFan" in feed[-1]["data"]["text"]


def test_unlink_publishes(world: World, feed: list[dict[str, Any]]) -> None:
    account_services.link_remove(community_id=world.community.pk, discord_user_id=DISCORD)
    assert feed[-1] == {
        "community_id": world.community.pk,
        "kind": "link",
        "data": {"text": "SlotFan unlinked their Discord"},
    }


def test_unlink_from_the_dashboard_names_the_staff_member(
    world: World, feed: list[dict[str, Any]], admin_user: Any
) -> None:
    """One audit row naming who did it (not the member), and the feed and link log say staff did."""
    from dashboard.services import dashboard_unlink
    from kickbot.models import AuditLog
    from outbox.models import OutboxMessage

    account_services.link_log_set(
        community_id=world.community.pk, enabled=True, channel_id=777, actor_discord_id=1
    )
    before = AuditLog.objects.filter(action="link.removed").count()

    assert dashboard_unlink(community=world.community, kick_user_id=LINKED, user=admin_user) == "SlotFan"

    rows = AuditLog.objects.filter(action="link.removed").order_by("-id")
    assert rows.count() == before + 1
    row = rows.first()
    assert row.actor == admin_user and row.actor_label == f"user:{admin_user.get_username()}"
    assert row.data["by"] == "dashboard" and row.data["discord_user_id"] == str(DISCORD)
    assert feed[-1]["data"]["text"] == "SlotFan was unlinked from Discord by staff"
    log_line = OutboxMessage.objects.filter(target=777).order_by("-id").first()
    assert log_line is not None and "by staff" in log_line.payload["content"]


def test_unlink_by_the_member_is_audited_as_the_member(world: World, feed: list[dict[str, Any]]) -> None:
    from kickbot.models import AuditLog

    account_services.link_remove(community_id=world.community.pk, discord_user_id=DISCORD)
    row = AuditLog.objects.filter(action="link.removed").order_by("-id").first()
    assert row is not None and row.actor is None and row.actor_label == f"discord:{DISCORD}"
    assert row.data["by"] == "member"
