"""Reads for the bot and the pages. Async callers get plain dataclasses, never querysets."""

from __future__ import annotations

from dataclasses import dataclass

from accounts.models import DiscordConfig, Link, LinkLogConfig
from kickbot.models import Community


@dataclass(frozen=True)
class CommunityRef:
    id: int
    name: str
    discord_guild_id: int | None


@dataclass(frozen=True)
class GuildContext:
    """What a Discord command needs to know about its guild's community, in one query."""

    community_id: int
    community_name: str
    admin_role_id: int | None


@dataclass(frozen=True)
class LinkInfo:
    discord_user_id: int
    kick_user_id: int
    kick_username: str


@dataclass(frozen=True)
class LinkLogSettings:
    community_id: int
    enabled: bool
    channel_id: int | None


def community_for_guild(*, guild_id: int) -> CommunityRef | None:
    """The community bound to a Discord guild, or None (a guild never sees another's data)."""
    row = (
        Community.objects.filter(discord_guild_id=guild_id).values("id", "name", "kick_channel_slug").first()
    )
    if row is None:
        return None
    return CommunityRef(id=row["id"], name=row["name"] or row["kick_channel_slug"], discord_guild_id=guild_id)


def guild_context(*, guild_id: int) -> GuildContext | None:
    """The community bound to a Discord guild with its admin role, or None."""
    community = Community.objects.filter(discord_guild_id=guild_id).select_related("discord_config").first()
    if community is None:
        return None
    try:
        admin_role_id = community.discord_config.admin_role_id
    except DiscordConfig.DoesNotExist:
        admin_role_id = None
    return GuildContext(community_id=community.pk, community_name=str(community), admin_role_id=admin_role_id)


def link_for_discord_user(*, discord_user_id: int) -> LinkInfo | None:
    link = Link.objects.filter(discord_user_id=discord_user_id).select_related("kick_user").first()
    if link is None:
        return None
    return LinkInfo(
        discord_user_id=link.discord_user_id,
        kick_user_id=link.kick_user_id,
        kick_username=link.kick_user.username,
    )


def link_log_settings(*, community_id: int) -> LinkLogSettings:
    row = LinkLogConfig.objects.filter(community_id=community_id).first()
    if row is None:
        return LinkLogSettings(community_id=community_id, enabled=False, channel_id=None)
    return LinkLogSettings(community_id=community_id, enabled=row.enabled, channel_id=row.channel_id)


def discord_admin_role_id(*, community_id: int) -> int | None:
    """The role that may run bot admin commands besides Manage Server, if one is set."""
    return (
        DiscordConfig.objects.filter(community_id=community_id)
        .values_list("admin_role_id", flat=True)
        .first()
    )
