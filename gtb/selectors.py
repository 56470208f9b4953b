"""Reads for the bot and the pages: plain dataclasses, never querysets."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.db.models import Avg, Count, F, Max
from django.db.models.functions import Abs

from gtb.models import GtbGuess, GtbPanel, GtbSession


@dataclass(frozen=True)
class SessionView:
    id: int
    title: str
    prize_cents: int
    status: str
    guess_count: int
    final_balance_cents: int | None
    winner_username: str | None
    winner_amount_cents: int | None
    opened_at: datetime

    @property
    def running(self) -> bool:
        return self.status in GtbSession.RUNNING


@dataclass(frozen=True)
class PanelRef:
    channel_id: int
    message_id: int


@dataclass(frozen=True)
class GuessView:
    kick_user_id: int
    username: str
    amount_cents: int
    first_guessed_at: datetime
    updated_at: datetime


@dataclass(frozen=True)
class TopWinner:
    username: str
    wins: int


@dataclass(frozen=True)
class GtbStats:
    sessions_resolved: int
    guesses: int
    average_error_cents: int | None
    top_winners: list[TopWinner]


def _session_view(session: GtbSession) -> SessionView:
    winner = session.winner
    return SessionView(
        id=session.pk,
        title=session.title,
        prize_cents=session.prize_cents,
        status=session.status,
        guess_count=session.guesses.count(),
        final_balance_cents=session.final_balance_cents,
        winner_username=winner.username if winner else None,
        winner_amount_cents=winner.amount_cents if winner else None,
        opened_at=session.opened_at,
    )


def gtb_session_current(*, community_id: int) -> SessionView | None:
    """The running (open or closed) session, else the latest finished one, else None."""
    qs = GtbSession.objects.filter(community_id=community_id).select_related("winner")
    session = qs.filter(status__in=GtbSession.RUNNING).first() or qs.order_by("-opened_at", "-id").first()
    return _session_view(session) if session else None


def gtb_session_view(*, session_id: int) -> SessionView:
    return _session_view(GtbSession.objects.select_related("winner").get(pk=session_id))


def gtb_panel_ref(*, community_id: int) -> PanelRef | None:
    row = GtbPanel.objects.filter(community_id=community_id).values("channel_id", "message_id").first()
    return PanelRef(**row) if row else None


def gtb_guesses(*, session_id: int, limit: int = 500) -> list[GuessView]:
    """The session's guesses, earliest first (the order ties are broken in)."""
    rows = GtbGuess.objects.filter(session_id=session_id).order_by("first_guessed_at", "id")[:limit]
    return [
        GuessView(
            kick_user_id=g.kick_user_id,
            username=g.username,
            amount_cents=g.amount_cents,
            first_guessed_at=g.first_guessed_at,
            updated_at=g.updated_at,
        )
        for g in rows
    ]


def gtb_stats(*, community_id: int, top: int = 5) -> GtbStats:
    """Resolved sessions, their guesses, the average distance of a guess, the viewers who won most."""
    resolved = GtbSession.objects.filter(community_id=community_id, status=GtbSession.Status.RESOLVED)
    guesses = GtbGuess.objects.filter(session__in=resolved)
    error = guesses.aggregate(avg=Avg(Abs(F("amount_cents") - F("session__final_balance_cents"))))["avg"]
    winners = (
        resolved.filter(winner__isnull=False)
        .values("winner__kick_user_id")
        .annotate(wins=Count("id"), last=Max("resolved_at"))
        .order_by("-wins", "-last")[:top]
    )
    names = dict(
        GtbGuess.objects.filter(
            session__in=resolved, kick_user_id__in=[w["winner__kick_user_id"] for w in winners]
        )
        .order_by("updated_at")
        .values_list("kick_user_id", "username")
    )  # latest username wins: later rows overwrite earlier ones in the dict
    return GtbStats(
        sessions_resolved=resolved.count(),
        guesses=guesses.count(),
        average_error_cents=round(error) if error is not None else None,
        top_winners=[
            TopWinner(username=names.get(w["winner__kick_user_id"], "?"), wins=w["wins"]) for w in winners
        ],
    )
