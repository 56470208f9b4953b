"""Watchtime: top viewers (all time and this month), one viewer's history, and watchtime roles."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from dashboard import selectors
from dashboard.permissions import require_perm
from dashboard.roles import PERM_MANAGE, PERM_VIEW
from dashboard.views.common import actor, community_or_404, int_field, write_view
from kickbot.errors import InvalidInput
from watchtime import selectors as ws
from watchtime.credit import tracking_set
from watchtime.roles import watch_role_remove, watch_role_set_enabled

TOP = 50


@require_perm(PERM_VIEW)
def watchtime(request: HttpRequest) -> HttpResponse:
    community = community_or_404(request)
    cid = community.pk
    month = ws.current_month(community_id=cid)
    viewer = None
    history: list[selectors.MonthRow] = []
    raw = str(request.GET.get("viewer", "")).strip()
    if raw:
        hits = selectors.user_search(query=raw, limit=1)
        if hits:
            viewer = hits[0]
            history = selectors.watch_history(community_id=cid, kick_user_id=viewer.kick_user_id)
    return render(
        request,
        "dashboard/watchtime/index.html",
        {
            "month": month,
            "all_time": [
                (r, ws.format_minutes(r.minutes)) for r in ws.leaderboard(community_id=cid, limit=TOP)
            ],
            "this_month": [
                (r, ws.format_minutes(r.minutes))
                for r in ws.leaderboard(community_id=cid, limit=TOP, month=month)
            ],
            "settings": ws.watch_settings(community_id=cid),
            "viewer_query": raw[:64],
            "viewer": viewer,
            "history": [(h, ws.format_minutes(h.minutes)) for h in history],
            "roles": ws.watch_roles(community_id=cid),
            "can_manage": request.user.has_perm(PERM_MANAGE),
        },
    )


@write_view(PERM_MANAGE, "dashboard:watchtime")
def watch_role_action(request: HttpRequest, role_id: int) -> str:
    """Enable, disable or remove a watchtime role. Adding one and changing its minutes happen on
    Discord (``roles add``), where the bot can check the role sits below its own."""
    cid = community_or_404(request).pk
    op = str(request.POST.get("op", ""))
    if op in ("enable", "disable"):
        watch_role_set_enabled(
            community_id=cid, role_id=role_id, enabled=op == "enable", actor_label=actor(request)
        )
        return f"Role {op}d."
    if op == "remove":
        row = watch_role_remove(community_id=cid, role_id=role_id, actor_label=actor(request))
        return f"{row.name or row.discord_role_id} is no longer a watchtime role."
    raise InvalidInput("Choose enable, disable or remove.")


@write_view(PERM_MANAGE, "dashboard:watchtime")
def watch_tracking(request: HttpRequest) -> str:
    cid = community_or_404(request).pk
    on = int_field(request, "enabled", low=0, high=1, label="tracking") == 1
    tracking_set(community_id=cid, enabled=on, actor_label=actor(request))
    return "Tracking is on." if on else "Tracking is paused."
