"""Watchtime reads for commands, the leaderboard page and the raffle. Plain values only.

Rankings come from the Redis mirror (``watchtime.mirror``): top-N is ``ZREVRANGE`` and a rank is
``ZCOUNT (minutes +inf`` + 1, both O(log N), one round trip each (a Lua script that also checks
the mirror is current). Ranks are competition ranks (ties share a rank; the next rank skips).
When the mirror is stale or missing the answer comes from the database (unindexed ``minutes``:
a scan, fine for small communities and rare for big ones) and a rebuild is scheduled.

Indexes used: ``watchtotal_once`` and ``watchmonthly_once`` through the ``WatchAllTime`` view
(community, kick_user_id) for one viewer's all-time minutes;
``watchmonthly_once`` (community, kick_user_id, month) for one viewer's month and
``period_minutes``; ``watchmonthly_comm_month`` (community, month) for a past month's board;
``accounts_kickuser`` primary key for names.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from django.db.models import Count, Q, Sum
from django.utils import timezone

from accounts.models import KickUser, Link
from kickbot.models import Community
from watchtime import mirror
from watchtime.credit import community_month
from watchtime.models import AppliedRole, WatchAllTime, WatchMonthly, WatchRole, WatchSettings
from watchtime.tasks import mirror_rebuild_soon


@dataclass(frozen=True)
class LeaderRow:
    rank: int
    kick_user_id: int
    username: str
    minutes: int


@dataclass(frozen=True)
class NextRole:
    role_id: int
    name: str
    minutes_required: int
    minutes_left: int


@dataclass(frozen=True)
class RankInfo:
    rank: int | None  # None: no minutes yet
    minutes: int
    total_viewers: int
    next_role: NextRole | None


@dataclass(frozen=True)
class WatchSettingsView:
    tracking_enabled: bool
    count_offline_chat: bool
    min_active_chatters: int
    active_window_s: int
    role_mode: str


@dataclass(frozen=True)
class WatchRoleView:
    role_id: int
    name: str
    minutes_required: int
    enabled: bool
    display_order: int


def format_minutes(minutes: int) -> str:
    """``125`` → ``"2h 5m"``."""
    hours, rest = divmod(max(minutes, 0), 60)
    return f"{hours}h {rest}m" if hours else f"{rest}m"


def current_month(*, community_id: int) -> date:
    community = Community.objects.only("timezone").get(pk=community_id)
    return community_month(community=community, when=timezone.now())


def _names(ids: list[int]) -> dict[int, str]:
    return dict(KickUser.objects.filter(user_id__in=ids).values_list("user_id", "username"))


def _db_top(community_id: int, limit: int, month: date | None) -> list[tuple[int, int]]:
    qs = (
        WatchAllTime.objects.filter(community_id=community_id)
        if month is None
        else WatchMonthly.objects.filter(community_id=community_id, month=month)
    )
    return list(
        qs.filter(minutes__gt=0)
        .order_by("-minutes", "kick_user_id")
        .values_list("kick_user_id", "minutes")[:limit]
    )


def leaderboard(*, community_id: int, limit: int, month: date | None = None) -> list[LeaderRow]:
    """The top ``limit`` viewers by all-time minutes, or by ``month`` (first of month, community tz)."""
    limit = max(1, min(limit, 100))
    pairs = mirror.mirror_top(community_id=community_id, limit=limit, month=month)
    if pairs is None and month is not None and month != current_month(community_id=community_id):
        pairs = _db_top(community_id, limit, month)  # past months are not mirrored
    elif pairs is None:
        mirror_rebuild_soon(community_id=community_id)
        pairs = _db_top(community_id, limit, month)
    pairs = sorted((p for p in pairs if p[1] > 0), key=lambda p: (-p[1], p[0]))
    names = _names([uid for uid, _ in pairs])
    rows: list[LeaderRow] = []
    for i, (uid, minutes) in enumerate(pairs):
        rank = rows[-1].rank if rows and rows[-1].minutes == minutes else i + 1
        rows.append(
            LeaderRow(rank=rank, kick_user_id=uid, username=names.get(uid, str(uid)), minutes=minutes)
        )
    return rows


def _db_rank(community_id: int, kick_user_id: int, month: date | None) -> tuple[int, int, int]:
    qs = (
        WatchAllTime.objects.filter(community_id=community_id)
        if month is None
        else WatchMonthly.objects.filter(community_id=community_id, month=month)
    )
    mine = qs.filter(kick_user_id=kick_user_id).values_list("minutes", flat=True).first() or 0
    agg = qs.aggregate(
        total=Count("kick_user_id", filter=Q(minutes__gt=0)),
        above=Count("kick_user_id", filter=Q(minutes__gt=mine)),
    )
    return mine, agg["above"], agg["total"]


def _next_role(community_id: int, minutes: int) -> NextRole | None:
    row = (
        WatchRole.objects.filter(community_id=community_id, enabled=True, minutes_required__gt=minutes)
        .order_by("minutes_required", "display_order")
        .values_list("discord_role_id", "name", "minutes_required")
        .first()
    )
    if row is None:
        return None
    return NextRole(role_id=row[0], name=row[1], minutes_required=row[2], minutes_left=row[2] - minutes)


def rank_of(*, community_id: int, kick_user_id: int, month: date | None = None) -> RankInfo:
    """A viewer's minutes and rank (all-time or ``month``) and the next watchtime role (all-time)."""
    found = mirror.mirror_rank(community_id=community_id, kick_user_id=kick_user_id, month=month)
    if found is None:
        if month is None or month == current_month(community_id=community_id):
            mirror_rebuild_soon(community_id=community_id)
        found = _db_rank(community_id, kick_user_id, month)
    minutes, above, total = found
    all_time = minutes
    if month is not None:
        all_time = (
            WatchAllTime.objects.filter(community_id=community_id, kick_user_id=kick_user_id)
            .values_list("minutes", flat=True)
            .first()
            or 0
        )
    return RankInfo(
        rank=above + 1 if minutes > 0 else None,
        minutes=minutes,
        total_viewers=total,
        next_role=_next_role(community_id, all_time),
    )


def period_minutes(*, community_id: int, kick_user_ids: list[int], month: date) -> dict[int, int]:
    """Minutes per Kick user in ``month`` (for converting watchtime to raffle tickets); absent = 0."""
    return dict(
        WatchMonthly.objects.filter(
            community_id=community_id, month=month, kick_user_id__in=kick_user_ids
        ).values_list("kick_user_id", "minutes")
    )


def total_minutes(*, community_id: int, month: date | None = None) -> int:
    qs = (
        WatchAllTime.objects.filter(community_id=community_id)
        if month is None
        else WatchMonthly.objects.filter(community_id=community_id, month=month)
    )
    return int(qs.aggregate(s=Sum("minutes"))["s"] or 0)


def watch_settings(*, community_id: int) -> WatchSettingsView:
    s = WatchSettings.objects.filter(community_id=community_id).first() or WatchSettings(
        community_id=community_id
    )
    return WatchSettingsView(
        tracking_enabled=s.tracking_enabled,
        count_offline_chat=s.count_offline_chat,
        min_active_chatters=s.min_active_chatters,
        active_window_s=s.active_window_s,
        role_mode=s.role_mode,
    )


def watch_roles(*, community_id: int) -> list[WatchRoleView]:
    return [
        WatchRoleView(
            role_id=r.discord_role_id,
            name=r.name,
            minutes_required=r.minutes_required,
            enabled=r.enabled,
            display_order=r.display_order,
        )
        for r in WatchRole.objects.filter(community_id=community_id).order_by(
            "minutes_required", "display_order"
        )
    ]


def kick_user_for_discord(*, discord_user_id: int) -> tuple[int, str] | None:
    """The Kick account (id, name) linked to a Discord user, or None."""
    row = (
        Link.objects.filter(discord_user_id=discord_user_id)
        .values_list("kick_user_id", "kick_user__username")
        .first()
    )
    return (row[0], row[1]) if row else None


def role_holders(*, community_id: int, role_id: int) -> list[int]:
    """Discord user ids we gave ``role_id`` (for ``roles members``)."""
    return list(
        AppliedRole.objects.filter(community_id=community_id, discord_role_id=role_id)
        .order_by("discord_user_id")
        .values_list("discord_user_id", flat=True)
    )
