"""Reads on core tables."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.db.models import Q

from kickbot.models import Community


def community_list() -> list[Community]:
    return list(Community.objects.order_by("id"))


@dataclass(frozen=True)
class IntegrationState:
    name: str
    configured: bool
    detail: str


def integrations_state() -> list[IntegrationState]:
    """Which optional integrations this deployment has secrets for (never the secrets)."""
    return [
        IntegrationState(
            "Discord bot",
            bool(settings.DISCORD_TOKEN),
            "DISCORD_TOKEN is set" if settings.DISCORD_TOKEN else "set DISCORD_TOKEN",
        ),
        IntegrationState(
            "Kick app (linking, chat replies, webhooks)",
            bool(settings.KICK_CLIENT_ID and settings.KICK_CLIENT_SECRET),
            "KICK_CLIENT_ID and KICK_CLIENT_SECRET are set"
            if settings.KICK_CLIENT_ID and settings.KICK_CLIENT_SECRET
            else "set KICK_CLIENT_ID and KICK_CLIENT_SECRET",
        ),
        IntegrationState(
            "Shuffle affiliate stats",
            bool(settings.SHUFFLE_AFFILIATE_ID),
            "SHUFFLE_AFFILIATE_ID is set" if settings.SHUFFLE_AFFILIATE_ID else "set SHUFFLE_AFFILIATE_ID",
        ),
        IntegrationState(
            "Token encryption key",
            not settings.FIELD_ENCRYPTION_KEY_DERIVED,
            "FIELD_ENCRYPTION_KEY is set"
            if not settings.FIELD_ENCRYPTION_KEY_DERIVED
            else "derived from the secret key (local run); set FIELD_ENCRYPTION_KEY in production",
        ),
    ]


def kick_communities() -> list[dict[str, Any]]:
    """Communities the bot ingests, as plain values: Pusher needs the chatroom id; webhooks, which the
    web process accepts for any community with a broadcaster id, need only that."""
    return [
        dict(row)
        for row in Community.objects.filter(
            Q(kick_chatroom_id__isnull=False) | Q(kick_broadcaster_user_id__isnull=False)
        )
        .order_by("id")
        .values(
            "id",
            "kick_channel_slug",
            "command_prefix",
            "kick_chatroom_id",
            "kick_channel_id",
            "kick_broadcaster_user_id",
            "kick_bot_user_id",
        )
    ]
