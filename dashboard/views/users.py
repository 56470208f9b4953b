"""Viewers: search by Discord id or Kick name, one viewer's data, unlink and tickets."""

from __future__ import annotations

import uuid

from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render

from dashboard import selectors, services
from dashboard.permissions import require_perm
from dashboard.roles import PERM_MANAGE, PERM_MODERATE, PERM_VIEW
from dashboard.views.common import community_or_404, int_field, text_field, write_view
from kickbot.errors import InvalidInput
from kickbot.money import format_cents
from raffle.services.ledger import REASON_MAX
from raffle.services.tickets import MAX_ADMIN_AMOUNT
from watchtime.selectors import format_minutes


@require_perm(PERM_VIEW)
def users(request: HttpRequest) -> HttpResponse:
    community_or_404(request)
    query = str(request.GET.get("q", ""))[: selectors.SEARCH_MAX]
    hits = selectors.user_search(query=query)
    partial = bool(getattr(request, "htmx", False))
    template = "dashboard/users/_results.html" if partial else "dashboard/users/search.html"
    return render(request, template, {"q": query, "hits": hits})


@require_perm(PERM_VIEW)
def user_detail(request: HttpRequest, kick_user_id: int) -> HttpResponse:
    community = community_or_404(request)
    profile = selectors.user_profile(community_id=community.pk, kick_user_id=kick_user_id)
    if profile is None:
        raise Http404("No such Kick user.")
    return render(
        request,
        "dashboard/users/detail.html",
        {
            "p": profile,
            "all_time": format_minutes(profile.watch_all_time.minutes),
            "month": format_minutes(profile.watch_month.minutes),
            "guesses": [(g, format_cents(g.amount_cents)) for g in profile.guesses],
            "form_key": uuid.uuid4().hex,
            "moderator_limit": services.MODERATOR_TICKET_LIMIT,
            "can_manage": request.user.has_perm(PERM_MANAGE),
            "can_moderate": request.user.has_perm(PERM_MODERATE),
        },
    )


@write_view(PERM_MANAGE, "dashboard:users")
def user_unlink(request: HttpRequest, kick_user_id: int) -> str:
    community = community_or_404(request)
    name = services.dashboard_unlink(community=community, kick_user_id=kick_user_id, user=request.user)
    if name is None:
        raise InvalidInput("That viewer has no linked Discord account.")
    return f"Unlinked {name}."


@write_view(PERM_MODERATE, "dashboard:users")
def user_tickets(request: HttpRequest, kick_user_id: int) -> str:
    """Give or remove tickets (``op`` = give | remove); the service enforces the moderator limit."""
    community = community_or_404(request)
    op = str(request.POST.get("op", "give"))
    if op not in ("give", "remove"):
        raise InvalidInput("Choose give or remove.")
    amount = int_field(request, "amount", low=1, high=MAX_ADMIN_AMOUNT, label="the number of tickets")
    key = str(request.POST.get("key", ""))[:64] or None
    balance = services.dashboard_tickets_adjust(
        community_id=community.pk,
        kick_user_id=kick_user_id,
        amount=amount,
        remove=op == "remove",
        reason=text_field(request, "reason", max_length=REASON_MAX),
        user=request.user,
        request_key=key,
    )
    return f"{'Removed' if op == 'remove' else 'Gave'} {amount} tickets. New balance: {balance}."
