"""Timed messages: create, delete, and the beat job that sends what is due.

``timers_send_due`` may run in two workers at once (a rolling deploy, docs/lessons.md #4): each message is
claimed by a conditional ``UPDATE`` on the ``last_sent_at`` it was read with, and its outbox row
carries a dedupe key per message and interval bucket, so a message goes out at most once per interval.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from django.contrib.auth.models import AnonymousUser, User
from django.db import transaction
from django.utils import timezone

from kickbot.errors import InvalidInput
from kickbot.models import Community
from kickbot.redis_client import get_redis, key
from kickbot.services import audit_record
from kickbot.text import one_line
from outbox.models import OutboxMessage
from outbox.services import outbox_enqueue
from timers.models import TEXT_MAX, TIMER_LIMITS, TimedMessage
from timers.selectors import TimerView, timer_view

log = logging.getLogger(__name__)


def chat_lines_key(community_id: int) -> str:
    """The Redis counter the Kick pipeline increments for every counted chat line."""
    return key("chatlines", community_id)


def clean_timer_text(raw: str) -> str:
    text = one_line(raw)
    if not text:
        raise InvalidInput("Give the message some text.")
    if len(text) > TEXT_MAX:
        raise InvalidInput(f"Kick messages are at most {TEXT_MAX} characters; this one has {len(text)}.")
    return text


def _check_numbers(interval_minutes: int, min_chat_lines: int) -> None:
    low, high = TIMER_LIMITS["interval_minutes"]
    if not low <= interval_minutes <= high:
        raise InvalidInput(f"The interval is {low} to {high} minutes.")
    low, high = TIMER_LIMITS["min_chat_lines"]
    if not low <= min_chat_lines <= high:
        raise InvalidInput(f"Minimum chat lines is {low} to {high}.")


def _own_timer_locked(community_id: int, timer_id: int) -> TimedMessage:
    """The community's timer, locked; another community's id, or one past the column, is not found."""
    row = None
    if 1 <= timer_id < 2**63:
        row = TimedMessage.objects.select_for_update().filter(pk=timer_id, community_id=community_id).first()
    if row is None:
        raise InvalidInput(f"There is no timed message #{timer_id} here.")
    return row


@transaction.atomic
def timed_message_create(
    *,
    community_id: int,
    text: str,
    interval_minutes: int,
    min_chat_lines: int = 0,
    live_only: bool = True,
    actor_label: str,
    actor: User | AnonymousUser | None = None,
) -> TimerView:
    """Add a timed message to the community (validated, audited)."""
    _check_numbers(interval_minutes, min_chat_lines)
    community = Community.objects.get(pk=community_id)
    row = TimedMessage.objects.create(
        community=community,
        text=clean_timer_text(text),
        interval_minutes=interval_minutes,
        min_chat_lines=min_chat_lines,
        live_only=live_only,
        created_by=actor_label[:120],
    )
    audit_record(
        action="timer.create",
        community=community,
        actor=actor,
        actor_label=actor_label,
        target=row,
        data={"interval_minutes": interval_minutes, "min_chat_lines": min_chat_lines, "live_only": live_only},
    )
    return timer_view(row)


@transaction.atomic
def timed_message_delete(
    *, community_id: int, timer_id: int, actor_label: str, actor: User | AnonymousUser | None = None
) -> TimerView:
    """Remove one of the community's timed messages (another community's id is "not found")."""
    row = _own_timer_locked(community_id, timer_id)
    view = timer_view(row)
    audit_record(
        action="timer.delete",
        community=row.community,
        actor=actor,
        actor_label=actor_label,
        target=row,
        data={"text": row.text[:100]},
    )
    row.delete()
    return view


@transaction.atomic
def timed_message_update(
    *,
    community_id: int,
    timer_id: int,
    text: str,
    interval_minutes: int,
    min_chat_lines: int,
    live_only: bool,
    enabled: bool,
    actor_label: str,
    actor: User | AnonymousUser | None = None,
) -> TimerView:
    """Edit one of the community's timed messages (same rules as create); audited."""
    row = _own_timer_locked(community_id, timer_id)
    _check_numbers(interval_minutes, min_chat_lines)
    cleaned = clean_timer_text(text)
    row.text, row.interval_minutes, row.min_chat_lines = cleaned, interval_minutes, min_chat_lines
    row.live_only, row.enabled = live_only, enabled
    row.save()
    audit_record(
        action="timer.update",
        community=row.community,
        actor=actor,
        actor_label=actor_label,
        target=row,
        data={
            "interval_minutes": interval_minutes,
            "min_chat_lines": min_chat_lines,
            "live_only": live_only,
            "enabled": enabled,
        },
    )
    return timer_view(row)


def _chat_line_counts(community_ids: list[int]) -> dict[int, int | None]:
    """Each community's chat line counter (0 when never counted; None when Redis is down)."""
    if not community_ids:
        return {}
    try:
        values = get_redis().mget([chat_lines_key(c) for c in community_ids])
    except Exception as exc:
        log.warning("chat line counters unreadable: %s", type(exc).__name__)
        return dict.fromkeys(community_ids)
    counts: dict[int, int | None] = {}
    for cid, raw in zip(community_ids, values, strict=True):
        try:
            counts[cid] = int(raw) if raw is not None else 0
        except (TypeError, ValueError):
            counts[cid] = 0
    return counts


def timer_claim(*, timer_id: int, expected_last_sent_at: datetime | None, now: datetime, lines: int) -> bool:
    """Mark the message sent at ``now`` if nobody else did since we read it. True: it is ours to send."""
    return (
        TimedMessage.objects.filter(pk=timer_id, enabled=True, last_sent_at=expected_last_sent_at).update(
            last_sent_at=now, lines_at_last_send=lines
        )
        == 1
    )


def _bucket(now: datetime, interval_minutes: int) -> int:
    return int(now.timestamp() // (interval_minutes * 60))


def timers_send_due(*, now: datetime | None = None) -> int:
    """Queue every due timed message as a Kick chat line; returns how many were queued.

    Due: enabled, the interval has passed since the last send, the community is live (for
    live-only messages), and chat saw at least ``min_chat_lines`` counted lines since then.
    """
    now = now or timezone.now()
    rows = list(
        TimedMessage.objects.filter(enabled=True)
        .select_related("community")
        .only(
            "id",
            "text",
            "interval_minutes",
            "min_chat_lines",
            "live_only",
            "last_sent_at",
            "lines_at_last_send",
            "community__id",
            "community__is_live",
        )
    )
    due = [
        r
        for r in rows
        if (r.last_sent_at is None or now - r.last_sent_at >= timedelta(minutes=r.interval_minutes))
        and (r.community.is_live or not r.live_only)
    ]
    counts = _chat_line_counts(sorted({r.community_id for r in due}))
    sent = 0
    for row in due:
        lines = counts.get(row.community_id)
        if row.min_chat_lines:
            if lines is None:
                continue  # can't tell whether chat is active: stay quiet rather than spam
            # A counter below the stored mark was reset (Redis flushed): count from zero.
            since = lines - row.lines_at_last_send if lines >= row.lines_at_last_send else lines
            if since < row.min_chat_lines:
                continue
        with transaction.atomic():
            if not timer_claim(
                timer_id=row.pk, expected_last_sent_at=row.last_sent_at, now=now, lines=lines or 0
            ):
                continue  # another worker sent it
            outbox_enqueue(
                community=row.community,
                kind=OutboxMessage.Kind.KICK_CHAT,
                target=str(row.community_id),
                payload={"text": row.text, "reply_to": None},
                dedupe_key=f"timer:{row.pk}:{row.interval_minutes}:{_bucket(now, row.interval_minutes)}",
            )
        sent += 1
    if sent:
        log.info("queued %s timed messages", sent)
    return sent
