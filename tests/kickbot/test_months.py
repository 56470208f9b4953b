"""Month arithmetic in a time zone (kickbot.months): the one copy watchtime and the raffle share."""

from __future__ import annotations

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

from kickbot.months import (
    local_month_start,
    month_after,
    month_before,
    month_label,
    month_starts_at,
    months_between,
    next_month_start,
)


def test_the_month_of_an_instant_is_the_month_in_the_time_zone() -> None:
    # 1 March 03:00 UTC is still 28 February in New York.
    when = datetime(2026, 3, 1, 3, 0, tzinfo=UTC)
    assert local_month_start(when, "UTC") == date(2026, 3, 1)
    assert local_month_start(when, "America/New_York") == date(2026, 2, 1)


def test_months_after_and_before_cross_the_year() -> None:
    assert month_after(date(2026, 12, 1)) == date(2027, 1, 1)
    assert month_after(date(2026, 1, 31)) == date(2026, 2, 1)
    assert month_before(date(2026, 1, 1)) == date(2025, 12, 1)
    assert month_before(date(2026, 3, 31)) == date(2026, 2, 1)


def test_a_month_starts_at_local_midnight_of_its_first_day() -> None:
    start = month_starts_at(date(2026, 11, 1), "Europe/Berlin")
    assert start == datetime(2026, 10, 31, 23, 0, tzinfo=UTC)
    assert next_month_start(datetime(2026, 11, 30, 23, 30, tzinfo=UTC), "Europe/Berlin") == datetime(
        2027, 1, 1, tzinfo=ZoneInfo("Europe/Berlin")
    )


def test_months_between_is_half_open() -> None:
    tz = "UTC"
    assert months_between(
        month_starts_at(date(2026, 11, 1), tz), month_starts_at(date(2027, 1, 1), tz), tz
    ) == [
        date(2026, 11, 1),
        date(2026, 12, 1),
    ]
    mid = datetime(2026, 11, 15, tzinfo=UTC)
    assert months_between(mid, datetime(2026, 12, 1, 0, 0, 1, tzinfo=UTC), tz) == [
        date(2026, 11, 1),
        date(2026, 12, 1),
    ]


def test_month_label() -> None:
    assert month_label(date(2026, 3, 1)) == "2026-03"
