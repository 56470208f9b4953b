"""Ticket sources: watched minutes, gifted subs, tickets given or removed by hand, forgetting a viewer.

Each writes through the ledger (``raffle.services.ledger``) under the open period's lock, keyed so
that a replay awards nothing. Rates are the period's committed rules (``raffle.rules``). Wagers on
Shuffle are ``raffle.services.shuffle``.
"""

from __future__ import annotations

import logging
import uuid
from collections import defaultdict
from datetime import datetime, timedelta

from django.db import transaction
from django.db.models import Sum
from django.utils import timezone

from kickbot.errors import InvalidInput
from kickbot.live import live_publish
from kickbot.months import local_month_start, month_after, month_starts_at, months_between
from kickbot.services import audit_record
from raffle.models import RafflePeriod, TicketBalance, TicketEntry, WatchWindow
from raffle.parsing import AMOUNT_HINT
from raffle.rules import committed_rate
from raffle.selectors import kick_user_by_name, usernames_for
from raffle.services.ledger import (
    REASON_MAX,
    Award,
    book_check_open,
    book_open,
    ledger_append,
    open_period_lock,
    open_period_lock_or_raise,
)
from watchtime.models import WatchMonthly, WatchTick

log = logging.getLogger(__name__)

Source = TicketEntry.Source
MAX_ADMIN_AMOUNT = 1_000_000
MAX_GIFT_QUANTITY = 10_000


def tickets_convert_watchtime(*, community_id: int) -> int:
    """Convert watched minutes in the open period: ``due = floor(minutes * rate / 60) - awarded``.

    Key per viewer: ``"<kick_user_id>:<new running total>"``, so leftover minutes carry over and
    a re-run awards nothing. Minutes come from the period's conversion windows (``WatchWindow``,
    unique per month and viewer: no minute is converted by two periods). Returns the tickets awarded.
    """
    with transaction.atomic():
        period = open_period_lock(community_id)
        if period is None or timezone.now() < period.starts_at:
            return 0
        return watchtime_convert_locked(period)


def _watch_effective_at(period: RafflePeriod, now: datetime) -> datetime | None:
    """When the minutes watched so far were earned, or None if some were earned after the end.

    Before the end: now. After it (a late beat or freeze): the end, but only if no watchtime tick
    credited minutes after it; such minutes cannot be told apart from earlier ones in the monthly
    totals, so the minutes since the last conversion are not converted at all (docs/fairness.md).
    """
    if now <= period.ends_at:
        return now
    # Ticks credit the month of their bucket: only ticks of the period's last month can have put
    # minutes after the end into the totals the period reads (a monthly period: none but a tick
    # straddling midnight; an early end: any tick since).
    tz = period.community.timezone
    last_month = local_month_start(period.ends_at - timedelta(microseconds=1), tz)
    next_month_at = month_starts_at(month_after(last_month), tz)
    last = (
        WatchTick.objects.filter(
            community_id=period.community_id,
            bucket__gte=period.ends_at - timedelta(hours=1),
            bucket__lt=next_month_at,
        )
        .order_by("-bucket")
        .values_list("bucket", "minutes")
        .first()
    )
    if last is not None and last[0] + timedelta(minutes=last[1]) > period.ends_at:
        return None
    return period.ends_at


def watchtime_convert_locked(period: RafflePeriod) -> int:
    """Convert the minutes watched in the locked open period so far (``tickets_convert_watchtime``;
    the freeze calls it under its lock, in the snapshot's transaction)."""
    now = timezone.now()
    effective_at = _watch_effective_at(period, now)
    if effective_at is None:
        log.warning(
            "raffle %s: minutes after its end are mixed in; the last ones are not converted", period.pk
        )
        return 0
    community_id = period.community_id
    rate = committed_rate(period, "tickets_per_hour")
    months = months_between(period.starts_at, period.ends_at, period.community.timezone)
    rows = list(
        WatchMonthly.objects.filter(community_id=community_id, month__in=months, minutes__gt=0).values_list(
            "month", "kick_user_id", "minutes"
        )
    )
    windows = {
        (m, uid): (pid, base)
        for m, uid, pid, base in WatchWindow.objects.filter(
            community_id=community_id, month__in=months
        ).values_list("month", "kick_user_id", "period_id", "base_minutes")
    }
    fresh = [
        WatchWindow(community_id=community_id, month=m, kick_user_id=uid, period=period)
        for m, uid, _ in rows
        if (m, uid) not in windows
    ]
    WatchWindow.objects.bulk_create(fresh, batch_size=1000)
    watched: dict[int, int] = defaultdict(int)
    for m, uid, minutes in rows:
        pid, base = windows.get((m, uid), (period.pk, 0))
        if pid == period.pk and minutes > base:
            watched[uid] += minutes - base
    awarded = dict(
        TicketBalance.objects.filter(period=period, watchtime__gt=0).values_list("kick_user_id", "watchtime")
    )
    awards = []
    for uid, minutes in watched.items():
        have = awarded.get(uid, 0)
        due = minutes * rate // 60 - have
        if due > 0:
            awards.append(Award(uid, Source.WATCHTIME, due, f"{uid}:{have + due}", f"{minutes} min watched"))
    total = ledger_append(period, awards, effective_at=effective_at)
    if total:
        live_publish(
            community_id=community_id,
            kind="raffle.tickets",
            data={"text": f"Watchtime: +{total} tickets to {len(awards)} viewer(s)"},
        )
        log.info("watchtime: %s tickets to %s viewers in period %s", total, len(awards), period.pk)
    return total


def tickets_award_gift(
    *,
    community_id: int,
    gifter_id: int | None,
    gifter_username: str | None,
    quantity: int,
    event_key: str,
) -> int:
    """Award ``quantity * rate`` to the gifter. Key: the gift's ``event_key`` (in any period).

    Anonymous or unresolvable gifters are logged, not awarded. Returns the tickets awarded.
    """
    if type(quantity) is not int or not 0 < quantity <= MAX_GIFT_QUANTITY:
        log.warning("gift %s ignored: quantity %r out of range", event_key, quantity)
        return 0
    if not event_key:
        raise ValueError("event_key is required")
    uid = gifter_id
    if uid is None:
        name = (gifter_username or "").strip()
        if not name or name.startswith("~"):
            log.info("anonymous gift of %s subs not awarded (%s)", quantity, event_key)
            return 0
        uid = kick_user_by_name(username=name)
        if uid is None:
            log.info("gift of %s subs not awarded: gifter %s is not a known Kick user", quantity, name)
            return 0
    key = event_key[:200]
    with transaction.atomic():
        period = open_period_lock(community_id)
        if period is None:
            log.info("gift of %s subs not awarded: no open raffle in community %s", quantity, community_id)
            return 0
        # A replay in a later period must not count again: the key is checked across periods.
        if TicketEntry.objects.filter(
            period__community_id=community_id, source=Source.GIFT, source_key=key
        ).exists():
            return 0
        amount = quantity * committed_rate(period, "tickets_per_gifted_sub")
        if amount <= 0:
            return 0
        ledger_append(period, [Award(uid, Source.GIFT, amount, key, f"{quantity} gifted sub(s)")])
        live_publish(
            community_id=community_id,
            kind="raffle.tickets",
            data={"text": f"{gifter_username or uid} gifted {quantity} sub(s): +{amount} tickets"},
        )
    log.info("gift: %s tickets to %s for %s subs", amount, uid, quantity)
    return amount


def tickets_amount_check(amount: object) -> int:
    """A number of tickets given or removed by hand: an int (not a bool, not text: parse it first,
    ``raffle.parsing.parse_ticket_amount``) from 1 to ``MAX_ADMIN_AMOUNT``."""
    if type(amount) is not int:
        raise InvalidInput(AMOUNT_HINT)
    if not 0 < amount <= MAX_ADMIN_AMOUNT:
        raise InvalidInput(f"The amount must be between 1 and {MAX_ADMIN_AMOUNT:,}.")
    return amount


def _clean_reason(reason: str) -> str:
    text = " ".join((reason or "").split())
    if len(text) > REASON_MAX:
        raise InvalidInput(f"Keep the reason under {REASON_MAX} characters.")
    return text


def tickets_admin_adjust(
    *,
    community_id: int,
    kick_user_id: int,
    amount: int,
    remove: bool,
    reason: str,
    actor_label: str,
    request_key: str | None = None,
    moderator: bool = False,
) -> int:
    """Give (or remove) tickets by hand, audited. Removal never goes below zero.

    ``request_key`` (e.g. the Discord message id) makes a retried command a no-op; the same key
    with a different request is refused with a clear error. What one ``moderator`` (not an admin;
    by ``actor_label``) gives in one period is capped by the committed ``moderator_cap``.
    Returns the new balance.
    """
    value = tickets_amount_check(amount)
    text = _clean_reason(reason)
    signed = -value if remove else value
    rk = request_key or uuid.uuid4().hex
    key = f"{'remove' if remove else 'give'}:{rk}"
    with transaction.atomic():
        period = open_period_lock_or_raise(community_id, missing="There is no open raffle right now.")
        bal = TicketBalance.objects.filter(period=period, kick_user_id=kick_user_id).first()
        have = bal.total if bal else 0
        earlier = (
            TicketEntry.objects.filter(
                period=period, source=Source.ADMIN, source_key__in=[f"give:{rk}", f"remove:{rk}"]
            )
            .values_list("kick_user_id", "amount", "reason")
            .first()
        )
        if earlier is not None:
            if earlier == (kick_user_id, signed, text[:REASON_MAX]):
                return have
            raise InvalidInput(
                "That request was already used for a different change "
                f"({earlier[1]:+d} tickets to Kick user {earlier[0]}); nothing changed. Send a new command."
            )
        book_check_open(period, timezone.now())
        if remove and value > have:
            raise InvalidInput(f"They have only {have} tickets; you can remove at most {have}.")
        if moderator and not remove:
            cap = int(period.rules.get("moderator_cap", MAX_ADMIN_AMOUNT))
            given = (
                TicketEntry.objects.filter(
                    period=period, source=Source.ADMIN, actor_label=actor_label[:120], amount__gt=0
                ).aggregate(s=Sum("amount"))["s"]
                or 0
            )
            if given + value > cap:
                raise InvalidInput(
                    f"A moderator can give at most {cap:,} tickets per raffle; you have given {given:,}, "
                    f"so at most {max(cap - given, 0):,} more."
                )
        ledger_append(period, [Award(kick_user_id, Source.ADMIN, signed, key, text, actor_label)])
        audit_record(
            action="raffle.tickets_remove" if remove else "raffle.tickets_give",
            community=period.community,
            actor_label=actor_label,
            target=period,
            data={"kick_user_id": kick_user_id, "amount": signed, "reason": text},
        )
        who = usernames_for([kick_user_id]).get(kick_user_id, str(kick_user_id))
        verb = f"removed {value} tickets from" if remove else f"gave {value} tickets to"
        live_publish(
            community_id=community_id,
            kind="raffle.tickets",
            data={"text": f"{actor_label} {verb} {who}" + (f" ({text})" if text else "")},
        )
    return have + signed


def tickets_forget(*, kick_user_id: int, actor_label: str) -> int:
    """A forgotten viewer's tickets in every open period are removed by a ledger entry (the ledger
    is append-only; closed periods keep them, their proofs need them). Returns the tickets removed."""
    removed = 0
    for community_id in RafflePeriod.objects.filter(
        status=RafflePeriod.Status.OPEN, balances__kick_user_id=kick_user_id, balances__total__gt=0
    ).values_list("community_id", flat=True):
        with transaction.atomic():
            period = open_period_lock(community_id)
            bal = TicketBalance.objects.filter(period=period, kick_user_id=kick_user_id).first()
            if period is None or bal is None or bal.total <= 0 or not book_open(period, timezone.now()):
                continue
            key = f"forget:{kick_user_id}:{bal.total}"
            award = Award(
                kick_user_id, Source.ADMIN, -bal.total, key, "the viewer asked to be forgotten", actor_label
            )
            removed += bal.total
            ledger_append(period, [award])
    return removed
