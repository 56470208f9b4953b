from __future__ import annotations

from typing import Any

import pytest
from django.core.exceptions import ValidationError

from kickbot.models import AuditLog, Community
from kickbot.services import audit_record, community_bootstrap_from_settings, community_save


@pytest.mark.django_db
def test_community_save_creates_and_audits(owner: Any) -> None:
    community = community_save(
        community=None, actor=owner, kick_channel_slug="roshtein", timezone="Europe/Berlin"
    )
    entry = AuditLog.objects.get()
    assert entry.action == "community.create"
    assert entry.actor == owner
    assert entry.community == community
    assert entry.data["kick_channel_slug"] == [None, "roshtein"]


@pytest.mark.django_db
def test_community_update_audits_only_changes(owner: Any, community: Community) -> None:
    community_save(community=community, actor=owner, timezone="UTC", command_prefix="?")
    entry = AuditLog.objects.get()
    assert entry.action == "community.update"
    assert set(entry.data) == {"command_prefix"}
    community.refresh_from_db()
    assert community.command_prefix == "?"


@pytest.mark.django_db
@pytest.mark.parametrize(
    "fields",
    [
        {"timezone": "Mars/Olympus"},
        {"command_prefix": ""},
        {"command_prefix": "@everyone"},
        {"kick_channel_slug": "not a slug!"},
        {"kick_channel_slug": "x" * 65},
    ],
)
def test_community_save_rejects_bad_values_and_changes_nothing(
    owner: Any, community: Community, fields: dict[str, str]
) -> None:
    before = Community.objects.values().get(pk=community.pk)
    with pytest.raises(ValidationError):
        community_save(community=Community.objects.get(pk=community.pk), actor=owner, **fields)
    assert Community.objects.values().get(pk=community.pk) == before
    assert not AuditLog.objects.exists()


@pytest.mark.django_db
def test_bootstrap_creates_first_community_once(settings: Any) -> None:
    settings.KICK_CHANNEL = "trainwreckstv"
    settings.DISCORD_GUILD_ID = 123456789012345678
    settings.KICK_CHATROOM_ID = 42
    first = community_bootstrap_from_settings()
    assert first is not None
    assert (first.kick_channel_slug, first.discord_guild_id, first.kick_chatroom_id) == (
        "trainwreckstv",
        123456789012345678,
        42,
    )
    assert community_bootstrap_from_settings() is None
    assert Community.objects.count() == 1


@pytest.mark.django_db
def test_bootstrap_without_channel_does_nothing(settings: Any) -> None:
    settings.KICK_CHANNEL = ""
    assert community_bootstrap_from_settings() is None
    assert not Community.objects.exists()


@pytest.mark.django_db
def test_audit_record_labels_system_actor(community: Community) -> None:
    entry = audit_record(action="tickets.award", community=community, data={"n": 3})
    assert entry.actor is None
    assert entry.actor_label == "system"
