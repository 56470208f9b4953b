"""The public leaderboard page (no login): all-time and this month."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render

from kickbot.models import Community
from watchtime.selectors import current_month, format_minutes, leaderboard

PAGE_SIZE = 25


def leaderboard_page(request: HttpRequest, slug: str) -> HttpResponse:
    community = get_object_or_404(Community, kick_channel_slug=slug.lower())
    month = current_month(community_id=community.pk)
    boards = [
        ("All time", leaderboard(community_id=community.pk, limit=PAGE_SIZE)),
        (f"{month:%B %Y}", leaderboard(community_id=community.pk, limit=PAGE_SIZE, month=month)),
    ]
    tables = [
        (title, [(r.rank, r.username, format_minutes(r.minutes)) for r in rows]) for title, rows in boards
    ]
    return render(request, "watchtime/leaderboard.html", {"community": community, "tables": tables})
