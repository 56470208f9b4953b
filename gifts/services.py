"""Writes for gift purchases: record each report of a purchase, attribute it, award it once.

Every Kick report of a gift (the coalesced Pusher frames, a later frame that carries the gifter's
id, the ``channel.subscription.gifts`` webhook, a redelivery) goes through
:func:`gift_purchase_record`. Under a per-community lock it finds the purchase the report belongs to
(same gifter, overlapping giftees, within :data:`PURCHASE_WINDOW`) or creates it, learns what the
report adds (the gifter's id, more giftees), stores the gifter as a ``KickUser`` from the gift's own
data, and once the gifter's id is known awards the tickets through the raffle's gift service, keyed
``gift-purchase:<id>``. A purchase whose gifter id is not known yet stays ``pending`` (the durable
park) until a later report, a chat line of the gifter (``gift_purchases_settle`` finds the name) or
the retry job completes it; after :data:`ATTRIBUTION_WINDOW` it is ``unattributed`` (an ingestion
error).

Locking: ``pg_advisory_xact_lock`` per community on Postgres; SQLite transactions are IMMEDIATE (one
writer at a time). The unique ``(community, gifter_key, giftees_key, seq)`` and the ledger's unique
key are the guarantees underneath.
"""

from __future__ import annotations

import hashlib
import logging
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.db import connection, transaction
from django.db.models import Max, Q
from django.utils import timezone

from accounts.services import kick_users_seen
from gifts.models import MAX_QUANTITY, GiftPurchase
from raffle.selectors import kick_user_by_name
from raffle.services.tickets import tickets_award_gift

log = logging.getLogger(__name__)

ANONYMOUS = "~anonymous"
# Kick gifts subs only to viewers who are not subscribed: one gifter cannot buy for the same viewer
# again while that gifted month runs, so reports this far apart with shared giftees are one purchase.
PURCHASE_WINDOW = timedelta(hours=6)
# A report that names no giftees (a count-only frame) joins a purchase of the same gifter this close.
UNKNOWN_GIFTEES_WINDOW = timedelta(seconds=60)
# How long a purchase may wait for its gifter's id before it counts as an error.
ATTRIBUTION_WINDOW = timedelta(minutes=10)
_KEY_MAX = 200
MAX_REFS = 10  # reports remembered per purchase (for people and tests reading the table)
_LOCK_NAMESPACE = 0x6766  # "gf": the advisory lock key is (namespace << 32) | community id


@dataclass(frozen=True)
class GiftOutcome:
    purchase_id: int
    status: str
    tickets: int  # awarded by this call (0: not yet, already, anonymous or no open raffle)
    merged: bool  # the report joined a purchase recorded before


@dataclass
class SettleReport:
    awarded: int = 0
    unattributed: Counter[int] = field(default_factory=Counter)  # community id → purchases given up
    pending: int = 0


def gifter_key(username: str | None, gifter_id: int | None = None) -> str:
    """Lowercased name; ``#<id>`` for a gifter known only by id (named later by the Kick API)."""
    name = (username or "").strip().lower()
    if name:
        return name[:64]
    return f"#{gifter_id}" if gifter_id is not None else ANONYMOUS


def _giftees_key(giftees: list[str], ref: str) -> str:
    if not giftees:
        return f"?{ref}"[:_KEY_MAX]
    joined = ",".join(giftees)
    if len(joined) <= _KEY_MAX:
        return joined
    return "h:" + hashlib.sha256(joined.encode()).hexdigest()


def _lock(community_id: int) -> None:
    """Serialise the purchase writes of one community (the caller holds a transaction)."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT pg_advisory_xact_lock(%s)", [(_LOCK_NAMESPACE << 32) | (community_id & 0xFFFFFFFF)]
            )


def _match(
    *,
    community_id: int,
    gifter: str,
    gifter_id: int | None,
    giftees: list[str],
    key: str,
    at: datetime,
    now: datetime,
) -> GiftPurchase | None:
    """The purchase this report belongs to. Near in time means by the gift's own time or by when we
    first heard of it: a Pusher frame without a time of its own carries its receive time, and a
    replay of recorded traffic receives old gifts now."""
    near = Q(purchased_at__gte=at - PURCHASE_WINDOW, purchased_at__lte=at + PURCHASE_WINDOW) | Q(
        first_seen_at__gte=now - PURCHASE_WINDOW
    )
    # The same gifter: by name, or by id (a report that has the id but not the name).
    same = Q(gifter_key=gifter) | Q(gifter_id=gifter_id) if gifter_id is not None else Q(gifter_key=gifter)
    rows = GiftPurchase.objects.filter(near, same, community_id=community_id).order_by(
        "-purchased_at", "-id"
    )[:50]
    wanted = set(giftees)
    for row in rows:
        if row.giftees_key == key:
            return row
        if wanted and row.giftees:
            if not wanted.isdisjoint(row.giftees):
                return row
        elif min(abs(row.purchased_at - at), abs(row.first_seen_at - now)) <= UNKNOWN_GIFTEES_WINDOW:
            return row
    return None


def gift_purchase_record(
    *,
    community_id: int,
    gifter_username: str | None,
    gifter_id: int | None,
    giftee_usernames: list[str] | tuple[str, ...],
    quantity: int,
    purchased_at: datetime,
    source: str,
    ref: str,
    gifter_slug: str | None = None,
) -> GiftOutcome:
    """Record one report of a gift purchase; award it once its gifter is known.

    Idempotent: a report of a purchase already recorded (another source, a redelivery, a retry
    after a lost connection) joins it and awards nothing again. ``ref`` names the report (webhook
    message id, Pusher frame key); it identifies a purchase only when the report names no giftees.
    """
    if type(quantity) is not int or not 0 < quantity <= MAX_QUANTITY:
        # Not a purchase Kick can make: nothing is recorded (a retry would not make it one).
        log.warning("gift report %s refused: quantity %r out of range", ref[:64], quantity)
        return GiftOutcome(purchase_id=0, status="refused", tickets=0, merged=False)
    gifter = gifter_key(gifter_username, gifter_id)
    giftees = sorted({g.strip().lower() for g in giftee_usernames if g and g.strip()})
    key = _giftees_key(giftees, ref)
    now = timezone.now()
    with transaction.atomic():
        _lock(community_id)
        row = _match(
            community_id=community_id,
            gifter=gifter,
            gifter_id=gifter_id,
            giftees=giftees,
            key=key,
            at=purchased_at,
            now=now,
        )
        merged = row is not None
        if row is None:
            last = GiftPurchase.objects.filter(
                community_id=community_id, gifter_key=gifter, giftees_key=key
            ).aggregate(m=Max("seq"))["m"]
            row = GiftPurchase.objects.create(
                community_id=community_id,
                gifter_key=gifter,
                gifter_username=(gifter_username or "").strip()[:64] if gifter != ANONYMOUS else "",
                gifter_id=gifter_id if gifter != ANONYMOUS else None,
                giftees=giftees,
                giftees_key=key,
                seq=(last or 0) + 1,
                quantity=quantity,
                purchased_at=purchased_at,
                first_seen_at=now,
                sources=source,
                refs=[ref[:_KEY_MAX]],
            )
        else:
            _merge(row, gifter_id=gifter_id, username=gifter_username, giftees=giftees, quantity=quantity)
            row.sources = ",".join(sorted(set(filter(None, row.sources.split(","))) | {source}))[:32]
            if ref[:_KEY_MAX] not in row.refs and len(row.refs) < MAX_REFS:
                row.refs = [*row.refs, ref[:_KEY_MAX]]
            row.save()
        if row.gifter_id is not None and row.gifter_username:
            # The gift's own data makes the viewer known (a first-time gifter has no chat line yet).
            kick_users_seen(users=[(row.gifter_id, row.gifter_username, gifter_slug or row.gifter_username)])
        tickets = _settle(row, now=now)
    return GiftOutcome(purchase_id=row.pk, status=row.status, tickets=tickets, merged=merged)


def _merge(
    row: GiftPurchase, *, gifter_id: int | None, username: str | None, giftees: list[str], quantity: int
) -> None:
    if row.gifter_key == ANONYMOUS:
        return
    if gifter_id is not None:
        if row.gifter_id is None:
            row.gifter_id = gifter_id
        elif row.gifter_id != gifter_id:
            log.warning("gift purchase %s: reports disagree on the gifter id; keeping the first", row.pk)
    if username and not row.gifter_username:
        row.gifter_username = username.strip()[:64]  # a purchase keyed "#<id>" learns its name
    if giftees and set(giftees) - set(row.giftees):
        row.giftees = sorted(set(row.giftees) | set(giftees))
    if row.status == GiftPurchase.Status.PENDING:  # an awarded purchase keeps what it was awarded for
        row.quantity = min(MAX_QUANTITY, max(row.quantity, quantity, len(row.giftees)))


def _settle(row: GiftPurchase, *, now: datetime) -> int:
    """Attribute and award a pending purchase if its gifter can be known now; the tickets awarded."""
    if row.status != GiftPurchase.Status.PENDING:
        return 0
    if row.gifter_key == ANONYMOUS:
        row.status, row.settled_at = GiftPurchase.Status.ANONYMOUS, now
        row.save(update_fields=["status", "settled_at"])
        log.info("anonymous gift of %s subs: nobody to award", row.quantity)
        return 0
    if row.gifter_id is None:
        # A chat line of the gifter (or an earlier gift with their id) stored the name.
        row.gifter_id = kick_user_by_name(username=row.gifter_username or row.gifter_key)
        if row.gifter_id is None:
            return 0
    tickets = tickets_award_gift(
        community_id=row.community_id,
        gifter_id=row.gifter_id,
        gifter_username=row.gifter_username or None,
        quantity=row.quantity,
        event_key=f"gift-purchase:{row.pk}",
    )
    row.status, row.tickets, row.settled_at = GiftPurchase.Status.AWARDED, tickets, now
    row.save(update_fields=["gifter_id", "status", "tickets", "settled_at"])
    return tickets


def gift_purchases_settle(
    *, community_id: int | None = None, expire_before: datetime | None = None, limit: int = 500
) -> SettleReport:
    """Complete parked purchases whose gifter is known by now; give up those first seen before
    ``expire_before`` (``unattributed``: counted by the caller as ingestion errors).

    Idempotent: each purchase leaves ``pending`` once, under the community's lock.
    """
    report = SettleReport()
    pending = GiftPurchase.objects.filter(status=GiftPurchase.Status.PENDING)
    if community_id is not None:
        pending = pending.filter(community_id=community_id)
    communities = sorted(pending.values_list("community_id", flat=True).distinct()[:limit])
    now = timezone.now()
    for cid in communities:
        with transaction.atomic():
            _lock(cid)
            rows = list(
                GiftPurchase.objects.filter(community_id=cid, status=GiftPurchase.Status.PENDING).order_by(
                    "id"
                )[:limit]
            )
            for row in rows:
                _settle(row, now=now)
                if row.status == GiftPurchase.Status.AWARDED:
                    report.awarded += 1
                elif row.status != GiftPurchase.Status.PENDING:
                    continue
                elif expire_before is not None and row.first_seen_at < expire_before:
                    row.status, row.settled_at = GiftPurchase.Status.UNATTRIBUTED, now
                    row.save(update_fields=["status", "settled_at"])
                    report.unattributed[cid] += 1
                    log.warning(
                        "gift of %s subs by %s not attributed: no Kick id for the gifter within %s",
                        row.quantity,
                        row.gifter_username or row.gifter_key,
                        ATTRIBUTION_WINDOW,
                    )
                else:
                    report.pending += 1
    return report


def gift_gifters_named(*, users: list[tuple[int, str]]) -> int:
    """Store names the Kick API gave for gifters known only by id; returns how many."""
    return kick_users_seen(users=[(uid, name, name.lower()) for uid, name in users if name])
