"""Watchtime roles: Discord roles given at all-time minute thresholds, their safety rules, and the
sync that enqueues only the difference between the roles due and the roles applied.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime

from django.db import transaction
from django.db.models import OuterRef, Subquery
from django.utils import timezone

from accounts.models import Link, LinkLogConfig
from kickbot.errors import InvalidInput
from kickbot.models import Community
from kickbot.services import audit_record
from outbox.models import OutboxMessage
from outbox.services import outbox_enqueue
from watchtime.credit import watch_settings_get
from watchtime.errors import RoleRejected
from watchtime.models import AppliedRole, WatchAllTime, WatchRole, WatchSettings

log = logging.getLogger(__name__)

MAX_ROLE_MINUTES = 10 * 365 * 24 * 60  # ten years: anything above is a typo
MAX_WATCH_ROLES = 50

# Discord permission bits a role handed out for watching may never carry: whoever watches long
# enough (or whoever can add a watchtime role) would become a moderator or an admin (issue 16).
DANGEROUS_PERMISSIONS: dict[str, int] = {
    "Administrator": 1 << 3,
    "Manage Server": 1 << 5,
    "Manage Roles": 1 << 28,
    "Manage Channels": 1 << 4,
    "Manage Webhooks": 1 << 29,
    "Ban Members": 1 << 2,
    "Kick Members": 1 << 1,
    "Timeout Members": 1 << 40,
    "Mention @everyone, @here and All Roles": 1 << 17,
}
DANGEROUS_MASK = sum(DANGEROUS_PERMISSIONS.values())


@dataclass(frozen=True)
class RoleFacts:
    """What the Discord side knows about a role, checked here so the rules live in one place."""

    id: int
    name: str
    position: int
    managed: bool
    is_default: bool  # @everyone
    bot_top_position: int  # the bot's highest role position in the guild
    permissions: int  # the role's Discord permission bits


@dataclass(frozen=True)
class RoleChange:
    discord_user_id: int
    role_id: int
    op: str  # add | remove
    reason: str


# --- watchtime roles ---------------------------------------------------------------------

_MINUTES_RE = re.compile(r"^(?:(\d{1,7})h)?(?:(\d{1,9})m?)?$")


def parse_minutes(text: str) -> int:
    """``"90"``, ``"90m"``, ``"5h"``, ``"1h30m"`` → minutes; anything else is a friendly error."""
    cleaned = text.strip().lower().replace(" ", "")
    match = _MINUTES_RE.match(cleaned) if cleaned.isascii() else None
    if not cleaned or match is None or not any(match.groups()):
        raise InvalidInput("Give the minutes as a whole number, like `600` or `10h`.")
    minutes = int(match.group(1) or 0) * 60 + int(match.group(2) or 0)
    if minutes > MAX_ROLE_MINUTES:
        raise InvalidInput("That is more than ten years of watchtime. Pick a smaller number of minutes.")
    return minutes


def dangerous_permissions(bits: int) -> list[str]:
    """The names of the dangerous permissions in a Discord permission value (empty: safe)."""
    return [name for name, bit in DANGEROUS_PERMISSIONS.items() if bits & bit]


def _check_role(role: RoleFacts) -> None:
    if role.is_default:
        raise RoleRejected("@everyone can't be a watchtime role. Pick a normal role.")
    if role.managed:
        raise RoleRejected("That role is managed by an integration (a bot or boosts), so I can't give it.")
    if names := dangerous_permissions(role.permissions):
        raise RoleRejected(
            f"That role has {', '.join(names)}. A role given for watchtime can't carry moderator or "
            "admin permissions: remove them in Server Settings → Roles first."
        )
    if role.position >= role.bot_top_position:
        raise RoleRejected(
            "That role is at or above my highest role, so Discord won't let me give it. "
            "Move my role above it in Server Settings → Roles."
        )


def _role(community_id: int, role_id: int) -> WatchRole:
    row = WatchRole.objects.filter(community_id=community_id, discord_role_id=role_id).first()
    if row is None:
        raise InvalidInput("That role is not a watchtime role. See `roles list`.")
    return row


def _audit_role(action: str, row: WatchRole, actor_label: str, **data: object) -> None:
    audit_record(
        action=f"watchtime.role_{action}",
        community=row.community,
        actor_label=actor_label,
        target=row,
        data={"role_id": str(row.discord_role_id), "name": row.name, **data},
    )


@transaction.atomic
def watch_role_add(*, community_id: int, role: RoleFacts, minutes: str | int, actor_label: str) -> WatchRole:
    """Make ``role`` a watchtime role granted at ``minutes`` all-time minutes."""
    _check_role(role)
    value = parse_minutes(str(minutes))
    if WatchRole.objects.filter(community_id=community_id, discord_role_id=role.id).exists():
        raise InvalidInput("That role is already a watchtime role. Use `roles update` to change its minutes.")
    if WatchRole.objects.filter(community_id=community_id).count() >= MAX_WATCH_ROLES:
        raise InvalidInput(f"A server can have at most {MAX_WATCH_ROLES} watchtime roles.")
    last = WatchRole.objects.filter(community_id=community_id).order_by("-display_order").first()
    row = WatchRole.objects.create(
        community_id=community_id,
        discord_role_id=role.id,
        name=role.name[:100],
        minutes_required=value,
        display_order=(last.display_order + 1) if last else 0,
    )
    _audit_role("add", row, actor_label, minutes=value)
    return row


@transaction.atomic
def watch_role_update(
    *, community_id: int, role: RoleFacts, minutes: str | int, actor_label: str
) -> WatchRole:
    value = parse_minutes(str(minutes))
    row = _role(community_id, role.id)
    _check_role(role)
    before = row.minutes_required
    row.minutes_required, row.name = value, role.name[:100]
    row.save(update_fields=["minutes_required", "name", "updated_at"])
    _audit_role("update", row, actor_label, minutes=[before, value])
    return row


@transaction.atomic
def watch_role_set_enabled(*, community_id: int, role_id: int, enabled: bool, actor_label: str) -> WatchRole:
    """Enable or disable a role; a disabled role is taken off members by the next sync."""
    row = _role(community_id, role_id)
    if row.enabled == enabled:
        raise InvalidInput(f"That role is already {'enabled' if enabled else 'disabled'}.")
    row.enabled = enabled
    row.save(update_fields=["enabled", "updated_at"])
    _audit_role("enable" if enabled else "disable", row, actor_label)
    return row


@transaction.atomic
def watch_role_remove(*, community_id: int, role_id: int, actor_label: str) -> WatchRole:
    """Stop using a role; members who got it from us lose it on the next sync (AppliedRole stays)."""
    row = _role(community_id, role_id)
    _audit_role("remove", row, actor_label, minutes=row.minutes_required)
    row.delete()
    return row


@dataclass(frozen=True)
class RoleBlockChange:
    role_id: int
    blocked: list[str]  # the dangerous permissions it has now; empty: safe again


def _role_notice(row: WatchRole, names: list[str], notify_user_id: int | None) -> None:
    """Tell the admins, once per change: the link-log channel when it is on, else a DM to the owner."""
    if names:
        text = (
            f"⚠️ Watchtime role <@&{row.discord_role_id}> now has {', '.join(names)}. I stopped giving "
            "and taking it: remove those permissions (Server Settings → Roles) and I use it again."
        )
    else:
        text = (
            f"✅ Watchtime role <@&{row.discord_role_id}> no longer has moderator or admin "
            "permissions; I use it again."
        )
    log_cfg = LinkLogConfig.objects.filter(community_id=row.community_id, enabled=True).first()
    payload: dict[str, object]
    if log_cfg is not None and log_cfg.channel_id is not None:
        target, payload = log_cfg.channel_id, {"content": text}
    elif notify_user_id is not None:
        target, payload = notify_user_id, {"content": text, "dm": True}
    else:
        return
    outbox_enqueue(
        community=row.community,
        kind=OutboxMessage.Kind.DISCORD_MESSAGE,
        target=target,
        payload=payload,
        # No dedupe key: it is written only when the stored bits change, under the row's lock.
    )


@transaction.atomic
def watch_roles_observe(
    *, community_id: int, roles: Iterable[RoleFacts], notify_user_id: int | None = None
) -> list[RoleBlockChange]:
    """Record the dangerous permissions each watchtime role has now, as the bot sees it on Discord.

    A role that gains one is skipped by role sync (neither given nor taken) until it loses them; each
    change, not each call, is audited and told to the admins once (``_role_notice``). Roles that are
    not watchtime roles are ignored. Locks the community's watchtime role rows.
    """
    facts = {r.id: r for r in roles}
    changes: list[RoleBlockChange] = []
    rows = WatchRole.objects.select_for_update().filter(community_id=community_id, discord_role_id__in=facts)
    for row in rows.select_related("community").order_by("id"):
        bits = facts[row.discord_role_id].permissions & DANGEROUS_MASK
        if bits == row.blocked_permissions:
            continue
        row.blocked_permissions = bits
        row.save(update_fields=["blocked_permissions", "updated_at"])
        names = dangerous_permissions(bits)
        _audit_role("blocked" if bits else "unblocked", row, "discord:permissions", permissions=names)
        _role_notice(row, names, notify_user_id)
        changes.append(RoleBlockChange(row.discord_role_id, names))
        log.warning(
            "watchtime role %s of community %s: dangerous permissions %s", row.pk, community_id, names
        )
    return changes


@transaction.atomic
def watch_role_grant_refused(
    *, community_id: int, role: RoleFacts, discord_user_id: int, notify_user_id: int | None = None
) -> None:
    """The bot refused to give ``role`` (it has a dangerous permission): block it, forget the grant."""
    watch_roles_observe(community_id=community_id, roles=[role], notify_user_id=notify_user_id)
    AppliedRole.objects.filter(
        community_id=community_id, discord_user_id=discord_user_id, discord_role_id=role.id
    ).delete()


# --- role sync ---------------------------------------------------------------------------


def _blocked(community_id: int) -> set[int]:
    return set(
        WatchRole.objects.filter(community_id=community_id)
        .exclude(blocked_permissions=0)
        .values_list("discord_role_id", flat=True)
    )


def _targets(community_id: int, mode: str) -> dict[int, set[int]]:
    """Discord user id → the watchtime role ids they should hold (linked users only)."""
    roles = list(
        WatchRole.objects.filter(community_id=community_id, enabled=True, blocked_permissions=0)
        .order_by("minutes_required", "display_order", "id")
        .values_list("discord_role_id", "minutes_required")
    )
    if not roles:
        return {}
    lowest = roles[0][1]
    rows = (
        WatchAllTime.objects.filter(community_id=community_id, minutes__gte=lowest)
        .annotate(
            discord_user_id=Subquery(
                Link.objects.filter(kick_user_id=OuterRef("kick_user_id")).values("discord_user_id")[:1]
            )
        )
        .filter(discord_user_id__isnull=False)
        .values_list("discord_user_id", "minutes")
    )
    targets: dict[int, set[int]] = {}
    for discord_user_id, minutes in rows:
        reached = [role_id for role_id, needed in roles if minutes >= needed]
        if reached:
            targets[discord_user_id] = (
                {reached[-1]} if mode == WatchSettings.RoleMode.HIGHEST else set(reached)
            )
    return targets


def _applied(community_id: int) -> dict[tuple[int, int], datetime]:
    return {
        (uid, rid): at
        for uid, rid, at in AppliedRole.objects.filter(community_id=community_id).values_list(
            "discord_user_id", "discord_role_id", "applied_at"
        )
    }


def roles_plan(*, community_id: int) -> list[RoleChange]:
    """The role changes that would bring every member from what was applied to their target."""
    settings = watch_settings_get(community_id=community_id)
    targets = _targets(community_id, settings.role_mode)
    blocked = _blocked(community_id)  # frozen: not given, and not taken from who has it
    applied = {key: at for key, at in _applied(community_id).items() if key[1] not in blocked}
    wanted = {(uid, rid) for uid, rids in targets.items() for rid in rids}
    changes = [
        RoleChange(uid, rid, "add", "watchtime reached") for uid, rid in sorted(wanted - applied.keys())
    ]
    changes += [
        RoleChange(uid, rid, "remove", "watchtime role no longer due")
        for uid, rid in sorted(applied.keys() - wanted)
    ]
    return changes


def _enqueue(community: Community, change: RoleChange, token: str) -> None:
    outbox_enqueue(
        community=community,
        kind=OutboxMessage.Kind.DISCORD_ROLE_ADD
        if change.op == "add"
        else OutboxMessage.Kind.DISCORD_ROLE_REMOVE,
        target=change.discord_user_id,
        payload={"guild_id": community.discord_guild_id, "role_id": change.role_id, "reason": change.reason},
        dedupe_key=f"wtrole:{community.pk}:{change.discord_user_id}:{change.role_id}:{change.op}:{token}",
    )


def roles_sync(*, community_id: int) -> list[RoleChange]:
    """Enqueue only the difference between target and applied roles, and record it as applied.

    One transaction under the community's ``WatchSettings`` row lock: outbox rows and
    ``AppliedRole`` rows commit together, so a re-run enqueues nothing. Dedupe keys carry the
    state they change (the grant time of a removed role, the sync time of an add).
    """
    community = Community.objects.get(pk=community_id)
    if community.discord_guild_id is None:
        return []
    watch_settings_get(community_id=community_id)
    now = timezone.now()
    token = f"{now.timestamp():.6f}"
    with transaction.atomic():
        WatchSettings.objects.select_for_update().get(community_id=community_id)
        applied = _applied(community_id)
        changes = roles_plan(community_id=community_id)
        adds = [c for c in changes if c.op == "add"]
        removes = [c for c in changes if c.op == "remove"]
        for change in adds:
            _enqueue(community, change, token)
        for change in removes:
            _enqueue(
                community, change, f"{applied[(change.discord_user_id, change.role_id)].timestamp():.6f}"
            )
        AppliedRole.objects.bulk_create(
            [
                AppliedRole(
                    community_id=community_id,
                    discord_user_id=c.discord_user_id,
                    discord_role_id=c.role_id,
                    applied_at=now,
                )
                for c in adds
            ],
            ignore_conflicts=True,
        )
        for change in removes:
            AppliedRole.objects.filter(
                community_id=community_id,
                discord_user_id=change.discord_user_id,
                discord_role_id=change.role_id,
            ).delete()
    if changes:
        log.info("role sync of community %s: %s adds, %s removals", community_id, len(adds), len(removes))
    return changes


def roles_revoke_for(*, community_id: int, discord_user_id: int) -> int:
    """Take every watchtime role we gave ``discord_user_id`` off them now (call after unlinking)."""
    community = Community.objects.get(pk=community_id)
    with transaction.atomic():
        rows = list(
            AppliedRole.objects.select_for_update().filter(
                community_id=community_id, discord_user_id=discord_user_id
            )
        )
        if community.discord_guild_id is not None:
            for row in rows:
                _enqueue(
                    community,
                    RoleChange(discord_user_id, row.discord_role_id, "remove", "Kick account unlinked"),
                    f"{row.applied_at.timestamp():.6f}",
                )
        AppliedRole.objects.filter(pk__in=[r.pk for r in rows]).delete()
    return len(rows)


def roles_revoke_on_unlink(
    sender: object, *, community_id: int, discord_user_id: int, **kwargs: object
) -> None:
    """Receives ``accounts.signals.link_removed`` (``WatchtimeConfig.ready`` connects it).

    Runs in the unlink's transaction: the member loses the watchtime roles we gave them with it.
    """
    roles_revoke_for(community_id=community_id, discord_user_id=discord_user_id)


def roles_reconcile(*, community_id: int, member_roles: Mapping[int, Iterable[int]]) -> int:
    """Reset ``AppliedRole`` to what the guild really shows, so the next sync repairs drift.

    ``member_roles``: every current (non-bot) guild member → the role ids they hold. Watchtime
    roles held are recorded as applied (a role removed by hand is then re-added, one given by
    hand to someone not due is removed). Linked users who are not in the guild are recorded at
    their target, so nothing is sent for them until they come back. Returns the row count.
    """
    settings = watch_settings_get(community_id=community_id)
    now = timezone.now()
    with transaction.atomic():
        WatchSettings.objects.select_for_update().get(pk=settings.pk)
        watch_ids = set(
            WatchRole.objects.filter(community_id=community_id).values_list("discord_role_id", flat=True)
        )
        watch_ids |= set(
            AppliedRole.objects.filter(community_id=community_id).values_list("discord_role_id", flat=True)
        )
        state: set[tuple[int, int]] = set()
        for uid, rids in member_roles.items():
            state |= {(uid, rid) for rid in rids if rid in watch_ids}
        for uid, rids in _targets(community_id, settings.role_mode).items():
            if uid not in member_roles:
                state |= {(uid, rid) for rid in rids}
        AppliedRole.objects.filter(community_id=community_id).delete()
        AppliedRole.objects.bulk_create(
            [
                AppliedRole(community_id=community_id, discord_user_id=u, discord_role_id=r, applied_at=now)
                for u, r in sorted(state)
            ],
            batch_size=5000,
        )
    return len(state)
