from __future__ import annotations

from typing import Any

import pytest

from tests.fakes.discord import MockGuild

PUBLIC = "https://bot.example.test"


@pytest.fixture(autouse=True)
def kick_app(settings: Any) -> None:
    settings.KICK_CLIENT_ID = "kick-client-id"
    settings.KICK_CLIENT_SECRET = "kick-client-secret-value"
    settings.PUBLIC_BASE_URL = PUBLIC


@pytest.fixture
def guild(community: Any) -> MockGuild:
    return MockGuild(id=community.discord_guild_id, name="Streamer's server")


def all_sends(*mocks: Any) -> list[Any]:
    """Every send-like call made on these mocks (and their children)."""
    names = {"send", "reply", "send_message", "edit"}
    calls = []
    for mock in mocks:
        calls += [c for c in mock.mock_calls if c[0].rsplit(".", 1)[-1] in names]
    return calls
