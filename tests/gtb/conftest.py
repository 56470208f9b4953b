from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
import time_machine

NOW = datetime(2026, 11, 27, 20, 0, tzinfo=UTC)


@pytest.fixture
def clock() -> Iterator[Any]:
    """A frozen clock; ``clock.shift(seconds)`` moves it."""
    with time_machine.travel(NOW, tick=False) as traveller:
        yield traveller


@pytest.fixture
def guild(community: Any) -> Any:
    from tests.fakes.discord import MockGuild

    return MockGuild(id=community.discord_guild_id, name="Streamer's server")


def admin_member(guild: Any) -> Any:
    import discord

    from tests.fakes.discord import MockMember

    return MockMember(guild=guild, guild_permissions=discord.Permissions(manage_guild=True))
