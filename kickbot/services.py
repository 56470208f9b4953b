"""Writes on core tables: communities and the audit log."""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta
from typing import Any

from django.conf import settings
from django.contrib.auth.models import AnonymousUser, User
from django.db import models, transaction
from django.utils import timezone

from kickbot.live import live_publish
from kickbot.models import AuditLog, Community

log = logging.getLogger(__name__)

COMMUNITY_EDITABLE_FIELDS = (
    "name",
    "kick_channel_slug",
    "kick_broadcaster_user_id",
    "kick_channel_id",
    "kick_chatroom_id",
    "discord_guild_id",
    "timezone",
    "command_prefix",
)


def audit_record(
    *,
    action: str,
    community: Community | None = None,
    actor: User | AnonymousUser | None = None,
    actor_label: str = "",
    target: models.Model | None = None,
    data: dict[str, Any] | None = None,
) -> AuditLog:
    """Append one audit row. Call it inside the transaction of the change it describes."""
    user = actor if actor is not None and actor.is_authenticated else None
    return AuditLog.objects.create(
        community=community,
        actor=user,
        actor_label=actor_label or (f"user:{user.get_username()}" if user else "system"),
        action=action[:64],
        target_type=target._meta.label if target is not None else "",
        target_id=str(target.pk) if target is not None else "",
        data=data or {},
    )


def audit_record_counted(
    *,
    action: str,
    key: str,
    window: timedelta,
    community: Community | None = None,
    actor_label: str = "",
    data: dict[str, Any] | None = None,
) -> AuditLog:
    """One audit row per ``action``, ``key`` and time window; a repeat adds one to its ``data["count"]``.

    For events that anybody can repeat at will (refused anonymous requests): the rows stay bounded
    by keys x windows however many requests come. Locks the row (``select_for_update``); call it in
    a transaction.
    """
    seconds = int(window.total_seconds())
    start = datetime.fromtimestamp(int(timezone.now().timestamp()) // seconds * seconds, tz=UTC)
    target_id = f"{key}@{int(start.timestamp())}"[:64]
    row = (
        AuditLog.objects.select_for_update()
        .filter(action=action[:64], target_type="window", target_id=target_id)
        .first()
    )
    if row is not None:
        row.data = {
            **row.data,
            "count": int(row.data.get("count", 1)) + 1,
            "last_at": timezone.now().isoformat(),
        }
        row.save(update_fields=["data"])
        return row
    return AuditLog.objects.create(
        community=community,
        actor_label=actor_label or "system",
        action=action[:64],
        target_type="window",
        target_id=target_id,
        data={**(data or {}), "count": 1, "window_start": start.isoformat()},
    )


@transaction.atomic
def community_save(
    *,
    community: Community | None,
    actor: User | AnonymousUser | None,
    **fields: Any,
) -> Community:
    """Create (``community=None``) or update a community, validated, with one audit row."""
    unknown = set(fields) - set(COMMUNITY_EDITABLE_FIELDS)
    if unknown:
        raise TypeError(f"not editable: {sorted(unknown)}")
    creating = community is None
    obj = community or Community()
    before = {f: getattr(obj, f) for f in fields} if not creating else {}
    for name, value in fields.items():
        setattr(obj, name, value)
    obj.full_clean()
    obj.save()
    changed = {f: [before.get(f), v] for f, v in fields.items() if creating or before.get(f) != v}
    if changed:
        audit_record(
            action="community.create" if creating else "community.update",
            community=obj,
            actor=actor,
            target=obj,
            data={
                k: [str(a) if a is not None else None, str(b) if b is not None else None]
                for k, (a, b) in changed.items()
            },
        )
    return obj


def community_bootstrap_from_settings() -> Community | None:
    """On a fresh install, create the first community from KICK_CHANNEL / DISCORD_GUILD_ID.

    Idempotent: does nothing when any community exists or KICK_CHANNEL is unset.
    """
    if Community.objects.exists() or not settings.KICK_CHANNEL:
        return None
    community = community_save(
        community=None,
        actor=None,
        name=settings.KICK_CHANNEL,
        kick_channel_slug=settings.KICK_CHANNEL,
        discord_guild_id=settings.DISCORD_GUILD_ID,
        kick_chatroom_id=settings.KICK_CHATROOM_ID,
        kick_channel_id=settings.KICK_CHANNEL_ID,
        kick_broadcaster_user_id=settings.KICK_BROADCASTER_USER_ID,
        timezone=settings.DEFAULT_TIME_ZONE,
    )
    log.info("created community %s from the environment", community.kick_channel_slug)
    return community


def community_live_set(*, community_id: int, is_live: bool, at: datetime) -> bool:
    """Record a live/offline change; True when it changed. Late or repeated events change nothing.

    A status older than the last change is ignored, so a late "stopped" frame cannot end a
    stream that started again afterwards.
    """
    updated = (
        Community.objects.filter(pk=community_id)
        .exclude(is_live=is_live)
        .filter(models.Q(live_changed_at__isnull=True) | models.Q(live_changed_at__lt=at))
        .update(is_live=is_live, live_changed_at=at)
    )
    if updated:
        log.info("community %s is now %s", community_id, "live" if is_live else "offline")
        live_publish(
            community_id=community_id,
            kind="stream.live" if is_live else "stream.offline",
            data={"text": "Stream went live" if is_live else "Stream went offline"},
        )
    return bool(updated)
