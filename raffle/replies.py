"""Reply texts shared by Kick chat and Discord (pure functions); arguments are ``raffle.parsing``'s."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from raffle.draw import round_time
from raffle.models import RafflePeriod
from raffle.selectors import BoardRow, PeriodInfo, RaffleStats, TicketsInfo

SOURCE_LABELS = {"watchtime": "watchtime", "gift": "gifted subs", "wager": "Shuffle", "admin": "admin"}


def _day(dt: datetime, tz: str) -> str:
    return dt.astimezone(ZoneInfo(tz)).strftime("%Y-%m-%d")


def _last_day(p: PeriodInfo) -> str:
    return _day(p.ends_at - timedelta(seconds=1), p.timezone)


def tickets_text(info: TicketsInfo, who: str, *, escape: Callable[[str], str] = str) -> str:
    """``who``: already safe for the platform; ``escape``: what makes an admin's reason safe there."""
    parts = [f"{SOURCE_LABELS[s]} {n}" for s, n in info.by_source.items() if n]
    text = f"{who}: {info.total} tickets in raffle #{info.period.id}"
    if parts:
        text += " (" + ", ".join(parts) + ")"
    if info.receipts:
        r = info.receipts[0]
        text += f". Last: {r.amount:+d} {SOURCE_LABELS.get(r.source, r.source)}" + (
            f" ({escape(r.reason)})" if r.reason else ""
        )
    if info.all_tickets and info.total:
        text += f". Odds {info.total / info.all_tickets:.2%} of {info.all_tickets} tickets"
    if info.first_ticket is not None:
        text += f". Your tickets: #{info.first_ticket}-#{info.last_ticket}"
    if info.period.status != "open":
        text += f". This raffle is {info.period.status}"
    return text + "."


def board_text(rows: list[BoardRow]) -> str:
    if not rows:
        return "Nobody has tickets yet."
    return " | ".join(f"{r.rank}. {r.username} {r.total}" for r in rows)


def info_text(p: PeriodInfo, total: int) -> str:
    r = p.rules
    return (
        f"Raffle #{p.id} ({p.status}): {_day(p.starts_at, p.timezone)} to {_last_day(p)} ({p.timezone}). "
        f"Rates: {r.get('tickets_per_hour')}/hour watched, {r.get('tickets_per_gifted_sub')}/gifted sub, "
        f"{r.get('tickets_per_1000_usd')}/$1000 wagered on Shuffle. Tickets: {total}. "
        f"Commitment {p.server_seed_hash[:16]}…, drand round {p.drand_round}. {p.url}"
    )


def closed_text(period: RafflePeriod) -> str:
    """The reply to raffleend: the snapshot and when the committed round comes (about 30 s)."""
    due = round_time(period.drand_round)
    return (
        f"Raffle #{period.pk} is closed: {period.entrants_count} viewers, {period.total_tickets} tickets, "
        f"snapshot `{period.snapshot_hash}`. The draw uses drand round {period.drand_round}, emitted "
        f"<t:{int(due)}:T> (<t:{int(due)}:R>); raffledraw draws as soon as it is out."
    )


def stats_text(s: RaffleStats) -> str:
    parts = ", ".join(f"{SOURCE_LABELS[k]} {v}" for k, v in s.by_source.items())
    return f"Raffle #{s.period.id}: {s.entrants} viewers hold {s.total} tickets ({parts})."
