"""Shuffle: viewers' claims on Shuffle names, moderators' verification, and wagers → tickets.

The poll itself (one request a minute, backoff) is ``raffle.tasks.shuffle_poll_once``; it hands
each good answer to ``tickets_apply_wagers``. Only verified names count, and never for wagers made
before they were verified: a name's first sight in a period sets its baseline. A name belongs to
one viewer per community; claiming or verifying another viewer's name is refused, never moved.
"""

from __future__ import annotations

import logging
import re
from datetime import datetime

from django.db import transaction
from django.utils import timezone

from kickbot import redis_client
from kickbot.errors import InvalidInput, NotAllowed
from kickbot.live import live_publish
from kickbot.models import Community
from kickbot.services import audit_record
from raffle.models import ShuffleAccount, ShuffleWager, TicketEntry
from raffle.rules import committed_rate
from raffle.services.ledger import Award, book_open, ledger_append, open_period_lock, period_lock

log = logging.getLogger(__name__)

Source = TicketEntry.Source
SHUFFLE_NAME_RE = re.compile(r"^[A-Za-z0-9_.\-]{2,32}$")


def _shuffle_name(raw: str) -> str:
    name = (raw or "").strip()
    if not SHUFFLE_NAME_RE.fullmatch(name):
        raise InvalidInput("A Shuffle username is 2-32 letters, digits, '_', '.' or '-'.")
    return name


def _claims_lock(
    community_id: int, kick_user_id: int, name_key: str
) -> tuple[ShuffleAccount | None, ShuffleAccount | None]:
    """Lock, in this order, the claim on the name (anyone's) and the viewer's own claim (any name)."""
    taken = (
        ShuffleAccount.objects.select_for_update()
        .filter(community_id=community_id, username_key=name_key)
        .first()
    )
    mine = (
        ShuffleAccount.objects.select_for_update()
        .filter(community_id=community_id, kick_user_id=kick_user_id)
        .first()
    )
    return taken, mine


def shuffle_claim(*, community_id: int, kick_user_id: int, username: str) -> ShuffleAccount:
    """Store the viewer's unverified claim on a Shuffle name (replaces their unverified claim)."""
    name = _shuffle_name(username)
    key = name.lower()
    with transaction.atomic():
        taken, mine = _claims_lock(community_id, kick_user_id, key)
        if taken is not None and taken.kick_user_id != kick_user_id:
            raise NotAllowed(
                "That Shuffle name is already claimed by someone else. Ask a moderator if it's yours."
            )
        if mine is not None and mine.username_key == key:
            return mine
        if mine is not None and mine.verified:
            raise NotAllowed(f"Your verified Shuffle name is {mine.username}. Ask a moderator to change it.")
        if mine is not None:
            mine.delete()
        return ShuffleAccount.objects.create(
            community_id=community_id, kick_user_id=kick_user_id, username=name, username_key=key
        )


def shuffle_verify(
    *, community_id: int, kick_user_id: int, username: str, actor_label: str
) -> ShuffleAccount:
    """A moderator verifies ``username`` for the viewer (audited).

    Never converts wagers made before now: the name's baseline for the open period is the last
    amount seen by the poller, or its first sight after this. A name that belongs to another
    viewer is refused, never moved silently.
    """
    name = _shuffle_name(username)
    key = name.lower()
    now = timezone.now()
    with transaction.atomic():
        taken, mine = _claims_lock(community_id, kick_user_id, key)
        if taken is not None and taken.kick_user_id != kick_user_id:
            raise NotAllowed("That Shuffle name belongs to another viewer here. Remove their claim first.")
        if mine is not None and mine.username_key != key:
            if mine.verified:
                raise NotAllowed(f"That viewer's verified Shuffle name is {mine.username}. Remove it first.")
            mine.delete()
            mine = None
        account = mine or ShuffleAccount(community_id=community_id, kick_user_id=kick_user_id)
        account.username, account.username_key = name, key
        if not account.verified:
            account.verified, account.verified_at, account.verified_by = True, now, actor_label[:120]
        account.save()
        period = open_period_lock(community_id)
        seen = shuffle_last_seen(starts_at=period.starts_at, username_key=key) if period else None
        if period is not None and seen is not None:
            ShuffleWager.objects.get_or_create(
                period=period,
                username_key=key,
                defaults={
                    "kick_user_id": kick_user_id,
                    "baseline_cents": seen,
                    "last_cents": seen,
                    "first_seen_at": now,
                },
            )
        audit_record(
            action="raffle.shuffle_verify",
            community=Community.objects.get(pk=community_id),
            actor_label=actor_label,
            target=account,
            data={"kick_user_id": kick_user_id, "username": name},
        )
    return account


def shuffle_unlink(*, community_id: int, kick_user_id: int, actor_label: str) -> bool:
    with transaction.atomic():
        deleted, _ = ShuffleAccount.objects.filter(
            community_id=community_id, kick_user_id=kick_user_id
        ).delete()
        if deleted:
            audit_record(
                action="raffle.shuffle_unlink",
                community=Community.objects.get(pk=community_id),
                actor_label=actor_label,
                data={"kick_user_id": kick_user_id},
            )
    return bool(deleted)


def _last_seen_key(starts_at: datetime) -> str:
    return redis_client.key("shuffle", "seen", int(starts_at.timestamp()))


def shuffle_last_seen(*, starts_at: datetime, username_key: str) -> int | None:
    """The amount (cents, raw) the last good poll saw for this name in this window, if any."""
    value = redis_client.get_redis().hget(_last_seen_key(starts_at), username_key)
    return int(value) if value is not None else None


def shuffle_remember(*, starts_at: datetime, amounts: dict[str, int]) -> None:
    if not amounts:
        return
    r = redis_client.get_redis()
    pipe = r.pipeline()
    pipe.hset(_last_seen_key(starts_at), mapping={k: str(v) for k, v in amounts.items()})
    pipe.expire(_last_seen_key(starts_at), 3600)
    pipe.execute()


def tickets_apply_wagers(*, period_id: int, amounts: dict[str, int]) -> int:
    """Apply one good poll (cents per lower-cased name, for the window since the period start).

    Only verified names of the period's community count. First sight in the period sets the
    baseline and awards nothing; afterwards ``due = floor((amount - baseline) * rate / 100_000)
    - awarded``, keyed ``"<name>:<new running total>"``, so no remainder is ever dropped and a
    replayed poll awards nothing. Returns the tickets awarded.
    """
    now = timezone.now()
    with transaction.atomic():
        period = period_lock(period_id)
        if not book_open(period, now):
            return 0  # the book is closed (by status or by time)
        rate = committed_rate(period, "tickets_per_1000_usd")
        accounts = {
            a.username_key: a
            for a in ShuffleAccount.objects.filter(
                community_id=period.community_id, verified=True, username_key__in=list(amounts)
            )
        }
        rows = {
            w.username_key: w
            for w in ShuffleWager.objects.filter(period=period, username_key__in=list(accounts))
        }
        awards: list[Award] = []
        new_rows: list[ShuffleWager] = []
        changed: list[ShuffleWager] = []
        for name, account in accounts.items():
            amount = amounts[name]
            row = rows.get(name)
            if row is None:
                new_rows.append(
                    ShuffleWager(
                        period=period,
                        username_key=name,
                        kick_user_id=account.kick_user_id,
                        baseline_cents=amount,
                        last_cents=amount,
                        first_seen_at=now,
                    )
                )
                continue
            if amount <= row.last_cents:
                continue  # nothing new (a lower figure is a glitch: never take tickets back for it)
            row.last_cents = amount
            due = (amount - row.baseline_cents) * rate // 100_000 - row.awarded
            if due > 0:
                row.awarded += due
                awards.append(
                    Award(
                        account.kick_user_id,
                        Source.WAGER,
                        due,
                        f"{name}:{row.awarded}",
                        f"${(amount - row.baseline_cents) / 100:,.2f} wagered as {account.username}",
                    )
                )
            changed.append(row)
        ShuffleWager.objects.bulk_create(new_rows)
        if changed:
            ShuffleWager.objects.bulk_update(changed, ["last_cents", "awarded", "updated_at"])
        total = ledger_append(period, awards)
        if total:
            live_publish(
                community_id=period.community_id,
                kind="raffle.tickets",
                data={"text": f"Shuffle wagers: +{total} tickets to {len(awards)} viewer(s)"},
            )
    if total:
        log.info("wagers: %s tickets to %s viewers in period %s", total, len(awards), period_id)
    return total
