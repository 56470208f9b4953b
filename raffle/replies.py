"""Command argument parsing and reply texts shared by Kick chat and Discord (pure functions)."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from kickbot.errors import InvalidInput
from raffle.draw import round_time
from raffle.errors import BadDate
from raffle.models import RafflePeriod
from raffle.selectors import BoardRow, PeriodInfo, RaffleStats, TicketsInfo

DATE_RE = re.compile(
    r"([0-9]{4})-([0-9]{2})-([0-9]{2})"
)  # ASCII digits only (\\d also matches full-width digits)
MAX_SPAN_DAYS = 366
BOARD_DEFAULT, BOARD_MAX = 10, 25
SOURCE_LABELS = {"watchtime": "watchtime", "gift": "gifted subs", "wager": "Shuffle", "admin": "admin"}


def parse_date(text: str) -> date:
    raw = (text or "").strip()
    m = DATE_RE.fullmatch(raw)
    if not m:
        raise BadDate("Dates look like 2026-12-01 (YYYY-MM-DD).")
    try:
        return date(int(m[1]), int(m[2]), int(m[3]))
    except ValueError:
        raise BadDate("That date doesn't exist. Dates look like 2026-12-01 (YYYY-MM-DD).") from None


def local_midnight(d: date, tz: str) -> datetime:
    return datetime(d.year, d.month, d.day, tzinfo=ZoneInfo(tz))


def parse_range(
    start: str | None, end: str | None, *, tz: str, now: datetime, default_end: datetime
) -> tuple[datetime, datetime]:
    """``[start 00:00, end + 1 day 00:00)`` in the community's zone; the end date is inclusive.

    No start: now. No end: ``default_end``. The start may not be in the future (a period starts
    earning when it opens), the end must be after the start and in the future, at most a year on.
    """
    starts_at = local_midnight(parse_date(start), tz) if start else now
    ends_at = local_midnight(parse_date(end), tz) + timedelta(days=1) if end else default_end
    if starts_at > now:
        raise BadDate("The start can't be in the future: a raffle starts when it is opened.")
    if ends_at <= starts_at:
        raise BadDate("The end date must be after the start date.")
    if ends_at <= now:
        raise BadDate("The end date must be in the future.")
    if ends_at - starts_at > timedelta(days=MAX_SPAN_DAYS):
        raise BadDate("A raffle can run for at most a year.")
    return starts_at, ends_at


def parse_board_size(raw: str | None) -> int:
    if raw is None or raw == "":
        return BOARD_DEFAULT
    text = raw.strip()
    if not re.fullmatch(r"[0-9]{1,3}", text) or not 1 <= int(text) <= BOARD_MAX:
        raise InvalidInput(f"Show 1 to {BOARD_MAX} places, like raffleboard 10.")
    return int(text)


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
