"""Chart selectors for the overview: one per chart, each one or two aggregate queries.

Each returns a plain dict ``{"labels": [...], "datasets": [{"label": str, "data": [int, ...]}]}``
ready for ``json_script`` and Chart.js, zero-filled so every label has a value. Days and hours
are UTC (the axis says so): the ticket rollup is kept in UTC days.

Indexes and pre-aggregations used:
- watchtime: ``watchtick_once`` (community, bucket), at most 1,440 ticks a day;
- tickets: ``dashboard.TicketDay`` (summed once per ledger entry by ``ticket_days_refresh``) plus
  the entries after ``TicketRollupState.last_entry_id`` (primary-key range scan), never a scan
  of the whole ledger;
- slot requests: ``slotrequest_queue`` (community, status, created_at);
- link sign-ups: ``audit_comm_created`` (community, -created_at) on ``link.created`` rows.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, date, datetime, timedelta
from typing import Any

from django.db.models import Count, F, Sum
from django.db.models.functions import TruncDate, TruncHour
from django.utils import timezone

from dashboard.models import TicketDay, TicketRollupState
from kickbot.models import AuditLog
from raffle.models import TicketEntry
from slots.models import SlotRequest
from watchtime.models import WatchTick

DAYS = 30
SOURCES = ("watchtime", "gift", "wager", "admin")
SOURCE_LABELS = {"watchtime": "Watchtime", "gift": "Gifted subs", "wager": "Shuffle wagers", "admin": "Admin"}

Chart = dict[str, Any]


def _days(now: datetime, days: int = DAYS) -> list[date]:
    today = now.astimezone(UTC).date()
    return [today - timedelta(days=days - 1 - i) for i in range(days)]


def _start(days: list[date]) -> datetime:
    return datetime(days[0].year, days[0].month, days[0].day, tzinfo=UTC)


def _as_date(value: Any) -> date:
    # SQLite returns TruncDate as a string in some versions; Postgres as a date.
    return value if isinstance(value, date) else date.fromisoformat(str(value))


def watch_minutes_per_day(*, community_id: int, now: datetime | None = None) -> Chart:
    """Viewer-minutes credited per UTC day: sum of ``viewers * minutes`` over the day's ticks."""
    days = _days(now or timezone.now())
    rows = (
        WatchTick.objects.filter(community_id=community_id, bucket__gte=_start(days))
        .annotate(day=TruncDate("bucket", tzinfo=UTC))
        .values("day")
        .annotate(total=Sum(F("viewers") * F("minutes")))
    )
    by_day = {_as_date(r["day"]): int(r["total"] or 0) for r in rows}
    return {
        "labels": [d.isoformat() for d in days],
        "datasets": [{"label": "Viewer-minutes", "data": [by_day.get(d, 0) for d in days]}],
    }


def tickets_per_day(*, community_id: int, now: datetime | None = None) -> Chart:
    """Tickets per UTC day and source (removals count negative), from the rollup plus live entries."""
    days = _days(now or timezone.now())
    start = _start(days)
    totals: dict[tuple[date, str], int] = defaultdict(int)
    for day, source, amount in TicketDay.objects.filter(
        community_id=community_id, day__gte=days[0]
    ).values_list("day", "source", "amount"):
        totals[(_as_date(day), source)] += int(amount)
    last_id = (
        TicketRollupState.objects.filter(community_id=community_id)
        .values_list("last_entry_id", flat=True)
        .first()
        or 0
    )
    live = (
        TicketEntry.objects.filter(id__gt=last_id, period__community_id=community_id, created_at__gte=start)
        .annotate(day=TruncDate("created_at", tzinfo=UTC))
        .values("day", "source")
        .annotate(total=Sum("amount"))
    )
    for r in live:
        totals[(_as_date(r["day"]), r["source"])] += int(r["total"] or 0)
    return {
        "labels": [d.isoformat() for d in days],
        "datasets": [
            {"label": SOURCE_LABELS[s], "data": [totals.get((d, s), 0) for d in days]} for s in SOURCES
        ],
    }


def slot_requests_per_hour(
    *, community_id: int, now: datetime | None = None, hours: int = DAYS * 24
) -> Chart:
    """Slot requests per UTC hour over the last ``hours`` hours (30 days by default)."""
    now = (now or timezone.now()).astimezone(UTC)
    top = now.replace(minute=0, second=0, microsecond=0)
    slots = [top - timedelta(hours=hours - 1 - i) for i in range(hours)]
    rows = (
        SlotRequest.objects.filter(community_id=community_id, created_at__gte=slots[0])
        .annotate(hour=TruncHour("created_at", tzinfo=UTC))
        .values("hour")
        .annotate(n=Count("id"))
    )
    counts: dict[datetime, int] = {}
    for r in rows:
        hour = r["hour"]
        if not isinstance(hour, datetime):
            hour = datetime.fromisoformat(str(hour))
        counts[hour.astimezone(UTC) if hour.tzinfo else hour.replace(tzinfo=UTC)] = int(r["n"] or 0)
    return {
        "labels": [h.strftime("%m-%d %H:00") for h in slots],
        "datasets": [{"label": "Slot requests", "data": [counts.get(h, 0) for h in slots]}],
    }


def link_signups_per_day(*, community_id: int, now: datetime | None = None) -> Chart:
    """New Discord ↔ Kick links made through this community's link flow, per UTC day."""
    days = _days(now or timezone.now())
    rows = (
        AuditLog.objects.filter(
            community_id=community_id, action="link.created", created_at__gte=_start(days)
        )
        .annotate(day=TruncDate("created_at", tzinfo=UTC))
        .values("day")
        .annotate(n=Count("id"))
    )
    by_day = {_as_date(r["day"]): int(r["n"] or 0) for r in rows}
    return {
        "labels": [d.isoformat() for d in days],
        "datasets": [{"label": "New links", "data": [by_day.get(d, 0) for d in days]}],
    }


def slot_requests_by_hour_of_day(*, community_id: int, days: int = 30, now: datetime | None = None) -> Chart:
    """When viewers request slots: requests per UTC hour of the day over the last ``days`` days."""
    now = now or timezone.now()
    rows = (
        SlotRequest.objects.filter(community_id=community_id, created_at__gte=now - timedelta(days=days))
        .annotate(hour=TruncHour("created_at", tzinfo=UTC))
        .values("hour")
        .annotate(n=Count("id"))
    )
    per_hour = [0] * 24
    for r in rows:
        hour = r["hour"] if isinstance(r["hour"], datetime) else datetime.fromisoformat(str(r["hour"]))
        per_hour[hour.hour] += int(r["n"] or 0)
    return {
        "labels": [f"{h:02d}:00" for h in range(24)],
        "datasets": [{"label": "Requests", "data": per_hour}],
    }
