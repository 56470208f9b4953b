from __future__ import annotations

from typing import Any

import pytest


@pytest.fixture
def guild(community: Any) -> Any:
    from tests.fakes.discord import MockGuild

    return MockGuild(id=community.discord_guild_id, name="Streamer's server")


def admin_member(guild: Any) -> Any:
    import discord

    from tests.fakes.discord import MockMember

    return MockMember(guild=guild, guild_permissions=discord.Permissions(manage_guild=True))
