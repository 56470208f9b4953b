"""Calendar months in a community's time zone: the one home of month arithmetic.

A month is named by its first day (a ``date``), counted in the community's time zone: watchtime
credits the month of a tick's bucket, the raffle's monthly periods start and end at local midnight
of the 1st. Pure functions of the standard library; nothing here imports an app, so every app may
use it.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo


def local_month_start(when: datetime, tz: str) -> date:
    """The first day of ``when``'s month in the time zone ``tz`` (``when`` aware)."""
    return when.astimezone(ZoneInfo(tz)).date().replace(day=1)


def month_after(month: date) -> date:
    """The first day of the month after ``month``'s."""
    return (month.replace(day=28) + timedelta(days=4)).replace(day=1)


def month_before(month: date) -> date:
    """The first day of the month before ``month``'s."""
    return (month.replace(day=1) - timedelta(days=1)).replace(day=1)


def month_starts_at(month: date, tz: str) -> datetime:
    """The instant ``month`` begins: local midnight of its first day in ``tz`` (aware)."""
    return datetime(month.year, month.month, 1, tzinfo=ZoneInfo(tz))


def next_month_start(when: datetime, tz: str) -> datetime:
    """The instant the month after ``when``'s begins in ``tz``: the end of ``when``'s month."""
    return month_starts_at(month_after(local_month_start(when, tz)), tz)


def months_between(starts_at: datetime, ends_at: datetime, tz: str) -> list[date]:
    """First days (time zone ``tz``) of every month the half-open range ``[starts_at, ends_at)`` touches."""
    month = local_month_start(starts_at, tz)
    last = local_month_start(ends_at - timedelta(microseconds=1), tz)
    months = []
    while month <= last:
        months.append(month)
        month = month_after(month)
    return months


def month_label(month: date) -> str:
    """``2026-03``: the month in keys and labels."""
    return f"{month:%Y-%m}"
