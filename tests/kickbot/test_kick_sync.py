from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
import time_machine
from django.utils import timezone

from kickbot import kick
from kickbot.integrations.kick import TokenSet
from kickbot.integrations.kick.parsers import webhook_event_types
from kickbot.kick_sync import live_status_poll, subscriptions_reconcile, subscriptions_state
from kickbot.models import Community
from tests.factories import CommunityFactory
from tests.fakes.kick_api import FakeKick

pytestmark = pytest.mark.django_db


@pytest.fixture
def fake(monkeypatch: pytest.MonkeyPatch) -> FakeKick:
    f = FakeKick()
    monkeypatch.setattr(kick, "http_client_factory", f.client)
    return f


@pytest.fixture
def connected(fake: FakeKick) -> Community:
    community = CommunityFactory(kick_broadcaster_user_id=4242)
    t = fake.issue_tokens()
    kick.kick_token_save(
        community=community,
        tokens=TokenSet(
            t["access_token"], t["refresh_token"], timezone.now() + timedelta(hours=1), t["scope"], "Bearer"
        ),
        kick_user_id=fake.user_id,
        kick_username=fake.username,
        actor=None,
    )
    community.refresh_from_db()
    return community


def test_reconcile_creates_every_missing_subscription(connected: Community, fake: FakeKick) -> None:
    report = subscriptions_reconcile(community=connected)
    assert sorted(report.created) == sorted(webhook_event_types())
    assert sorted(s["event"] for s in fake.subscriptions) == sorted(webhook_event_types())
    assert subscriptions_state(community_id=connected.pk)["error"] == ""  # type: ignore[index]


def test_reconcile_twice_changes_nothing(connected: Community, fake: FakeKick) -> None:
    subscriptions_reconcile(community=connected)
    posts_before = sum(1 for r in fake.requests if r.method == "POST")
    report = subscriptions_reconcile(community=connected)
    assert report.created == [] and report.deleted == 0
    assert sum(1 for r in fake.requests if r.method == "POST") == posts_before


def test_reconcile_deletes_duplicates(connected: Community, fake: FakeKick) -> None:
    subscriptions_reconcile(community=connected)
    fake.subscriptions.append(dict(fake.subscriptions[0], id="dup-1"))
    report = subscriptions_reconcile(community=connected)
    assert report.deleted == 1
    assert "dup-1" not in [s["id"] for s in fake.subscriptions]


def test_reconcile_failure_is_recorded_not_raised(connected: Community, fake: FakeKick) -> None:
    fake.revoke_all_access()
    fake.refresh.clear()
    report = subscriptions_reconcile(community=connected)
    assert report.error.startswith("KickAuthError")
    assert subscriptions_state(community_id=connected.pk)["error"].startswith("KickAuthError")  # type: ignore[index]


def test_poll_marks_live_and_offline_after_grace(connected: Community, fake: FakeKick) -> None:
    fake.live[4242] = True
    with time_machine.travel("2026-11-27 12:00:00Z", tick=False):
        assert live_status_poll() == 1
    connected.refresh_from_db()
    assert connected.is_live
    fake.live[4242] = False
    with time_machine.travel("2026-11-27 12:01:00Z", tick=False):
        assert live_status_poll() == 0  # inside the grace: Kick's API may lag its own events
    with time_machine.travel("2026-11-27 12:04:00Z", tick=False):
        assert live_status_poll() == 1
    connected.refresh_from_db()
    assert not connected.is_live


def test_late_offline_event_cannot_end_a_newer_stream(connected: Community) -> None:
    from datetime import UTC, datetime

    from kickbot.services import community_live_set

    assert community_live_set(
        community_id=connected.pk, is_live=True, at=datetime(2026, 11, 27, 12, 0, tzinfo=UTC)
    )
    assert not community_live_set(
        community_id=connected.pk, is_live=False, at=datetime(2026, 11, 27, 11, 59, tzinfo=UTC)
    )
    connected.refresh_from_db()
    assert connected.is_live


def test_unconnected_communities_are_skipped(fake: FakeKick, settings: Any) -> None:
    CommunityFactory(kick_broadcaster_user_id=1)
    assert live_status_poll() == 0
    assert fake.requests == []


def test_poll_reads_v2_pages_past_other_channels_to_find_the_streamer(
    connected: Community, fake: FakeKick
) -> None:
    fake.others_live = 2500  # three pages of 1,000 before ours is listed
    fake.live[4242] = True
    assert live_status_poll() == 1
    connected.refresh_from_db()
    assert connected.is_live
    paths = [r.url.path for r in fake.requests if "livestreams" in r.url.path]
    assert paths == ["/public/v2/livestreams"] * 3
    assert [r.url.params.get("cursor") for r in fake.requests if "livestreams" in r.url.path] == [
        None,
        "1000",
        "2000",
    ]


def test_a_fresh_webhook_state_is_not_overturned_by_the_lagging_list(
    connected: Community, fake: FakeKick
) -> None:
    from kickbot.services import community_live_set

    fake.live[4242] = True  # the list still shows the stream that just ended
    with time_machine.travel("2026-11-27 12:00:00Z", tick=False):
        community_live_set(community_id=connected.pk, is_live=True, at=timezone.now() - timedelta(hours=1))
        community_live_set(community_id=connected.pk, is_live=False, at=timezone.now())  # the webhook
        assert live_status_poll() == 0
    connected.refresh_from_db()
    assert not connected.is_live
    with time_machine.travel("2026-11-27 12:04:00Z", tick=False):  # past the grace the list is believed
        assert live_status_poll() == 1
