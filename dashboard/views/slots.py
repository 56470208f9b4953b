"""Slot requests: live queue (htmx), history, catalogue search and upload, blacklist, analytics."""

from __future__ import annotations

from datetime import timedelta

from django.db.models import Count
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone

from dashboard import charts, services
from dashboard.permissions import require_perm
from dashboard.roles import PERM_MANAGE, PERM_MODERATE, PERM_VIEW
from dashboard.views.common import actor, community_or_404, text_field, write_view
from kickbot.errors import InvalidInput
from slots import panel
from slots import selectors as ss
from slots import services as ssv
from slots.models import BLACKLIST_REASON_MAX, KICK_USERNAME_MAX, SlotRequest

HISTORY = 30
TOP = 10


def _analytics(community_id: int) -> dict[str, object]:
    since = timezone.now() - timedelta(days=30)
    base = SlotRequest.objects.filter(community_id=community_id, created_at__gte=since, slot__isnull=False)
    return {
        "top_slots": list(
            base.values("slot__name").annotate(n=Count("id")).order_by("-n", "slot__name")[:TOP]
        ),
        "top_providers": list(
            base.exclude(slot__provider="")
            .values("slot__provider")
            .annotate(n=Count("id"))
            .order_by("-n")[:TOP]
        ),
        "chart_hours": charts.slot_requests_by_hour_of_day(community_id=community_id),
    }


@require_perm(PERM_VIEW)
def slots(request: HttpRequest) -> HttpResponse:
    community = community_or_404(request)
    cid = community.pk
    query = str(request.GET.get("q", ""))[:100]
    history = list(
        SlotRequest.objects.filter(community_id=cid)
        .exclude(status__in=SlotRequest.ACTIVE)
        .select_related("slot")
        .order_by("-closed_at", "-id")[:HISTORY]
    )
    return render(
        request,
        "dashboard/slots/index.html",
        {
            "queue": ss.slot_queue_view(community_id=cid, limit=50),
            "settings": ss.slot_settings_view(community_id=cid),
            "blacklist": ss.slot_blacklist_entries(community_id=cid),
            "history": history,
            "q": query,
            "results": ss.slot_search(text=query, limit=20) if query else [],
            "can_moderate": request.user.has_perm(PERM_MODERATE),
            "can_manage": request.user.has_perm(PERM_MANAGE),
            **_analytics(cid),
        },
    )


@require_perm(PERM_VIEW)
def slots_queue(request: HttpRequest) -> HttpResponse:
    """The queue fragment alone: htmx refreshes it when the live feed announces a request."""
    community = community_or_404(request)
    return render(
        request,
        "dashboard/slots/_queue.html",
        {
            "queue": ss.slot_queue_view(community_id=community.pk, limit=50),
            "can_moderate": request.user.has_perm(PERM_MODERATE),
        },
    )


@write_view(PERM_MODERATE, "dashboard:slots")
def slots_action(request: HttpRequest, action: str) -> str:
    cid = community_or_404(request).pk
    who = actor(request)
    if action == "open":
        panel.slot_requests_set_open(community_id=cid, requests_open=True, actor_label=who)
        return "Requests are open."
    if action == "close":
        panel.slot_requests_set_open(community_id=cid, requests_open=False, actor_label=who)
        return "Requests are closed."
    if action == "pick":
        pick = panel.slot_pick_random(community_id=cid, actor_label=who)
        return f"Pick #{pick.number}: {pick.username} — {pick.slot.name if pick.slot else pick.text}"
    if action in ("played", "skipped"):
        panel.slot_request_finish(community_id=cid, status=action, actor_label=who)
        return f"Marked {action}."
    if action == "clear":
        if request.POST.get("confirm") != "clear":
            raise InvalidInput("Confirm clearing the queue.")
        return f"Cleared {panel.slot_queue_clear(community_id=cid, actor_label=who)} requests."
    raise InvalidInput("Unknown action.")


@write_view(PERM_MODERATE, "dashboard:slots")
def slots_blacklist(request: HttpRequest) -> str:
    cid = community_or_404(request).pk
    name = text_field(request, "username", max_length=KICK_USERNAME_MAX)
    if request.POST.get("op") == "remove":
        removed = ssv.slot_blacklist_remove(community_id=cid, username=name, actor_label=actor(request))
        return f"{name} may request again." if removed else f"{name} was not blacklisted."
    added = ssv.slot_blacklist_add(
        community_id=cid,
        username=name,
        reason=text_field(request, "reason", max_length=BLACKLIST_REASON_MAX),
        actor_label=actor(request),
    )
    return f"{name} is blacklisted." if added else f"{name} was already blacklisted."


@write_view(PERM_MANAGE, "dashboard:slots")
def slots_import(request: HttpRequest) -> str:
    upload = request.FILES.get("file")
    if upload is None:
        raise InvalidInput("Choose a JSON or CSV file.")
    if upload.size and upload.size > services.CATALOGUE_UPLOAD_MAX_BYTES:
        raise InvalidInput("That file is over 20 MB; use `manage.py import_slots` for big catalogues.")
    fmt = str(request.POST.get("format", ""))[:16]
    result = services.catalogue_upload(
        data=upload.read(), filename=upload.name or "", fmt=fmt, user=request.user
    )
    return f"Catalogue: {result.created} new, {result.updated} updated, {result.skipped} skipped."  # type: ignore[attr-defined]
