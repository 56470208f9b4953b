"""Overview: live status, active chatters, ingestion lag, four charts and the live feed."""

from __future__ import annotations

import time
from typing import Any

from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render

from dashboard import charts
from dashboard.context import current_community
from dashboard.permissions import require_perm
from dashboard.roles import PERM_MANAGE, PERM_VIEW
from kickbot.health import health_report
from watchtime.activity import distinct_chatters
from watchtime.credit import CHATTER_WINDOW_S


def _ingestion(slug: str) -> dict[str, Any] | None:
    try:
        return health_report(detail=True)["kick"].get(slug)
    except Exception:  # the overview must render when Redis is down; health says why
        return None


def _chatters(community_id: int) -> int | None:
    now = time.time()
    try:
        return distinct_chatters(community_id=community_id, since_ts=now - CHATTER_WINDOW_S, until_ts=now)
    except Exception:
        return None


@require_perm(PERM_VIEW)
def overview(request: HttpRequest) -> HttpResponse:
    community = current_community(request)
    if community is None and request.user.has_perm(PERM_MANAGE):
        return redirect("dashboard:setup")
    context: dict[str, Any] = {"community": community}
    if community is not None:
        cid = community.pk
        context.update(
            chatters=_chatters(cid),
            ingestion=_ingestion(community.kick_channel_slug),
            chart_watch=charts.watch_minutes_per_day(community_id=cid),
            chart_tickets=charts.tickets_per_day(community_id=cid),
            chart_requests=charts.slot_requests_per_hour(community_id=cid),
            chart_links=charts.link_signups_per_day(community_id=cid),
        )
    return render(request, "dashboard/overview.html", context)
