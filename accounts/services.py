"""Account writes the bot's commands make: unlink, link-log settings, the admin role, Kick users seen.

The link flow itself (signed URL → Kick OAuth → the link) is ``accounts.link_flow``.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from django.db import transaction

from accounts.models import DiscordConfig, KickUser, Link, LinkLogConfig
from accounts.selectors import LinkLogSettings
from accounts.signals import link_removed
from kickbot.errors import InvalidInput
from kickbot.live import live_publish
from kickbot.models import Community
from kickbot.services import audit_record
from kickbot.text import discord_safe
from outbox.models import OutboxMessage
from outbox.services import outbox_enqueue

if TYPE_CHECKING:
    from django.contrib.auth.models import AnonymousUser, User

log = logging.getLogger(__name__)


@transaction.atomic
def link_remove(
    *, community_id: int, discord_user_id: int, actor: User | AnonymousUser | None = None
) -> str | None:
    """Unlink a Discord user; returns the Kick username that was unlinked, or None when none was.

    ``actor``: the dashboard account that did it, when it was not the member themselves (``!unlink``);
    the audit row, the live feed and the link log then say so.
    """
    link = Link.objects.select_related("kick_user").filter(discord_user_id=discord_user_id).first()
    if link is None:
        return None
    community = Community.objects.get(pk=community_id)
    username = link.kick_user.username
    kick_user_id = link.kick_user_id
    link.delete()
    link_removed.send(sender=Link, community_id=community_id, discord_user_id=discord_user_id)
    by_staff = actor is not None
    audit_record(
        action="link.removed",
        community=community,
        actor=actor,
        actor_label="" if by_staff else f"discord:{discord_user_id}",
        data={
            "kick_user_id": kick_user_id,
            "kick_username": username,
            "discord_user_id": str(discord_user_id),
            "by": "dashboard" if by_staff else "member",
        },
    )
    feed_text = (
        f"{username} was unlinked from Discord by staff" if by_staff else f"{username} unlinked their Discord"
    )
    live_publish(community_id=community_id, kind="link", data={"text": feed_text})
    cfg = LinkLogConfig.objects.filter(community=community, enabled=True).first()
    name = discord_safe(username)
    if cfg is not None and cfg.channel_id is not None:
        outbox_enqueue(
            community=community,
            kind=OutboxMessage.Kind.DISCORD_MESSAGE,
            target=cfg.channel_id,
            payload={
                "content": f"✂️ <@{discord_user_id}> was unlinked from Kick account **{name}** "
                "by staff on the dashboard."
                if by_staff
                else f"✂️ <@{discord_user_id}> unlinked Kick account **{name}**."
            },
        )
    return username


@transaction.atomic
def link_log_set(
    *, community_id: int, enabled: bool, channel_id: int | None, actor_discord_id: int
) -> LinkLogSettings:
    """Turn link logs on (in ``channel_id``, or the one set before) or off; audited."""
    cfg, _ = LinkLogConfig.objects.select_for_update().get_or_create(community_id=community_id)
    before = (cfg.enabled, cfg.channel_id)
    if enabled:
        target = channel_id or cfg.channel_id
        if target is None:
            raise InvalidInput("Name a channel: `linklogs on #channel`.")
        cfg.channel_id = target
    cfg.enabled = enabled
    cfg.save()
    if before != (cfg.enabled, cfg.channel_id):
        audit_record(
            action="linklogs.update",
            community=cfg.community,
            actor_label=f"discord:{actor_discord_id}",
            target=cfg,
            data={"enabled": cfg.enabled, "channel_id": str(cfg.channel_id) if cfg.channel_id else None},
        )
    return LinkLogSettings(community_id=community_id, enabled=cfg.enabled, channel_id=cfg.channel_id)


def link_panel_posted(*, community_id: int, channel_id: int, actor_discord_id: int) -> None:
    """Audit that an admin posted the link panel."""
    audit_record(
        action="link.panel_posted",
        community=Community.objects.get(pk=community_id),
        actor_label=f"discord:{actor_discord_id}",
        data={"channel_id": str(channel_id)},
    )


@transaction.atomic
def discord_admin_role_set(*, community_id: int, role_id: int | None, actor_discord_id: int) -> None:
    """Set (or clear) the role that may run the bot's admin commands besides Manage Server."""
    cfg, _ = DiscordConfig.objects.select_for_update().get_or_create(community_id=community_id)
    cfg.admin_role_id = role_id
    cfg.save()
    audit_record(
        action="discord.admin_role",
        community=cfg.community,
        actor_label=f"discord:{actor_discord_id}",
        target=cfg,
        data={"role_id": str(role_id) if role_id else None},
    )


def kick_users_seen(*, users: list[tuple[int, str, str]]) -> int:
    """Upsert Kick users seen in chat ``(user_id, username, slug)``; returns how many rows were written.

    Usernames change, ids do not: an existing row gets the new name. One statement per batch.
    """
    if not users:
        return 0
    latest = {uid: (name[:64], slug[:64]) for uid, name, slug in users}
    rows = [KickUser(user_id=uid, username=name, slug=slug) for uid, (name, slug) in latest.items()]
    KickUser.objects.bulk_create(
        rows,
        update_conflicts=True,
        unique_fields=["user_id"],
        update_fields=["username", "slug", "updated_at"],
    )
    return len(rows)
