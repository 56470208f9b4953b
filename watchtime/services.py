"""Watchtime writes: crediting ticks, tracking switch, watchtime roles and role sync."""

from __future__ import annotations

import json
import logging
import math
import re
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime

from django.db import IntegrityError, connection, transaction
from django.db.models import OuterRef, Subquery
from django.utils import timezone

from accounts.models import Link, LinkLogConfig
from botworker.models import OutboxMessage
from botworker.outbox import outbox_enqueue
from kickbot.errors import InvalidInput
from kickbot.models import Community
from kickbot.months import local_month_start, month_before
from kickbot.services import audit_record
from watchtime import mirror
from watchtime.activity import active_viewers, distinct_chatters, snapshot_drop, snapshot_get, snapshot_put
from watchtime.errors import RoleRejected
from watchtime.models import (
    AppliedRole,
    WatchAllTime,
    WatchMonthly,
    WatchRole,
    WatchSettings,
    WatchTick,
    WatchTotal,
)

log = logging.getLogger(__name__)

CHATTER_WINDOW_S = 300  # "at least min_active_chatters distinct chatters in the last 5 minutes"
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
class CreditResult:
    credited: bool
    reason: str  # credited | duplicate | tracking_off | offline | quiet | no_viewers
    viewers: int = 0
    minutes: int = 0
    tick_id: int | None = None
    prev_tick_id: int | None = None  # the community's previous credited tick (mirror chain)
    month: date | None = None
    # New month values as "id:minutes,..." for the rank mirror (all-time grows by ``minutes``).
    month_pairs: str = field(default="", repr=False)


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


def community_month(*, community: Community, when: datetime) -> date:
    """First day of ``when``'s month in the community's time zone."""
    return local_month_start(when, community.timezone or "UTC")


def watch_settings_get(*, community_id: int) -> WatchSettings:
    settings, _ = WatchSettings.objects.get_or_create(community_id=community_id)
    return settings


# --- crediting ---------------------------------------------------------------------------


# Known viewers (95 %+ of a tick) take a plain UPDATE: ``kick_user_id = ANY(<array literal>)`` is
# planned as one scan with a hashed array lookup, ~40 % cheaper than INSERT ... ON CONFLICT, which
# makes a speculative insertion attempt and an index probe per row. Only the ids the UPDATE did not
# find go to the upsert (ON CONFLICT still covers a row inserted by someone else meanwhile).
_PG_MONTH = """
WITH ids AS (SELECT u FROM unnest(%(ids)s::bigint[]) AS t(u)),
um AS (
    UPDATE {monthly} w SET minutes = w.minutes + %(minutes)s
    WHERE w.community_id = %(community)s AND w.month = %(month)s
      AND w.kick_user_id = ANY(%(ids)s::bigint[])
    RETURNING w.kick_user_id, w.minutes),
im AS (
    INSERT INTO {monthly} (community_id, kick_user_id, month, minutes)
    SELECT %(community)s, u, %(month)s, %(minutes)s FROM ids
    WHERE NOT EXISTS (SELECT 1 FROM um WHERE um.kick_user_id = ids.u)
    ON CONFLICT (community_id, kick_user_id, month)
    DO UPDATE SET minutes = {monthly}.minutes + excluded.minutes
    RETURNING kick_user_id, minutes)
SELECT string_agg(kick_user_id || ':' || minutes, ',') FROM (SELECT * FROM um UNION ALL SELECT * FROM im) AS b
"""

# SQLite: plain upserts (no UPDATE ... RETURNING inside WITH). ``WHERE true`` lets SQLite parse
# INSERT ... SELECT ... ON CONFLICT.
_SQLITE_MONTH = """
INSERT INTO {monthly} (community_id, kick_user_id, month, minutes)
SELECT %s, value, %s, %s FROM json_each(%s) WHERE true
ON CONFLICT (community_id, kick_user_id, month) DO UPDATE SET minutes = {monthly}.minutes + excluded.minutes
RETURNING kick_user_id, minutes
"""

# Only for a tick of a month already folded into WatchTotal (a late tick): that month's minutes
# must reach the all-time table too.
_CLOSED_TOTAL = {
    "postgresql": "SELECT %s, u, %s FROM unnest(%s::bigint[]) AS t(u) WHERE true",
    "sqlite": "SELECT %s, value, %s FROM json_each(%s) WHERE true",
}
_UPSERT_TOTAL = """
INSERT INTO {total} (community_id, kick_user_id, minutes)
{select}
ON CONFLICT (community_id, kick_user_id) DO UPDATE SET minutes = {total}.minutes + excluded.minutes
"""

_FOLD = """
INSERT INTO {total} (community_id, kick_user_id, minutes)
SELECT community_id, kick_user_id, SUM(minutes) FROM {monthly}
WHERE community_id = %s AND month <= %s AND month > %s
GROUP BY community_id, kick_user_id
ON CONFLICT (community_id, kick_user_id) DO UPDATE SET minutes = {total}.minutes + excluded.minutes
"""


def _tables() -> dict[str, str]:
    qn = connection.ops.quote_name
    return {"total": qn(WatchTotal._meta.db_table), "monthly": qn(WatchMonthly._meta.db_table)}


def _ids_param(ids: list[int]) -> str:
    if connection.vendor == "postgresql":
        # An array literal: psycopg adapting a 100k-item list costs ~50 ms more than this join.
        return "{" + ",".join(map(str, ids)) + "}"
    return json.dumps(ids)


def _credit_month(*, community_id: int, ids: list[int], minutes: int, month: date) -> str:
    """Add ``minutes`` to the ``month`` row of every id, set-based; returns ``"id:minutes,..."``.

    One statement on Postgres whatever the number of viewers; the new month values go to the
    rank mirror.
    """
    with connection.cursor() as cur:
        if connection.vendor == "postgresql":
            cur.execute(
                _PG_MONTH.format(**_tables()),
                {"ids": _ids_param(ids), "community": community_id, "minutes": minutes, "month": month},
            )
            return str(cur.fetchone()[0] or "")
        cur.execute(
            _SQLITE_MONTH.format(**_tables()),
            [community_id, connection.ops.adapt_datefield_value(month), minutes, _ids_param(ids)],
        )
        return ",".join(f"{u}:{m}" for u, m in cur.fetchall())


def _credit_closed_total(*, community_id: int, ids: list[int], minutes: int) -> None:
    select = _CLOSED_TOTAL["postgresql" if connection.vendor == "postgresql" else "sqlite"]
    with connection.cursor() as cur:
        cur.execute(
            _UPSERT_TOTAL.format(select=select, **_tables()), [community_id, minutes, _ids_param(ids)]
        )


def watchtime_credit(
    *, community_id: int, bucket: datetime, minutes: int, now: float | None = None
) -> CreditResult:
    """Credit ``minutes`` to every viewer active now, once for ``bucket`` (interval start, aware).

    Eligible when the community is live (or counts offline chat) and at least
    ``min_active_chatters`` distinct users chatted in the last 5 minutes; the viewers are those
    whose last line falls in the last ``active_window`` seconds before ``now`` (epoch seconds,
    default the clock), so one line earns exactly the ticks that run inside its window. The viewer
    list is snapshotted per bucket in Redis: a retry of a killed tick credits the same viewers.

    Idempotency key: ``WatchTick(community, bucket)``, inserted in the same transaction as the
    minutes, so a repeated or late tick for the bucket credits nothing. The minutes go to the
    bucket's month in ``WatchMonthly`` (all-time is derived, see ``WatchAllTime``); only a bucket of
    a month already folded into ``WatchTotal`` writes that table as well. The community's
    ``WatchSettings`` row is locked for the transaction (ticks and the month fold of one community
    run one at a time). Then call :func:`watchtime_mirror_update` with the result (the tick task does).
    """
    if minutes <= 0:
        raise ValueError("minutes must be positive")
    community = Community.objects.only("is_live", "timezone", "kick_bot_user_id").get(pk=community_id)
    settings = watch_settings_get(community_id=community_id)
    if not settings.tracking_enabled:
        return CreditResult(credited=False, reason="tracking_off")
    bucket_ts = int(bucket.timestamp())
    # A snapshot means an earlier run of this bucket passed the live and chatter gates and was
    # killed before it committed: the retry credits what that run saw, even if the stream ended.
    snapshot = snapshot_get(community_id=community_id, bucket_ts=bucket_ts)
    if snapshot is None and not (community.is_live or settings.count_offline_chat):
        return CreditResult(credited=False, reason="offline")
    if snapshot is None:
        ref = time.time() if now is None else now
        # No upper bound: a line stamped slightly ahead of this worker's clock still counts.
        since = ref - CHATTER_WINDOW_S
        chatters = distinct_chatters(community_id=community_id, since_ts=since, until_ts=math.inf)
        if chatters < settings.min_active_chatters:
            return CreditResult(credited=False, reason="quiet")
        viewers = active_viewers(
            community_id=community_id, since_ts=ref - settings.active_window_s, until_ts=math.inf
        )
        if community.kick_bot_user_id is not None:  # filtered upstream too; never credit the bot
            viewers = [v for v in viewers if v != community.kick_bot_user_id]
        viewers.sort()  # index order: neighbouring keys share pages
        if viewers:
            snapshot_put(community_id=community_id, bucket_ts=bucket_ts, viewers=viewers)
    else:
        viewers = snapshot
    if not viewers:
        return CreditResult(credited=False, reason="no_viewers")
    month = community_month(community=community, when=bucket)

    with transaction.atomic():
        if connection.vendor == "postgresql":
            # Losing the last tick in a crash is fine (tick row and minutes go together).
            with connection.cursor() as cur:
                cur.execute("SET LOCAL synchronous_commit TO OFF")
        locked = WatchSettings.objects.select_for_update().get(pk=settings.pk)
        try:
            with transaction.atomic():
                tick = WatchTick.objects.create(
                    community_id=community_id, bucket=bucket, viewers=len(viewers), minutes=minutes
                )
        except IntegrityError:
            snapshot_drop(community_id=community_id, bucket_ts=bucket_ts)
            return CreditResult(credited=False, reason="duplicate")
        month_new = _credit_month(community_id=community_id, ids=viewers, minutes=minutes, month=month)
        if locked.closed_through is not None and month <= locked.closed_through:
            _credit_closed_total(community_id=community_id, ids=viewers, minutes=minutes)
        WatchSettings.objects.filter(pk=locked.pk).update(last_tick_id=tick.pk)
    snapshot_drop(community_id=community_id, bucket_ts=bucket_ts)

    log.info("credited %s minutes to %s viewers in community %s", minutes, len(viewers), community_id)
    return CreditResult(
        credited=True,
        reason="credited",
        viewers=len(viewers),
        minutes=minutes,
        tick_id=tick.pk,
        prev_tick_id=locked.last_tick_id,
        month=month,
        month_pairs=month_new,
    )


def watchtime_months_close(*, community_id: int, now: datetime | None = None) -> date | None:
    """Fold every month before the current one (community time zone) into ``WatchTotal``, once.

    Under the ``WatchSettings`` lock, in one transaction with the ``closed_through`` move, so the
    ``WatchAllTime`` view counts each month exactly once before, during and after. A tick of a
    folded month that arrives later adds to both tables (see :func:`watchtime_credit`). Returns
    the new ``closed_through``.
    """
    community = Community.objects.only("timezone").get(pk=community_id)
    this_month = community_month(community=community, when=now or timezone.now())
    target = month_before(this_month)
    settings = watch_settings_get(community_id=community_id)
    with transaction.atomic():
        locked = WatchSettings.objects.select_for_update().get(pk=settings.pk)
        if locked.closed_through is not None and locked.closed_through >= target:
            return locked.closed_through
        since = locked.closed_through or date(1, 1, 1)
        adapt = connection.ops.adapt_datefield_value
        with connection.cursor() as cur:
            cur.execute(_FOLD.format(**_tables()), [community_id, adapt(target), adapt(since)])
            folded = cur.rowcount
        WatchSettings.objects.filter(pk=locked.pk).update(closed_through=target)
    log.info(
        "folded watchtime through %s into all-time totals for community %s (%s viewers)",
        target,
        community_id,
        folded,
    )
    return target


def watchtime_mirror_update(*, community_id: int, result: CreditResult) -> bool:
    """After a credit commits: write the new totals into the rank mirror (a cache, never fatal).

    Schedules a rebuild when the mirror is stale or the write fails. Returns whether it was written.
    """
    if not result.credited or result.month is None:
        return False
    try:
        fresh = mirror.mirror_apply(
            community_id=community_id,
            month=result.month,
            tick_id=result.tick_id,
            prev_tick_id=result.prev_tick_id,
            minutes=result.minutes,
            month_pairs=result.month_pairs,
        )
    except Exception:
        log.exception("could not update the watchtime mirror of community %s", community_id)
        fresh = False
    if not fresh:
        mirror.mirror_rebuild_soon(community_id=community_id)
    return fresh


# --- settings ----------------------------------------------------------------------------


def tracking_set(*, community_id: int, enabled: bool, actor_label: str) -> WatchSettings:
    """Pause or resume crediting for a community (audited)."""
    with transaction.atomic():
        settings = watch_settings_get(community_id=community_id)
        if settings.tracking_enabled != enabled:
            WatchSettings.objects.filter(pk=settings.pk).update(tracking_enabled=enabled)
            settings.tracking_enabled = enabled
            audit_record(
                action="watchtime.tracking_on" if enabled else "watchtime.tracking_off",
                community=settings.community,
                actor_label=actor_label,
                target=settings,
            )
    return settings


WATCH_SETTING_LIMITS = {"min_active_chatters": (1, 1000), "active_window_s": (10, 3600)}


def watch_settings_update(*, community_id: int, actor_label: str, **fields: object) -> WatchSettings:
    """Change watchtime settings (tracking, offline chat, thresholds, role mode); audited, applied
    from the next tick (the tick reads the row every time)."""
    allowed = {"tracking_enabled", "count_offline_chat", "role_mode", *WATCH_SETTING_LIMITS}
    unknown = set(fields) - allowed
    if unknown:
        raise TypeError(f"not editable: {sorted(unknown)}")
    for name, value in fields.items():
        if name in WATCH_SETTING_LIMITS:
            low, high = WATCH_SETTING_LIMITS[name]
            if type(value) is not int or not low <= value <= high:
                raise InvalidInput(f"{name.replace('_', ' ')} must be a whole number from {low} to {high}.")
        elif name == "role_mode" and value not in WatchSettings.RoleMode.values:
            raise InvalidInput("Role mode is 'all' or 'highest'.")
        elif name in ("tracking_enabled", "count_offline_chat") and type(value) is not bool:
            raise InvalidInput(f"{name.replace('_', ' ')} is on or off.")
    with transaction.atomic():
        watch_settings_get(community_id=community_id)
        row = WatchSettings.objects.select_for_update().get(community_id=community_id)
        before = {k: getattr(row, k) for k in fields}
        for name, value in fields.items():
            setattr(row, name, value)
        row.save()
        changed = {k: [before[k], v] for k, v in fields.items() if before[k] != v}
        if changed:
            audit_record(
                action="watchtime.settings",
                community=row.community,
                actor_label=actor_label,
                target=row,
                data={k: [str(a), str(b)] for k, (a, b) in changed.items()},
            )
    return row


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
