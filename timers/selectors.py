"""Reads for the bot and the pages: plain dataclasses."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from timers.models import TimedMessage


@dataclass(frozen=True)
class TimerView:
    id: int
    text: str
    interval_minutes: int
    min_chat_lines: int
    live_only: bool
    enabled: bool
    last_sent_at: datetime | None


def timer_view(row: TimedMessage) -> TimerView:
    return TimerView(
        id=row.pk,
        text=row.text,
        interval_minutes=row.interval_minutes,
        min_chat_lines=row.min_chat_lines,
        live_only=row.live_only,
        enabled=row.enabled,
        last_sent_at=row.last_sent_at,
    )


def timed_messages_list(*, community_id: int) -> list[TimerView]:
    """The community's timed messages (and only its own), oldest first."""
    return [timer_view(r) for r in TimedMessage.objects.filter(community_id=community_id).order_by("id")]
