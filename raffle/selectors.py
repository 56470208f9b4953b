"""Reads for the bot, the pages and the services. Async callers get plain dataclasses, never querysets."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from django.conf import settings
from django.db import connection
from django.db.models import Count, Sum
from django.db.models.functions import Lower

from accounts.models import KickUser
from kickbot.models import Community
from raffle.draw import Snapshot, build_snapshot
from raffle.models import (
    RafflePeriod,
    RaffleSettings,
    RaffleWinner,
    ShuffleAccount,
    TicketBalance,
    TicketEntry,
)
from watchtime.models import WatchMonthly

SOURCES = ("watchtime", "gift", "wager", "admin")


@dataclass(frozen=True)
class PeriodInfo:
    id: int
    community_id: int
    status: str
    starts_at: datetime
    ends_at: datetime
    timezone: str
    server_seed_hash: str
    drand_round: int
    snapshot_hash: str
    total_tickets: int
    entrants: int
    rules: dict[str, Any]
    draw_wait_reason: str
    url: str


@dataclass(frozen=True)
class WinnerInfo:
    k: int
    kick_user_id: int
    username: str
    ticket: int
    total: int
    void_reason: str


@dataclass(frozen=True)
class Receipt:
    source: str
    amount: int
    reason: str
    created_at: datetime


@dataclass(frozen=True)
class TicketsInfo:
    period: PeriodInfo
    kick_user_id: int
    total: int
    by_source: dict[str, int]
    receipts: list[Receipt]
    all_tickets: int
    # Once frozen: the viewer's ticket range [first, last] in the snapshot.
    first_ticket: int | None
    last_ticket: int | None


@dataclass(frozen=True)
class BoardRow:
    rank: int
    kick_user_id: int
    username: str
    total: int


@dataclass(frozen=True)
class RaffleStats:
    period: PeriodInfo
    entrants: int
    total: int
    by_source: dict[str, int]


def period_url(period_id: int) -> str:
    return f"{settings.PUBLIC_BASE_URL}/raffle/{period_id}/"


def raffle_settings_get(*, community_id: int) -> RaffleSettings:
    """The community's raffle settings, created with the defaults on first use."""
    row, _ = RaffleSettings.objects.get_or_create(community_id=community_id)
    return row


def _period_info(p: RafflePeriod, tz: str) -> PeriodInfo:
    return PeriodInfo(
        id=p.pk,
        community_id=p.community_id,
        status=p.status,
        starts_at=p.starts_at,
        ends_at=p.ends_at,
        timezone=tz,
        server_seed_hash=p.server_seed_hash,
        drand_round=p.fallback_round or p.drand_round,
        snapshot_hash=p.snapshot_hash,
        total_tickets=p.total_tickets,
        entrants=p.entrants_count,
        rules=dict(p.rules),
        draw_wait_reason=p.draw_wait_reason,
        url=period_url(p.pk),
    )


def period_current(*, community_id: int) -> PeriodInfo | None:
    """The open period, else the most recent one, else None."""
    qs = (
        RafflePeriod.objects.filter(community_id=community_id)
        .select_related("community")
        .defer("server_seed")
    )
    p = qs.filter(status=RafflePeriod.Status.OPEN).first() or qs.order_by("-starts_at", "-id").first()
    return _period_info(p, p.community.timezone) if p else None


def period_list(*, community_id: int, limit: int = 24) -> list[PeriodInfo]:
    """The community's periods, newest first (the dashboard's raffle page)."""
    rows = (
        RafflePeriod.objects.filter(community_id=community_id)
        .select_related("community")
        .defer("server_seed")
        .order_by("-starts_at", "-id")[:limit]
    )
    return [_period_info(p, p.community.timezone) for p in rows]


def period_info(*, period_id: int) -> PeriodInfo | None:
    p = RafflePeriod.objects.select_related("community").defer("server_seed").filter(pk=period_id).first()
    return _period_info(p, p.community.timezone) if p else None


def period_winners(*, period_id: int) -> list[WinnerInfo]:
    return [
        WinnerInfo(w.k, w.kick_user_id, w.username, w.ticket, w.total, w.void_reason)
        for w in RaffleWinner.objects.filter(period_id=period_id).order_by("k")
    ]


def snapshot_rows(*, period_id: int) -> list[tuple[int, int]]:
    """``(kick_user_id, tickets)`` with tickets > 0, in kick_user_id order: the snapshot's input.

    One indexed range scan (``ticketbalance_once`` is ``(period_id, kick_user_id)``) through a raw
    cursor: 1,000,000 rows come back as plain tuples without model instances.
    """
    table = TicketBalance._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT kick_user_id, total FROM {table} "  # noqa: S608 - table name from the model
            "WHERE period_id = %s AND total > 0 ORDER BY kick_user_id",
            [period_id],
        )
        return cursor.fetchall()


def snapshot_build(*, period_id: int) -> Snapshot:
    return build_snapshot(snapshot_rows(period_id=period_id))


def usernames_for(kick_user_ids: list[int]) -> dict[int, str]:
    return dict(KickUser.objects.filter(user_id__in=kick_user_ids).values_list("user_id", "username"))


def kick_user_by_name(*, username: str) -> int | None:
    """The Kick user id of a (case-insensitive) username; None when unknown or ambiguous."""
    name = username.strip().lower()
    if not name:
        return None
    ids = list(
        KickUser.objects.annotate(lname=Lower("username"))
        .filter(lname=name)
        .values_list("user_id", flat=True)[:2]
    )
    return ids[0] if len(ids) == 1 else None


def tickets_of(*, community_id: int, kick_user_id: int) -> TicketsInfo | None:
    """A viewer's tickets in the current period, with the last receipts and (once frozen) their range."""
    info = period_current(community_id=community_id)
    if info is None:
        return None
    bal = TicketBalance.objects.filter(period_id=info.id, kick_user_id=kick_user_id).first()
    by_source = {s: (getattr(bal, s) if bal else 0) for s in SOURCES}
    receipts = [
        Receipt(e.source, e.amount, e.reason, e.created_at)
        for e in TicketEntry.objects.filter(period_id=info.id, kick_user_id=kick_user_id).order_by("-id")[:3]
    ]
    all_tickets = info.total_tickets
    first = last = None
    if info.status == RafflePeriod.Status.OPEN:
        all_tickets = TicketBalance.objects.filter(period_id=info.id).aggregate(s=Sum("total"))["s"] or 0
    elif bal is not None and bal.total > 0:
        before = (
            TicketBalance.objects.filter(
                period_id=info.id, kick_user_id__lt=kick_user_id, total__gt=0
            ).aggregate(s=Sum("total"))["s"]
            or 0
        )
        first, last = before, before + bal.total - 1
    return TicketsInfo(
        period=info,
        kick_user_id=kick_user_id,
        total=bal.total if bal else 0,
        by_source=by_source,
        receipts=receipts,
        all_tickets=all_tickets,
        first_ticket=first,
        last_ticket=last,
    )


def raffle_board(*, community_id: int, limit: int) -> list[BoardRow]:
    info = period_current(community_id=community_id)
    if info is None:
        return []
    rows = list(
        TicketBalance.objects.filter(period_id=info.id, total__gt=0)
        .order_by("-total", "kick_user_id")
        .values_list("kick_user_id", "total")[:limit]
    )
    names = usernames_for([uid for uid, _ in rows])
    return [BoardRow(i + 1, uid, names.get(uid, str(uid)), total) for i, (uid, total) in enumerate(rows)]


def raffle_stats(*, community_id: int) -> RaffleStats | None:
    info = period_current(community_id=community_id)
    if info is None:
        return None
    agg = TicketBalance.objects.filter(period_id=info.id).aggregate(
        entrants=Count("id", filter=None), total=Sum("total"), **{s: Sum(s) for s in SOURCES}
    )
    entrants = TicketBalance.objects.filter(period_id=info.id, total__gt=0).count()
    return RaffleStats(
        period=info,
        entrants=entrants,
        total=agg["total"] or 0,
        by_source={s: agg[s] or 0 for s in SOURCES},
    )


def shuffle_claims(*, community_id: int, verified: bool | None = None) -> list[ShuffleAccount]:
    qs = ShuffleAccount.objects.filter(community_id=community_id).order_by("created_at")
    if verified is not None:
        qs = qs.filter(verified=verified)
    return list(qs)


# --- watchtime --------------------------------------------------------------------------------
# The watchtime app has no selector for "minutes per user over these months" yet; this reads its
# WatchMonthly table directly (one grouped query, no per-user loop).


def watch_minutes_by_user(*, community_id: int, months: list[date]) -> dict[int, int]:
    rows = (
        WatchMonthly.objects.filter(community_id=community_id, month__in=months)
        .values("kick_user_id")
        .annotate(m=Sum("minutes"))
        .values_list("kick_user_id", "m")
    )
    return {uid: int(m or 0) for uid, m in rows}


def community_timezone(*, community_id: int) -> str:
    return Community.objects.values_list("timezone", flat=True).get(pk=community_id)
