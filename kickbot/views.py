"""Plain views of the project itself: the health endpoint and the landing redirect."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from kickbot.health import health_report


@require_GET
@never_cache
def healthz(request: HttpRequest) -> JsonResponse:
    """200 when the database and Redis answer; the body says how every part is doing."""
    report = health_report()
    return JsonResponse(report, status=200 if report["ok"] else 503)


def home(request: HttpRequest) -> HttpResponse:
    return redirect("dashboard:overview")
