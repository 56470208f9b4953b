"""Fixtures for end-to-end Kick tests: a fake Kick API and a connected streamer community."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from kickbot import kick
from kickbot.integrations.kick import TokenSet
from kickbot.models import Community
from tests.factories import CommunityFactory
from tests.fakes.kick_api import FakeKick
from tests.fakes.kick_chat import BROADCASTER, CHANNEL, CHATROOM


@pytest.fixture
def fake(monkeypatch: pytest.MonkeyPatch) -> FakeKick:
    f = FakeKick()
    monkeypatch.setattr(kick, "async_http_client_factory", f.async_client)
    monkeypatch.setattr(kick, "http_client_factory", f.client)
    return f


@pytest.fixture
def streamer(fake: FakeKick) -> Community:
    community = CommunityFactory(
        kick_chatroom_id=CHATROOM, kick_channel_id=CHANNEL, kick_broadcaster_user_id=BROADCASTER
    )
    tokens = fake.issue_tokens()
    kick.kick_token_save(
        community=community,
        tokens=TokenSet(
            tokens["access_token"],
            tokens["refresh_token"],
            timezone.now() + timedelta(hours=1),
            tokens["scope"],
            "Bearer",
        ),
        kick_user_id=fake.user_id,
        kick_username=fake.username,
        actor=None,
    )
    community.refresh_from_db()
    return community
