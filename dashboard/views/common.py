"""Helpers shared by the dashboard's page modules: the current community, write-view plumbing."""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable
from typing import Any

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_POST

from dashboard.context import current_community
from dashboard.permissions import require_perm
from dashboard.services import actor_label_for
from kickbot.errors import InvalidInput, KickbotError
from kickbot.models import Community

log = logging.getLogger(__name__)

View = Callable[..., HttpResponse]


def community_or_404(request: HttpRequest) -> Community:
    community = current_community(request)
    if community is None:
        raise Http404("No community is set up yet.")
    return community


def actor(request: HttpRequest) -> str:
    return actor_label_for(request.user)


def back(request: HttpRequest, default: str) -> HttpResponse:
    """Redirect to the form's ``next`` when it is a dashboard path, else to ``default`` (a URL name)."""
    target = str(request.POST.get("next", ""))
    if target.startswith("/dashboard/") and url_has_allowed_host_and_scheme(target, allowed_hosts=None):
        return redirect(target)
    return redirect(default)


def write_view(perm: str, default: str) -> Callable[[Callable[..., str | None]], View]:
    """Login, permission, POST only (CSRF by middleware); a domain refusal becomes a message.

    The wrapped view returns a success message (or None); the response is a redirect back, which
    htmx follows and swaps (``hx-select``), so the same view serves plain forms and htmx.
    """

    def decorate(view: Callable[..., str | None]) -> View:
        @require_perm(perm)
        @require_POST
        @functools.wraps(view)
        def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            try:
                done = view(request, *args, **kwargs)
            except KickbotError as exc:
                messages.error(request, exc.message)
            else:
                if done:
                    messages.success(request, done)
            return back(request, default)

        return wrapped

    return decorate


def int_field(
    request: HttpRequest, name: str, *, low: int, high: int, label: str, required: bool = True
) -> int | None:
    """A whole number from the POST body within [low, high]; junk, floats, nan, huge → InvalidInput."""
    raw = str(request.POST.get(name, "")).strip().replace(",", "")
    if not raw:
        if required:
            raise InvalidInput(f"Enter {label}.")
        return None
    if not raw.isascii() or not raw.lstrip("-").isdigit() or len(raw) > 20:
        raise InvalidInput(f"{label.capitalize()} must be a whole number from {low} to {high}.")
    value = int(raw)
    if not low <= value <= high:
        raise InvalidInput(f"{label.capitalize()} must be a whole number from {low} to {high}.")
    return value


def bool_field(request: HttpRequest, name: str) -> bool:
    return str(request.POST.get(name, "")).lower() in ("1", "on", "true", "yes")


def text_field(request: HttpRequest, name: str, *, max_length: int) -> str:
    text = str(request.POST.get(name, "")).strip()
    if len(text) > max_length:
        raise InvalidInput(f"Keep it under {max_length} characters.")
    return text
