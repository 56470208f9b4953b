"""Raffle: periods, leaderboard, Shuffle claims to verify, end and draw (with the proof link)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from dashboard.permissions import require_perm
from dashboard.roles import PERM_MANAGE, PERM_MODERATE, PERM_VIEW
from dashboard.views.common import actor, community_or_404, int_field, text_field, write_view
from kickbot.errors import InvalidInput
from raffle import selectors as rs
from raffle.draw import round_time
from raffle.errors import DrawWaiting
from raffle.parsing import parse_optional_date
from raffle.services.drawing import period_draw
from raffle.services.periods import period_start
from raffle.services.rollover import period_freeze
from raffle.services.shuffle import shuffle_verify

BOARD_SIZE = 50


@require_perm(PERM_VIEW)
def raffle(request: HttpRequest) -> HttpResponse:
    community = community_or_404(request)
    cid = community.pk
    return render(
        request,
        "dashboard/raffle/index.html",
        {
            "community": community,
            "stats": rs.raffle_stats(community_id=cid),
            "board": rs.raffle_board(community_id=cid, limit=BOARD_SIZE),
            "periods": rs.period_list(community_id=cid),
            "claims": rs.shuffle_claims(community_id=cid, verified=False),
            "settings": rs.raffle_settings_get(community_id=cid),
            "form_key": uuid.uuid4().hex,
            "can_manage": request.user.has_perm(PERM_MANAGE),
            "can_moderate": request.user.has_perm(PERM_MODERATE),
        },
    )


@write_view(PERM_MODERATE, "dashboard:raffle")
def raffle_verify_claim(request: HttpRequest, claim_id: int) -> str:
    community = community_or_404(request)
    claim = next((c for c in rs.shuffle_claims(community_id=community.pk) if c.pk == claim_id), None)
    if claim is None:
        raise InvalidInput("That Shuffle claim is gone.")
    shuffle_verify(
        community_id=community.pk,
        kick_user_id=claim.kick_user_id,
        username=claim.username,
        actor_label=actor(request),
    )
    return f"Verified {claim.username}."


@write_view(PERM_MANAGE, "dashboard:raffle")
def raffle_start(request: HttpRequest) -> str:
    community = community_or_404(request)
    start = parse_optional_date(text_field(request, "start", max_length=10))
    end = parse_optional_date(text_field(request, "end", max_length=10))
    period = period_start(community_id=community.pk, start=start, end=end, actor_label=actor(request))
    return f"Raffle #{period.pk} is open."


@write_view(PERM_MANAGE, "dashboard:raffle")
def raffle_end(request: HttpRequest) -> str:
    community = community_or_404(request)
    period = period_freeze(community_id=community.pk, actor_label=actor(request))
    due = datetime.fromtimestamp(round_time(period.drand_round), tz=UTC)
    return (
        f"Raffle #{period.pk} is closed; its snapshot is published. It is drawn with drand round "
        f"{period.drand_round}, emitted {due:%H:%M:%S} UTC (auto-draw draws it then; or press Draw)."
    )


@write_view(PERM_MANAGE, "dashboard:raffle")
def raffle_draw(request: HttpRequest) -> str:
    community = community_or_404(request)
    if request.POST.get("confirm") != "draw":
        raise InvalidInput("Tick the confirmation box to draw.")
    period_id = int_field(request, "period_id", low=1, high=2**63 - 1, label="the raffle")
    if period_id not in {p.id for p in rs.period_list(community_id=community.pk, limit=1000)}:
        raise InvalidInput("That raffle is not in this community.")
    try:
        result = period_draw(period_id=period_id, actor_label=actor(request))  # type: ignore[arg-type]
    except DrawWaiting as exc:
        raise InvalidInput(f"Not drawn yet: {exc}") from None
    names = ", ".join(w.username or str(w.kick_user_id) for w in result.winners) or "no entrants"
    return f"{'Already drawn' if result.already else 'Drawn'}: {names}."
