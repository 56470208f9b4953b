"""The ticket ledger: the open period's lock, the book's close, appending entries and balances.

Locking: every ledger write runs in one transaction that first locks the community's open period
row (``open_period_lock``: ``SELECT ... FOR UPDATE``; SQLite serialises writers with IMMEDIATE
transactions). Freezing takes the same lock, so no award can commit into a period after its
snapshot was taken. Awards are idempotent on ``TicketEntry(period, source, source_key)``; balances
are updated in the same transaction (``raffle/README.md``, guards). No HTTP call runs inside a
transaction.

The book closes by time (``docs/draw-proof.md``, "The book"): no entry is effective after the
period's ``ends_at``, whatever its status; the services say so (``book_check_open``) and a
trigger refuses it anyway.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime

from django.db import connection
from django.utils import timezone

from raffle.errors import NoOpenPeriod, PeriodNotOpen
from raffle.models import RafflePeriod, TicketBalance, TicketEntry

REASON_MAX = 200


@dataclass(frozen=True, slots=True)
class Award:
    kick_user_id: int
    source: str
    amount: int
    source_key: str
    reason: str = ""
    actor_label: str = ""


def open_period_lock(community_id: int) -> RafflePeriod | None:
    """Lock the community's open period row for this transaction; None when no period is open."""
    return (
        RafflePeriod.objects.select_for_update()
        .filter(community_id=community_id, status=RafflePeriod.Status.OPEN)
        .first()
    )


def open_period_lock_or_raise(community_id: int, *, missing: str) -> RafflePeriod:
    """``open_period_lock``, or ``NoOpenPeriod(missing)`` (the reply) when no period is open."""
    period = open_period_lock(community_id)
    if period is None:
        raise NoOpenPeriod(missing)
    return period


def period_lock(period_id: int) -> RafflePeriod:
    """Lock one period row (whatever its status) for this transaction, with its community."""
    return RafflePeriod.objects.select_for_update().select_related("community").get(pk=period_id)


def book_open(period: RafflePeriod, at: datetime) -> bool:
    """Whether the period's book takes entries effective at ``at``: open, and not past its end."""
    return period.status == RafflePeriod.Status.OPEN and at <= period.ends_at


def book_check_open(period: RafflePeriod, at: datetime) -> None:
    """``book_open`` or ``PeriodNotOpen`` saying why (closed, or closed by time at ``ends_at``)."""
    if period.status != RafflePeriod.Status.OPEN:
        raise PeriodNotOpen("This raffle is closed: tickets can no longer change.")
    if at > period.ends_at:
        raise PeriodNotOpen(
            f"This raffle closed at {period.ends_at:%Y-%m-%d %H:%M} UTC: tickets can no longer change."
        )


def _balances_add(period_id: int, deltas: dict[int, dict[str, int]]) -> None:
    """Add per-source deltas to the cached balances: one upsert statement, executed per row batch."""
    if not deltas:
        return
    t = TicketBalance._meta.db_table
    sql = (
        f"INSERT INTO {t} (period_id, kick_user_id, total, watchtime, gift, wager, admin) "  # noqa: S608
        "VALUES (%s, %s, %s, %s, %s, %s, %s) ON CONFLICT (period_id, kick_user_id) DO UPDATE SET "
        f"total = {t}.total + excluded.total, watchtime = {t}.watchtime + excluded.watchtime, "
        f"gift = {t}.gift + excluded.gift, wager = {t}.wager + excluded.wager, "
        f"admin = {t}.admin + excluded.admin"
    )
    rows = [
        (
            period_id,
            uid,
            sum(d.values()),
            d.get("watchtime", 0),
            d.get("gift", 0),
            d.get("wager", 0),
            d.get("admin", 0),
        )
        for uid, d in deltas.items()
    ]
    # Both databases check CHECK constraints on the proposed row before resolving the conflict,
    # so a negative delta (an admin removal, always of an existing balance) is a plain UPDATE.
    adds = [r for r in rows if r[2] >= 0]
    subtracts = [(*r[2:], r[0], r[1]) for r in rows if r[2] < 0]
    with connection.cursor() as cursor:
        if adds:
            cursor.executemany(sql, adds)
        if subtracts:
            cursor.executemany(
                f"UPDATE {t} SET total = total + %s, watchtime = watchtime + %s, gift = gift + %s, "  # noqa: S608
                "wager = wager + %s, admin = admin + %s WHERE period_id = %s AND kick_user_id = %s",
                subtracts,
            )


def ledger_append(period: RafflePeriod, awards: list[Award], *, effective_at: datetime | None = None) -> int:
    """Append entries and update balances. The caller holds the period lock and checked it is open.

    ``effective_at`` (default now) is when the tickets were earned; after ``ends_at`` the book is
    closed (the service says so; the ``raffle_ticketentry_open`` trigger refuses it anyway).
    Returns the sum of the amounts written. A duplicate key raises IntegrityError (and rolls back
    the caller's transaction): callers that may see replays check for the key first.
    """
    if not awards:
        return 0
    when = effective_at or timezone.now()
    book_check_open(period, when)
    TicketEntry.objects.bulk_create(
        [
            TicketEntry(
                period=period,
                kick_user_id=a.kick_user_id,
                source=a.source,
                amount=a.amount,
                source_key=a.source_key[:200],
                reason=a.reason[:REASON_MAX],
                actor_label=a.actor_label[:120],
                effective_at=when,
            )
            for a in awards
        ],
        batch_size=1000,
    )
    deltas: dict[int, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for a in awards:
        deltas[a.kick_user_id][a.source] += a.amount
    _balances_add(period.pk, {uid: dict(d) for uid, d in deltas.items()})
    return sum(a.amount for a in awards)
