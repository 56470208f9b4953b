"""Template context shared by every page: the current community and the navigation."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest

from kickbot.models import Community

SESSION_KEY = "community_id"


def current_community(request: HttpRequest) -> Community | None:
    """The community the dashboard user is looking at: chosen in the session, else the first."""
    if hasattr(request, "_kb_community"):
        cached: Community | None = request._kb_community
        return cached
    community = None
    chosen = request.session.get(SESSION_KEY) if hasattr(request, "session") else None
    if chosen:
        community = Community.objects.filter(pk=chosen).first()
    if community is None:
        community = Community.objects.order_by("id").first()
    request._kb_community = community  # type: ignore[attr-defined]
    return community


def dashboard(request: HttpRequest) -> dict[str, Any]:
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated or not request.path.startswith("/dashboard/"):
        return {}
    return {"current_community": current_community(request)}
