"""Dashboard fixtures: a frozen clock and a community with data on every page."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import pytest
import time_machine

from accounts.models import KickUser, Link
from gtb.models import GtbSession
from kickbot.models import Community
from raffle.models import RafflePeriod, ShuffleAccount
from raffle.services.periods import period_open
from raffle.services.tickets import tickets_admin_adjust
from slots.services import slot_request_create
from timers.services import timed_message_create
from watchtime.models import WatchRole

NOW = datetime(2026, 11, 15, 12, 0, tzinfo=UTC)
NOV = datetime(2026, 11, 1, tzinfo=UTC)
DEC = datetime(2026, 12, 1, tzinfo=UTC)
LINKED = 1001  # a linked Kick viewer
PLAIN = 1002  # a Kick viewer without a link
DISCORD = 555000000000000001


@dataclass
class World:
    community: Community
    period: RafflePeriod
    timer_id: int
    role_id: int
    claim_id: int


@pytest.fixture
def clock() -> Iterator[time_machine.Traveller]:
    with time_machine.travel(NOW, tick=False) as traveller:
        yield traveller


@pytest.fixture
def world(community: Community, clock: Any) -> World:
    period = period_open(community=community, starts_at=NOV, ends_at=DEC, actor_label="test")
    Link.objects.create(
        discord_user_id=DISCORD, kick_user=KickUser.objects.create(user_id=LINKED, username="SlotFan")
    )
    KickUser.objects.create(user_id=PLAIN, username="lurker")
    tickets_admin_adjust(
        community_id=community.pk,
        kick_user_id=LINKED,
        amount=50,
        remove=False,
        reason="seed",
        actor_label="test",
    )
    slot_request_create(
        community_id=community.pk, kick_user_id=PLAIN, username="lurker", text="book of dead", message_id="m1"
    )
    timer = timed_message_create(
        community_id=community.pk, text="Follow!", interval_minutes=15, actor_label="test"
    )
    role = WatchRole.objects.create(
        community=community, discord_role_id=777, name="Regular", minutes_required=600
    )
    claim = ShuffleAccount.objects.create(
        community=community, kick_user_id=LINKED, username="SlotFanShuffle", username_key="slotfanshuffle"
    )
    return World(community, period, timer.id, role.discord_role_id, claim.pk)


def running_gtb(community: Community) -> GtbSession:
    from gtb.services import gtb_session_start

    view = gtb_session_start(community_id=community.pk, title="Round", prize_cents=0, actor_label="test")
    return GtbSession.objects.get(pk=view.id)
