"""Raffle periods: opening one with its commitment, its dates, the settings it copies, purging.

At open a period commits to its server seed (by hash), its rules (``raffle.rules``: rates, caps,
margin, the fallback rule) and its drand round, the first one emitted at least the margin after
``ends_at`` (``docs/draw-proof.md``, "The committed round"). Periods of a community never overlap.
Closing one (the freeze) and the monthly rollover are ``raffle.services.rollover``.
"""

from __future__ import annotations

import logging
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from django.db import connection, transaction
from django.utils import timezone

from kickbot.errors import InvalidInput, NotAllowed
from kickbot.models import Community
from kickbot.months import local_month_start, month_starts_at, next_month_start
from kickbot.services import audit_record
from raffle import announce
from raffle.draw import ALGORITHM_VERSION, new_server_seed
from raffle.draw import seed_hash as make_seed_hash
from raffle.errors import BadDate
from raffle.models import (
    RafflePeriod,
    RaffleSettings,
    RaffleWinner,
    ShuffleWager,
    TicketBalance,
    TicketEntry,
    WatchWindow,
)
from raffle.parsing import shuffle_codes_parse
from raffle.rules import FALLBACK_RULE, REROLL_REASONS, commit_round, committed_margin
from raffle.selectors import raffle_settings_get
from raffle.services.ledger import book_check_open, open_period_lock_or_raise
from watchtime.models import WatchMonthly

log = logging.getLogger(__name__)

MAX_SPAN_DAYS = 366


def _rules(s: RaffleSettings) -> dict[str, Any]:
    return {
        "tickets_per_hour": s.tickets_per_hour,
        "tickets_per_gifted_sub": s.tickets_per_gifted_sub,
        "tickets_per_1000_usd": s.tickets_per_1000_usd,
        "wager_mode": s.wager_mode,
        "shuffle_campaign_codes": shuffle_codes_parse(s.shuffle_campaign_codes),
        "winners": s.winners_count,
        "commit_margin_s": s.commit_margin_seconds,
        "max_rerolls": s.max_rerolls,
        "reroll_reasons": sorted(REROLL_REASONS),
        "fallback_after_s": s.fallback_after_minutes * 60,
        "moderator_cap": s.moderator_cap,
        "prize": s.prize,
        "algorithm": f"draw proof v{ALGORITHM_VERSION} (docs/draw-proof.md)",
        "snapshot": "every viewer's ticket balance when the book closed at ends_at, sorted by Kick user id",
    }


def _overlapping(
    community_id: int, starts_at: datetime, ends_at: datetime, exclude: int | None = None
) -> bool:
    qs = RafflePeriod.objects.filter(community_id=community_id, starts_at__lt=ends_at, ends_at__gt=starts_at)
    return qs.exclude(pk=exclude).exists() if exclude else qs.exists()


def period_open(
    *,
    community: Community,
    starts_at: datetime,
    ends_at: datetime,
    actor_label: str,
    month: date | None = None,
) -> RafflePeriod:
    """Open a period and publish its commitment (seed hash, rules, version, drand round).

    Periods of a community never overlap (checked here and by a trigger): a new one starts at or
    after the end of every earlier one.
    """
    if ends_at <= starts_at:
        raise InvalidInput("The end must be after the start.")
    now = timezone.now()
    s = raffle_settings_get(community_id=community.pk)
    seed = new_server_seed()
    with transaction.atomic():
        if RafflePeriod.objects.filter(community=community, status=RafflePeriod.Status.OPEN).exists():
            raise NotAllowed("A raffle is already open. End it first.")
        if _overlapping(community.pk, starts_at, ends_at):
            raise NotAllowed("Those dates overlap an earlier raffle: start after it ended.")
        period = RafflePeriod.objects.create(
            community=community,
            starts_at=starts_at,
            ends_at=ends_at,
            month=month,
            algorithm_version=ALGORITHM_VERSION,
            server_seed=seed,
            server_seed_hash=make_seed_hash(seed),
            drand_round=commit_round(ends_at, s.commit_margin_seconds),
            rules=_rules(s),
            fallback={
                "kind": "later_round",
                "rule": FALLBACK_RULE.format(after=s.fallback_after_minutes, margin=s.commit_margin_seconds),
                "after_s": s.fallback_after_minutes * 60,
                "margin_s": s.commit_margin_seconds,
            },
            committed_at=now,
        )
        _take_watch_windows(period)
        audit_record(
            action="raffle.period_open",
            community=community,
            actor_label=actor_label,
            target=period,
            data={
                "starts_at": starts_at.isoformat(),
                "ends_at": ends_at.isoformat(),
                "server_seed_hash": period.server_seed_hash,
                "drand_round": period.drand_round,
            },
        )
        announce.period_opened(period=period, settings=s)
    log.info("raffle period %s opened for community %s", period.pk, community.pk)
    return period


def _take_watch_windows(period: RafflePeriod) -> None:
    """A period that starts mid-month owns the month's windows from the minutes already watched.

    Earlier minutes were converted by an earlier period or belong to nobody; the unique window
    per month and viewer means no two periods ever convert the same minute.
    """
    tz = period.community.timezone
    month = local_month_start(period.starts_at, tz)
    month_start = month_starts_at(month, tz)
    if period.starts_at <= month_start:
        return
    rows = list(
        WatchMonthly.objects.filter(community_id=period.community_id, month=month, minutes__gt=0).values_list(
            "kick_user_id", "minutes"
        )
    )
    WatchWindow.objects.bulk_create(
        [
            WatchWindow(
                community_id=period.community_id, month=month, kick_user_id=uid, period=period, base_minutes=m
            )
            for uid, m in rows
        ],
        batch_size=1000,
        update_conflicts=True,
        unique_fields=["community", "month", "kick_user_id"],
        update_fields=["period", "base_minutes"],
    )


def _local_midnight(d: date, tz: str) -> datetime:
    return datetime(d.year, d.month, d.day, tzinfo=ZoneInfo(tz))


def _day_range(
    start: date | None, end: date | None, *, tz: str, now: datetime, default_end: datetime
) -> tuple[datetime, datetime]:
    """``[start 00:00, end + 1 day 00:00)`` in the community's zone; the end date is inclusive.

    No start: now. No end: ``default_end``. The start may not be in the future (a period starts
    earning when it opens), the end must be after the start and in the future, at most a year on.
    """
    starts_at = _local_midnight(start, tz) if start else now
    ends_at = _local_midnight(end, tz) + timedelta(days=1) if end else default_end
    if starts_at > now:
        raise BadDate("The start can't be in the future: a raffle starts when it is opened.")
    if ends_at <= starts_at:
        raise BadDate("The end date must be after the start date.")
    if ends_at <= now:
        raise BadDate("The end date must be in the future.")
    if ends_at - starts_at > timedelta(days=MAX_SPAN_DAYS):
        raise BadDate("A raffle can run for at most a year.")
    return starts_at, ends_at


def period_start(
    *, community_id: int, start: date | None, end: date | None, actor_label: str
) -> RafflePeriod:
    """``rafflestart [start] [end]``: days in the community's zone, end inclusive (``_day_range``);
    no start: now; no end: the end of the month."""
    community = Community.objects.get(pk=community_id)
    now = timezone.now()
    starts_at, ends_at = _day_range(
        start, end, tz=community.timezone, now=now, default_end=next_month_start(now, community.timezone)
    )
    return period_open(community=community, starts_at=starts_at, ends_at=ends_at, actor_label=actor_label)


def period_set_dates(
    *, community_id: int, start: date | None, end: date | None, actor_label: str
) -> RafflePeriod:
    """``rafflesetdate <start> <end>``: new days for the open period (``_day_range``; no start: now).

    The drand round is re-committed (it must still be in the future).
    """
    tz = Community.objects.values_list("timezone", flat=True).get(pk=community_id)
    now = timezone.now()
    starts_at, ends_at = _day_range(start, end, tz=tz, now=now, default_end=now)
    with transaction.atomic():
        period = open_period_lock_or_raise(community_id, missing="There is no open raffle to change.")
        if ends_at <= now:
            raise InvalidInput("The end must be in the future (use raffleend to end the raffle now).")
        book_check_open(period, now)
        if _overlapping(community_id, starts_at, ends_at, exclude=period.pk):
            raise NotAllowed("Those dates overlap an earlier raffle.")
        new_round = commit_round(ends_at, committed_margin(period))
        period.amendments = [
            *period.amendments,
            {
                "at": now.isoformat(),
                "by": actor_label,
                "starts_at": [period.starts_at.isoformat(), starts_at.isoformat()],
                "ends_at": [period.ends_at.isoformat(), ends_at.isoformat()],
                "drand_round": [period.drand_round, new_round],
            },
        ]
        period.starts_at, period.ends_at, period.drand_round = starts_at, ends_at, new_round
        period.save(update_fields=["starts_at", "ends_at", "drand_round", "amendments"])
        audit_record(
            action="raffle.period_dates",
            community=period.community,
            actor_label=actor_label,
            target=period,
            data=period.amendments[-1],
        )
    return period


def raffle_settings_update(*, community_id: int, actor_label: str, **fields: Any) -> RaffleSettings:
    """Change settings (validated by the model's constraints); applies to periods opened afterwards."""
    allowed = {
        "tickets_per_hour",
        "tickets_per_gifted_sub",
        "tickets_per_1000_usd",
        "wager_mode",
        "auto_draw",
        "announce_channel_id",
        "winners_count",
        "commit_margin_seconds",
        "max_rerolls",
        "fallback_after_minutes",
        "moderator_cap",
        "shuffle_campaign_codes",
        "prize",
    }
    unknown = set(fields) - allowed
    if unknown:
        raise TypeError(f"not editable: {sorted(unknown)}")
    with transaction.atomic():
        s = raffle_settings_get(community_id=community_id)
        if "shuffle_campaign_codes" in fields:
            fields["shuffle_campaign_codes"] = ",".join(
                shuffle_codes_parse(str(fields["shuffle_campaign_codes"]))
            )
        for k, v in fields.items():
            setattr(s, k, v)
        s.full_clean(exclude=["community"])
        s.save()
        audit_record(
            action="raffle.settings",
            community=s.community,
            actor_label=actor_label,
            target=s,
            data={k: str(v) for k, v in fields.items()},
        )
    return s


def raffle_periods_purge(*, community_id: int) -> int:
    """Delete every raffle period of a community with its ledger, balances and winners (tests,
    benches, removing a community). The period rows go first: the guards refuse deleting ledger,
    balance or winner rows while their period exists. One transaction (the foreign keys are
    checked at commit). Returns the number of periods deleted."""
    tables = [m._meta.db_table for m in (TicketEntry, TicketBalance, RaffleWinner, ShuffleWager, WatchWindow)]
    with transaction.atomic(), connection.cursor() as cursor:
        ids = list(RafflePeriod.objects.filter(community_id=community_id).values_list("id", flat=True))
        if not ids:
            return 0
        marks = ",".join(["%s"] * len(ids))
        cursor.execute(f"DELETE FROM {RafflePeriod._meta.db_table} WHERE id IN ({marks})", ids)  # noqa: S608
        for table in tables:
            cursor.execute(f"DELETE FROM {table} WHERE period_id IN ({marks})", ids)  # noqa: S608
    return len(ids)
