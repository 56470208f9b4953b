"""Outbox services: enqueue in the cause's transaction; claim, mark sent or failed from the bot.

Claiming is a conditional ``UPDATE`` (pending → sending, or a stale sending claim → ours), so two
bot processes never send the same row. A claim older than ``STALE_CLAIM_SECONDS`` is reclaimable:
a process that died mid-send loses its rows to the next one (at-least-once, bounded by the claim).

A row with ``expires_at`` that is still unsent by then is marked ``expired`` by the next claim pass
instead of being claimed (Kick chat replies: a reply minutes after its command is noise).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone

from kickbot.models import Community
from outbox.models import OutboxMessage

log = logging.getLogger(__name__)

STALE_CLAIM_SECONDS = 60
DISCORD_KINDS = (
    OutboxMessage.Kind.DISCORD_MESSAGE,
    OutboxMessage.Kind.DISCORD_EDIT,
    OutboxMessage.Kind.DISCORD_ROLE_ADD,
    OutboxMessage.Kind.DISCORD_ROLE_REMOVE,
)


def _max_attempts() -> int:
    return int(getattr(settings, "OUTBOX_MAX_ATTEMPTS", 8))


@dataclass(frozen=True)
class OutboxItem:
    """A claimed row, as plain values for async code."""

    id: int
    community_id: int | None
    guild_id: int | None  # the community's Discord guild: sends never leave it
    kind: str
    target: str
    payload: dict[str, Any]
    attempts: int
    expires_at: datetime | None = None


def outbox_enqueue(
    *,
    community: Community | None,
    kind: str,
    target: str | int,
    payload: dict[str, Any],
    dedupe_key: str | None = None,
    expires_at: datetime | None = None,
) -> OutboxMessage:
    """Queue one message. Call inside the transaction of its cause; ``dedupe_key`` makes it once-only;
    ``expires_at``: never sent after that (marked expired)."""
    if kind not in OutboxMessage.Kind.values:
        raise ValueError(f"unknown outbox kind {kind!r}")
    fields = {
        "community": community,
        "kind": kind,
        "target": str(target),
        "payload": payload,
        "expires_at": expires_at,
    }
    if dedupe_key is None:
        return OutboxMessage.objects.create(**fields)
    # get_or_create runs the insert in a savepoint, so a duplicate never breaks the caller's transaction.
    row, _created = OutboxMessage.objects.get_or_create(dedupe_key=dedupe_key, defaults=fields)
    return row


def _claimable(now: Any) -> Q:
    stale = now - timedelta(seconds=STALE_CLAIM_SECONDS)
    return Q(status=OutboxMessage.Status.PENDING, next_attempt_at__lte=now) | Q(
        status=OutboxMessage.Status.SENDING, claimed_at__lt=stale
    )


def outbox_claim(
    *,
    worker_id: str,
    limit: int = 20,
    kinds: tuple[str, ...] = DISCORD_KINDS,
    community_ids: list[int] | None = None,
) -> list[OutboxItem]:
    """Claim up to ``limit`` due rows of ``kinds`` for ``worker_id``; a row goes to one claimer only.

    The ``UPDATE`` repeats the claimable condition, so of two racing claimers only the first to
    write a row wins it; the loser's ``UPDATE`` matches nothing for that row.
    """
    if not worker_id:
        raise ValueError("worker_id is required")
    now = timezone.now()
    ours = OutboxMessage.objects.filter(kind__in=kinds)
    if community_ids is not None:  # e.g. Kick chat: only the communities whose ingestion we hold
        ours = ours.filter(community_id__in=community_ids)
    # Past its deadline and not being sent right now (a backoff wait included): never sent.
    expired = ours.filter(
        Q(status=OutboxMessage.Status.PENDING)
        | Q(status=OutboxMessage.Status.SENDING, claimed_at__lt=now - timedelta(seconds=STALE_CLAIM_SECONDS)),
        expires_at__lte=now,
    ).update(status=OutboxMessage.Status.EXPIRED, claimed_by="", claimed_at=None, last_error="expired unsent")
    if expired:
        log.info("%s outbox messages expired before they could be sent", expired)
    due = ours.filter(_claimable(now)).exclude(expires_at__lte=now)
    candidates = list(due.order_by("id").values_list("id", flat=True)[:limit])
    if not candidates:
        return []
    with transaction.atomic():
        OutboxMessage.objects.filter(_claimable(now), pk__in=candidates).update(
            status=OutboxMessage.Status.SENDING,
            claimed_by=worker_id,
            claimed_at=now,
            attempts=F("attempts") + 1,
        )
    rows = (
        OutboxMessage.objects.filter(
            pk__in=candidates,
            status=OutboxMessage.Status.SENDING,
            claimed_by=worker_id,
            claimed_at=now,
        )
        .select_related("community")
        .order_by("id")
    )
    return [
        OutboxItem(
            id=r.pk,
            community_id=r.community_id,
            guild_id=r.community.discord_guild_id if r.community else None,
            kind=r.kind,
            target=r.target,
            payload=r.payload,
            attempts=r.attempts,
            expires_at=r.expires_at,
        )
        for r in rows
    ]


def outbox_mark_sent(*, message_id: int, worker_id: str) -> bool:
    """Record a send. False when the claim was lost (another process reclaimed the row)."""
    updated = OutboxMessage.objects.filter(
        pk=message_id, status=OutboxMessage.Status.SENDING, claimed_by=worker_id
    ).update(status=OutboxMessage.Status.SENT, sent_at=timezone.now(), last_error="")
    return updated == 1


def outbox_mark_expired(*, message_id: int, worker_id: str) -> bool:
    """Give up a claimed row whose deadline passed before it could be sent. False: the claim was lost."""
    updated = OutboxMessage.objects.filter(
        pk=message_id, status=OutboxMessage.Status.SENDING, claimed_by=worker_id
    ).update(status=OutboxMessage.Status.EXPIRED, claimed_by="", claimed_at=None, last_error="expired unsent")
    return updated == 1


def outbox_retry_delay(attempts: int) -> timedelta:
    """Backoff after the ``attempts``-th failure: 5 s, 10 s, 20 s, ... capped at 10 minutes."""
    return timedelta(seconds=min(5 * 2 ** max(attempts - 1, 0), 600))


def outbox_mark_failed(*, message_id: int, worker_id: str, error: str, retry: bool = True) -> str | None:
    """Record a failed send: back to pending with backoff, or failed for good after the last attempt.

    Returns the new status, or None when the claim was lost.
    """
    row = (
        OutboxMessage.objects.filter(pk=message_id, status=OutboxMessage.Status.SENDING, claimed_by=worker_id)
        .only("attempts")
        .first()
    )
    if row is None:
        return None
    give_up = not retry or row.attempts >= _max_attempts()
    status = OutboxMessage.Status.FAILED if give_up else OutboxMessage.Status.PENDING
    updated = OutboxMessage.objects.filter(
        pk=message_id, status=OutboxMessage.Status.SENDING, claimed_by=worker_id
    ).update(
        status=status,
        last_error=error[:2000],
        next_attempt_at=timezone.now() + outbox_retry_delay(row.attempts),
        claimed_by="",
        claimed_at=None,
    )
    if not updated:
        return None
    if give_up:
        log.warning("outbox message %s failed for good after %s attempts", message_id, row.attempts)
    return str(status)


def kick_chat_enqueue(
    *,
    community_id: int,
    text: str,
    reply_to: str | None = None,
    dedupe_key: str | None = None,
    expires_at: datetime | None = None,
) -> int:
    """Queue a Kick chat line for the community (sent by the bot holding its ingestion lease)."""
    row = outbox_enqueue(
        community=Community.objects.get(pk=community_id),
        kind=OutboxMessage.Kind.KICK_CHAT,
        target=str(community_id),
        payload={"text": text, "reply_to": reply_to},
        dedupe_key=dedupe_key,
        expires_at=expires_at,
    )
    return row.pk


def kick_reply_expires_at(said_at: datetime) -> datetime:
    """When a reply to a chat message said at ``said_at`` (its own time, clamped) is no longer worth
    sending: ``KICK_REPLY_TTL_SECONDS`` (90) later."""
    return said_at + timedelta(seconds=int(getattr(settings, "KICK_REPLY_TTL_SECONDS", 90)))
