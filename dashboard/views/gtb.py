"""Guess the Balance: the Discord panel's controls (start, close, final balance, cancel) and the guesses."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from dashboard.permissions import require_perm
from dashboard.roles import PERM_MODERATE, PERM_VIEW
from dashboard.views.common import actor, community_or_404, text_field, write_view
from gtb import selectors as gs
from gtb import services as gsv
from gtb.services import TITLE_MAX
from kickbot.money import MAX_INPUT_CHARS, format_cents, parse_amount


def _context(request: HttpRequest) -> dict[str, object]:
    cid = community_or_404(request).pk
    session = gs.gtb_session_current(community_id=cid)
    guesses = gs.gtb_guesses(session_id=session.id) if session else []
    return {
        "session": session,
        "prize": format_cents(session.prize_cents) if session and session.prize_cents else "",
        "final": format_cents(session.final_balance_cents)
        if session and session.final_balance_cents is not None
        else "",
        "guesses": [(g, format_cents(g.amount_cents)) for g in guesses],
        "stats": gs.gtb_stats(community_id=cid),
        "can_moderate": request.user.has_perm(PERM_MODERATE),
    }


@require_perm(PERM_VIEW)
def gtb(request: HttpRequest) -> HttpResponse:
    return render(request, "dashboard/gtb/index.html", _context(request))


@require_perm(PERM_VIEW)
def gtb_round(request: HttpRequest) -> HttpResponse:
    """The round and its guesses alone, refreshed by htmx when the live feed reports a guess."""
    return render(request, "dashboard/gtb/_round.html", _context(request))


@write_view(PERM_MODERATE, "dashboard:gtb")
def gtb_start(request: HttpRequest) -> str:
    cid = community_or_404(request).pk
    prize_text = text_field(request, "prize", max_length=MAX_INPUT_CHARS)
    prize = parse_amount(prize_text) if prize_text else 0
    view = gsv.gtb_session_start(
        community_id=cid,
        title=text_field(request, "title", max_length=TITLE_MAX),
        prize_cents=prize,
        actor_label=actor(request),
        actor=request.user,
    )
    return f"Round open: {view.title}."


@write_view(PERM_MODERATE, "dashboard:gtb")
def gtb_close(request: HttpRequest) -> str:
    view = gsv.gtb_session_close(
        community_id=community_or_404(request).pk, actor_label=actor(request), actor=request.user
    )
    return f"Guessing closed with {view.guess_count} guesses."


@write_view(PERM_MODERATE, "dashboard:gtb")
def gtb_resolve(request: HttpRequest) -> str:
    final = parse_amount(text_field(request, "final", max_length=MAX_INPUT_CHARS))
    view = gsv.gtb_session_resolve(
        community_id=community_or_404(request).pk,
        final_balance_cents=final,
        actor_label=actor(request),
        actor=request.user,
    )
    winner = f"{view.winner_username} wins" if view.winner_username else "nobody guessed"
    return f"Final balance {format_cents(final)}: {winner}."


@write_view(PERM_MODERATE, "dashboard:gtb")
def gtb_cancel(request: HttpRequest) -> str:
    gsv.gtb_session_cancel(
        community_id=community_or_404(request).pk, actor_label=actor(request), actor=request.user
    )
    return "Round cancelled."
