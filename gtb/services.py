"""Guess the Balance writes: start, guess, close, resolve, cancel, panel posted.

Every state change is a conditional ``UPDATE`` on ``status`` (two moderators pressing the same
button, or a final balance entered twice, change the session once) and writes its audit row and
its outbox rows (panel edit, result embed, Kick line) in the same transaction.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from datetime import datetime

from django.contrib.auth.models import AnonymousUser, User
from django.db import IntegrityError, transaction
from django.db.models import F, Value
from django.db.models.functions import Abs
from django.utils import timezone

from gtb import embeds
from gtb.models import GtbGuess, GtbPanel, GtbSession
from gtb.selectors import SessionView, gtb_session_current, gtb_session_view
from kickbot.errors import InvalidInput
from kickbot.live import live_publish
from kickbot.models import Community
from kickbot.money import format_cents, max_amount_cents
from kickbot.services import audit_record
from kickbot.text import one_line
from outbox.models import OutboxMessage
from outbox.services import outbox_enqueue

log = logging.getLogger(__name__)

DEFAULT_TITLE = "Guess the Balance"
TITLE_MAX = 100
# Guesses refresh the panel at most once per bucket (Discord rate-limits message edits).
PANEL_REFRESH_BUCKET_S = 10

MSG_NONE_OPEN = "No Guess the Balance is open right now."
MSG_CLOSED = "Guessing is closed for this round."
MSG_ALREADY_RUNNING = "A round is already running. Resolve or cancel it first."
MSG_NOTHING_RUNNING = "There is no running round."
MSG_ALREADY_FINISHED = "That round is already over; nothing changed."


@dataclass(frozen=True)
class GuessResult:
    amount_cents: int
    previous_amount_cents: int | None  # None: a first guess
    superseded: bool = False  # said before the guess that stands (it arrived late): not taken

    def reply(self) -> str:
        if self.superseded:
            return f"Your later guess of {format_cents(self.amount_cents)} stands."
        if self.previous_amount_cents is None:
            return f"Guess saved: {format_cents(self.amount_cents)}"
        if self.previous_amount_cents == self.amount_cents:
            return f"Your guess is already {format_cents(self.amount_cents)}"
        return (
            f"Guess changed to {format_cents(self.amount_cents)} "
            f"(was {format_cents(self.previous_amount_cents)})"
        )


def clean_title(raw: str) -> str:
    """One line of printable text, at most 100 characters; blank → the default title."""
    text = one_line(raw)
    if len(text) > TITLE_MAX:
        raise InvalidInput(f"Keep the title under {TITLE_MAX} characters.")
    return text or DEFAULT_TITLE


def _running(community_id: int, *, lock: bool = False) -> GtbSession | None:
    qs = GtbSession.objects.filter(community_id=community_id, status__in=GtbSession.RUNNING)
    if lock:
        qs = qs.select_for_update()
    return qs.first()


def _panel_refresh(*, community: Community, session_id: int | None, throttle: bool = False) -> None:
    """Queue an edit of the community's panel to its current state (inside the caller's transaction).

    Throttled refreshes (guesses) share one row per bucket; a still-pending row gets the newest
    state, one already sent waits for the next bucket or the next admin action.
    """
    panel = GtbPanel.objects.filter(community=community).first()
    if panel is None:
        return
    state = gtb_session_current(community_id=community.pk)
    payload = {
        "content": None,
        "message_id": panel.message_id,
        "embeds": [embeds.panel_embed(state, prefix=community.command_prefix).to_dict()],
    }
    if not throttle:
        outbox_enqueue(
            community=community,
            kind=OutboxMessage.Kind.DISCORD_EDIT,
            target=panel.channel_id,
            payload=payload,
        )
        return
    bucket = int(time.time() // PANEL_REFRESH_BUCKET_S)
    row = outbox_enqueue(
        community=community,
        kind=OutboxMessage.Kind.DISCORD_EDIT,
        target=panel.channel_id,
        payload=payload,
        dedupe_key=f"gtb:panel:{panel.pk}:{session_id}:{bucket}",
    )
    if row.payload != payload:
        OutboxMessage.objects.filter(pk=row.pk, status=OutboxMessage.Status.PENDING).update(payload=payload)


def _plural(n: int, word: str) -> str:
    return f"{n} {word}{'es' if word.endswith('s') else 's'}" if n != 1 else f"1 {word}"


def _kick_line(*, community: Community, text: str, dedupe_key: str) -> None:
    outbox_enqueue(
        community=community,
        kind=OutboxMessage.Kind.KICK_CHAT,
        target=str(community.pk),
        payload={"text": text, "reply_to": None},
        dedupe_key=dedupe_key,
    )


def _audit(
    *,
    action: str,
    community: Community,
    session: GtbSession,
    actor: User | AnonymousUser | None,
    actor_label: str,
    data: dict[str, object] | None = None,
) -> None:
    audit_record(
        action=action, community=community, actor=actor, actor_label=actor_label, target=session, data=data
    )


@transaction.atomic
def gtb_session_start(
    *,
    community_id: int,
    title: str,
    prize_cents: int,
    actor_label: str,
    actor: User | AnonymousUser | None = None,
) -> SessionView:
    """Open a round. Refused while another round of the community is open or closed."""
    if not 0 <= prize_cents <= max_amount_cents():
        raise InvalidInput("That prize is out of range.")
    title = clean_title(title)
    community = Community.objects.get(pk=community_id)
    if _running(community_id) is not None:
        raise InvalidInput(MSG_ALREADY_RUNNING)
    try:
        with transaction.atomic():  # a savepoint: a racing start hits the unique constraint
            session = GtbSession.objects.create(
                community=community,
                title=title,
                prize_cents=prize_cents,
                opened_by=actor_label[:120],
                opened_at=timezone.now(),
            )
    except IntegrityError as exc:
        raise InvalidInput(MSG_ALREADY_RUNNING) from exc
    _audit(
        action="gtb.start",
        community=community,
        session=session,
        actor=actor,
        actor_label=actor_label,
        data={"title": title, "prize_cents": prize_cents},
    )
    prize = f" Prize: {format_cents(prize_cents)}." if prize_cents else ""
    _kick_line(
        community=community,
        text=(
            f'Guess the Balance is open: "{title}".{prize} '
            f"Type {community.command_prefix}gtb <amount> to guess!"
        ),
        dedupe_key=f"gtb:{session.pk}:start:kick",
    )
    _panel_refresh(community=community, session_id=session.pk)
    live_publish(
        community_id=community_id, kind="gtb", data={"text": f"GTB opened: {title}", "session": session.pk}
    )
    log.info("gtb session %s opened in community %s", session.pk, community_id)
    return gtb_session_view(session_id=session.pk)


@transaction.atomic
def gtb_guess_submit(
    *,
    community_id: int,
    kick_user_id: int,
    username: str,
    amount_cents: int,
    at: datetime | None = None,
    message_id: str = "",
) -> GuessResult:
    """Record or replace a viewer's guess in the open round; the first guess time is kept for ties.

    ``at`` is when the guess was said (the chat message's own time; default now): of two guesses the
    later said stands, whatever order they arrive in, and the first guess's ``at`` is its tie
    priority. Idempotency key: ``message_id`` — the standing guess's message again returns the same
    result and changes nothing.
    The running session row is locked (Postgres) so a guess and a close/resolve never interleave:
    a guess either lands before the round closes or is refused.
    """
    if not 0 < amount_cents <= max_amount_cents():
        raise InvalidInput("That amount is out of range.")
    session = _running(community_id, lock=True)
    if session is None:
        raise InvalidInput(MSG_NONE_OPEN)
    if session.status != GtbSession.Status.OPEN:
        raise InvalidInput(MSG_CLOSED)
    said_at = max(at or timezone.now(), session.opened_at)  # said before the round opened: at its start
    message_id = message_id[:64]
    guess = GtbGuess.objects.filter(session=session, kick_user_id=kick_user_id).first()
    if guess is not None and message_id and guess.message_id == message_id:
        return GuessResult(amount_cents=guess.amount_cents, previous_amount_cents=guess.previous_amount_cents)
    if guess is not None and said_at < guess.updated_at:
        return GuessResult(amount_cents=guess.amount_cents, previous_amount_cents=None, superseded=True)
    previous = guess.amount_cents if guess is not None else None
    if guess is None:
        GtbGuess.objects.create(
            session=session,
            kick_user_id=kick_user_id,
            username=username[:64],
            amount_cents=amount_cents,
            first_guessed_at=said_at,
            updated_at=said_at,
            message_id=message_id,
        )
    else:
        GtbGuess.objects.filter(pk=guess.pk).update(
            amount_cents=amount_cents,
            username=username[:64],
            updated_at=said_at,
            message_id=message_id,
            previous_amount_cents=previous,
        )
    community = session.community
    _panel_refresh(community=community, session_id=session.pk, throttle=True)
    live_publish(
        community_id=community_id,
        kind="gtb.guess",
        data={"text": f"{username} guessed {format_cents(amount_cents)}", "session": session.pk},
    )
    return GuessResult(amount_cents=amount_cents, previous_amount_cents=previous)


def _session_for_action(community_id: int, session_id: int | None) -> GtbSession:
    qs = GtbSession.objects.filter(community_id=community_id)
    session = qs.filter(pk=session_id).first() if session_id is not None else _running(community_id)
    if session is None:
        raise InvalidInput(MSG_NOTHING_RUNNING)
    return session


@transaction.atomic
def gtb_session_close(
    *,
    community_id: int,
    actor_label: str,
    actor: User | AnonymousUser | None = None,
    session_id: int | None = None,
) -> SessionView:
    """Stop taking guesses (open → closed). Closing twice changes nothing the second time."""
    session = _session_for_action(community_id, session_id)
    now = timezone.now()
    updated = GtbSession.objects.filter(pk=session.pk, status=GtbSession.Status.OPEN).update(
        status=GtbSession.Status.CLOSED, closed_at=now, closed_by=actor_label[:120]
    )
    if not updated:
        raise InvalidInput(
            "Guessing is already closed."
            if session.status == GtbSession.Status.CLOSED
            else MSG_ALREADY_FINISHED
        )
    community = session.community
    count = GtbGuess.objects.filter(session=session).count()
    _audit(
        action="gtb.close",
        community=community,
        session=session,
        actor=actor,
        actor_label=actor_label,
        data={"guesses": count},
    )
    _kick_line(
        community=community,
        text=f'Guessing is closed for "{session.title}": {_plural(count, "guess")}. Good luck!',
        dedupe_key=f"gtb:{session.pk}:close:kick",
    )
    _panel_refresh(community=community, session_id=session.pk)
    live_publish(community_id=community_id, kind="gtb", data={"text": f"GTB closed: {count} guesses"})
    return gtb_session_view(session_id=session.pk)


@transaction.atomic
def gtb_session_resolve(
    *,
    community_id: int,
    final_balance_cents: int,
    actor_label: str,
    actor: User | AnonymousUser | None = None,
    session_id: int | None = None,
) -> SessionView:
    """Enter the final balance and pick the winner, exactly once per session.

    Winner: the smallest |guess - final|; ties go to the earliest first guess. An open round is
    closed by the same step. The claim is a conditional ``UPDATE`` on the running status, so a
    second entry (a double click, two moderators) changes nothing and says so.
    Idempotency keys of the announcements: ``gtb:<session>:result:discord`` / ``:kick``.
    """
    if not 0 < final_balance_cents <= max_amount_cents():
        raise InvalidInput("That final balance is out of range.")
    session = _session_for_action(community_id, session_id)
    now = timezone.now()
    claimed = GtbSession.objects.filter(pk=session.pk, status__in=GtbSession.RUNNING).update(
        status=GtbSession.Status.RESOLVED,
        final_balance_cents=final_balance_cents,
        resolved_at=now,
        resolved_by=actor_label[:120],
    )
    if not claimed:
        raise InvalidInput(MSG_ALREADY_FINISHED)
    if session.status == GtbSession.Status.OPEN:  # resolved straight from open: it closed now too
        GtbSession.objects.filter(pk=session.pk).update(closed_at=now, closed_by=actor_label[:120])
    winner = (
        GtbGuess.objects.filter(session=session)
        .annotate(distance=Abs(F("amount_cents") - Value(final_balance_cents)))
        .order_by("distance", "first_guessed_at", "id")
        .first()
    )
    GtbSession.objects.filter(pk=session.pk).update(winner=winner)
    community = session.community
    view = gtb_session_view(session_id=session.pk)
    _audit(
        action="gtb.resolve",
        community=community,
        session=session,
        actor=actor,
        actor_label=actor_label,
        data={
            "final_balance_cents": final_balance_cents,
            "winner_kick_user_id": winner.kick_user_id if winner else None,
            "winner_amount_cents": winner.amount_cents if winner else None,
            "guesses": view.guess_count,
        },
    )
    panel = GtbPanel.objects.filter(community=community).first()
    if panel is not None:
        outbox_enqueue(
            community=community,
            kind=OutboxMessage.Kind.DISCORD_MESSAGE,
            target=panel.channel_id,
            payload={"content": None, "embeds": [embeds.result_embed(view).to_dict()]},
            dedupe_key=f"gtb:{session.pk}:result:discord",
        )
    _kick_line(
        community=community, text=embeds.result_kick_line(view), dedupe_key=f"gtb:{session.pk}:result:kick"
    )
    _panel_refresh(community=community, session_id=session.pk)
    live_publish(community_id=community_id, kind="gtb", data={"text": embeds.result_kick_line(view)})
    log.info("gtb session %s resolved, winner guess %s", session.pk, winner.pk if winner else None)
    return view


@transaction.atomic
def gtb_session_cancel(
    *,
    community_id: int,
    actor_label: str,
    actor: User | AnonymousUser | None = None,
    session_id: int | None = None,
) -> SessionView:
    """Call the round off (open or closed → cancelled): no winner, guesses kept for the record."""
    session = _session_for_action(community_id, session_id)
    updated = GtbSession.objects.filter(pk=session.pk, status__in=GtbSession.RUNNING).update(
        status=GtbSession.Status.CANCELLED, cancelled_at=timezone.now()
    )
    if not updated:
        raise InvalidInput(MSG_ALREADY_FINISHED)
    community = session.community
    _audit(action="gtb.cancel", community=community, session=session, actor=actor, actor_label=actor_label)
    _kick_line(
        community=community,
        text=f'Guess the Balance "{session.title}" was cancelled.',
        dedupe_key=f"gtb:{session.pk}:cancel:kick",
    )
    _panel_refresh(community=community, session_id=session.pk)
    live_publish(community_id=community_id, kind="gtb", data={"text": f"GTB cancelled: {session.title}"})
    return gtb_session_view(session_id=session.pk)


@transaction.atomic
def gtb_panel_posted(*, community_id: int, channel_id: int, message_id: int, actor_label: str) -> GtbPanel:
    """Remember the panel just posted (the newest replaces the last); results go to its channel."""
    panel, _created = GtbPanel.objects.update_or_create(
        community_id=community_id,
        defaults={"channel_id": channel_id, "message_id": message_id, "posted_at": timezone.now()},
    )
    audit_record(
        action="gtb.panel",
        community=panel.community,
        actor_label=actor_label,
        target=panel,
        data={"channel_id": str(channel_id)},
    )
    return panel
