"""Closing a period and the monthly rollover: the freeze (the book closes, the snapshot is
published, the round is fixed), ending or restarting by hand, and the rollover task's service.

Fairness (``docs/draw-proof.md``, "The book" and "The committed round"; ``docs/fairness.md``): the
book closes by time (no entry effective after ``ends_at``, a trigger refuses it whatever the
status); freezing takes the open period's lock, so no award commits after the snapshot; the drand
round is always emitted at least the committed margin after the book closed (a late or early
close re-commits it, and an amendment says why).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from django.db import transaction
from django.utils import timezone

from kickbot.models import Community
from kickbot.months import local_month_start, month_starts_at, next_month_start
from kickbot.services import audit_record
from raffle import announce
from raffle.draw import build_snapshot
from raffle.draw import round_time as drand_round_time
from raffle.models import RafflePeriod, RolloverRun
from raffle.proof import proof_time
from raffle.rules import commit_round, committed_margin
from raffle.selectors import raffle_settings_get, snapshot_rows
from raffle.services.ledger import open_period_lock, open_period_lock_or_raise
from raffle.services.periods import period_open
from raffle.services.tickets import watchtime_convert_locked

log = logging.getLogger(__name__)


def _freeze_locked(period: RafflePeriod, *, actor_label: str) -> RafflePeriod:
    """Close the book of a locked open period and fix the round (docs/draw-proof.md, "The book",
    "The committed round").

    Before ``ends_at`` (an early end) the end moves to now. The minutes watched up to the end are
    converted in the same transaction. The round is re-committed when the committed one would be
    emitted less than the margin after this close (a late close), and the amendment says why.
    """
    now = timezone.now()
    fields = ["status", "snapshot_hash", "entrants_count", "total_tickets", "frozen_at"]
    early = now < period.ends_at
    if early:
        period.amendments = [
            *period.amendments,
            {
                "at": proof_time(now),
                "by": actor_label[:120],
                "reason": "ended early: the book closes now",
                "ends_at": [proof_time(period.ends_at), proof_time(now)],
            },
        ]
        period.ends_at = now
        period.save(update_fields=["ends_at", "amendments"])
    watchtime_convert_locked(period)
    snap = build_snapshot(snapshot_rows(period_id=period.pk))
    margin = committed_margin(period)
    need = commit_round(now, margin)
    if period.drand_round < need or early:
        late = 0 if early else int((now - period.ends_at).total_seconds())
        why = (
            f"closed {late} s after its end: round {period.drand_round} would be emitted less than "
            f"{margin} s after the close"
            if late > 0
            else f"ended early: round {period.drand_round} is replaced by the first one {margin} s "
            "after the close"
        )
        period.amendments = [
            *period.amendments,
            {
                "at": proof_time(now),
                "by": actor_label[:120],
                "reason": why,
                "drand_round": [period.drand_round, need],
            },
        ]
        period.drand_round = need
        fields += ["drand_round", "amendments"]
    period.status = RafflePeriod.Status.FROZEN
    period.snapshot_hash = snap.snapshot_hash
    period.entrants_count = len(snap)
    period.total_tickets = snap.total
    period.frozen_at = now
    period.save(update_fields=fields)
    audit_record(
        action="raffle.period_freeze",
        community=period.community,
        actor_label=actor_label,
        target=period,
        data={
            "snapshot_hash": snap.snapshot_hash,
            "entrants": len(snap),
            "tickets": snap.total,
            "drand_round": period.drand_round,
        },
    )
    announce.period_frozen(period=period, settings=raffle_settings_get(community_id=period.community_id))
    _schedule_draw(period)
    return period


def _schedule_draw(period: RafflePeriod) -> None:
    """After commit: ask a worker to draw right after the committed round is emitted (auto-draw)."""
    from raffle import tasks  # the tasks call this module: imported when a draw is scheduled

    if not raffle_settings_get(community_id=period.community_id).auto_draw:
        return
    delay = max(drand_round_time(period.drand_round) - timezone.now().timestamp(), 0) + 1
    pid = period.pk
    transaction.on_commit(lambda: tasks.raffle_draw_period.apply_async(args=[pid], countdown=delay))


def period_freeze(*, community_id: int, actor_label: str) -> RafflePeriod:
    """End the open period now (or close it after its end): snapshot published, round fixed."""
    with transaction.atomic():
        period = open_period_lock_or_raise(community_id, missing="There is no open raffle to end.")
        return _freeze_locked(period, actor_label=actor_label)


def period_restart(*, community_id: int, actor_label: str) -> RafflePeriod:
    """End the open period now (drawable) and open a fresh one from now to the same end."""
    with transaction.atomic():
        period = open_period_lock_or_raise(community_id, missing="There is no open raffle to restart.")
        ends_at = period.ends_at
        _freeze_locked(period, actor_label=actor_label)
        now = period.frozen_at or timezone.now()
        if ends_at <= now:
            ends_at = next_month_start(now, period.community.timezone)
        return period_open(
            community=period.community, starts_at=period.ends_at, ends_at=ends_at, actor_label=actor_label
        )


@dataclass(frozen=True)
class RolloverResult:
    ran: bool
    frozen_period_id: int | None
    opened_period_id: int | None


def raffle_rollover(*, community_id: int) -> RolloverResult:
    """The monthly rollover, at most once per community and month (``RolloverRun`` is unique).

    Freezes the open period once it has ended (on any run: a custom period may end mid-month) and,
    once per month, opens the period of the current month with its commitment. Communities that
    never had a raffle are left alone. The draw itself is ``raffle_draw_due``'s job (the beacon is
    only emitted the commit margin after the close).
    """
    community = Community.objects.get(pk=community_id)
    if not RafflePeriod.objects.filter(community=community).exists():
        return RolloverResult(False, None, None)
    now = timezone.now()
    tz = community.timezone
    month = local_month_start(now, tz)
    with transaction.atomic():
        current = open_period_lock(community_id)
        frozen_id = None
        if current is not None and current.ends_at <= now:
            # Any open period past its end, not only on the 1st: a custom period that ends mid-month
            # must stop taking tickets (and get drawn) then, not at next month's rollover.
            _freeze_locked(current, actor_label="system:rollover")
            frozen_id, current = current.pk, None
        _marker, created = RolloverRun.objects.get_or_create(community=community, month=month)
        if not created:
            return RolloverResult(frozen_id is not None, frozen_id, None)
        if current is not None:
            return RolloverResult(True, None, None)  # a custom period still running: leave it
        starts_at = month_starts_at(month, tz)
        if RafflePeriod.objects.filter(community=community, ends_at__gt=starts_at).exists():
            # A period already covered part of this month (ended early, or a custom one): never
            # a second raffle for the month; the next calendar month's rollover opens the next one.
            log.info("rollover %s for community %s: this month already had a raffle", month, community_id)
            return RolloverResult(True, frozen_id, None)
        opened = period_open(
            community=community,
            starts_at=starts_at,
            ends_at=next_month_start(now, tz),
            actor_label="system:rollover",
            month=month,
        )
    log.info("rollover %s for community %s: froze %s, opened %s", month, community_id, frozen_id, opened.pk)
    return RolloverResult(True, frozen_id, opened.pk)
