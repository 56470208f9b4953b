"""The link pages: /link/start/ (signed URL → confirm whose Discord account → Kick) and /link/callback/
(Kick → the link)."""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qs, urlsplit

from django.conf import settings
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods

from accounts.errors import LinkFailed
from accounts.link_flow import STATE_TTL, link_callback, link_preview, link_start
from accounts.ratelimit import link_rate_limited

TEMPLATE = "accounts/link_result.html"
CONFIRM_TEMPLATE = "accounts/link_confirm.html"
# The browser that opens /link/start/ remembers its OAuth state; only it can finish the flow.
STATE_COOKIE = "kb_link_state"
STATE_COOKIE_SALT = "accounts.link.browser"


def _page(request: HttpRequest, *, title: str, message: str, status: int, **extra: Any) -> HttpResponse:
    return render(request, TEMPLATE, {"title": title, "message": message, **extra}, status=status)


def _too_many(request: HttpRequest) -> HttpResponse:
    response = _page(
        request,
        title="Slow down",
        message="Too many link attempts from your address. Wait a minute and try again.",
        status=429,
    )
    response["Retry-After"] = "60"
    return response


@require_http_methods(["GET", "POST"])
@never_cache
def start(request: HttpRequest) -> HttpResponse:
    """GET: show whose Discord account the link is for and ask to confirm. POST (CSRF): go to Kick.

    Opening a link uses nothing: only the confirmation burns it, so a link sent to somebody else
    shows them a stranger's Discord name before their Kick login could be linked to it.
    """
    if link_rate_limited(request):
        return _too_many(request)
    if request.method == "GET":
        token = request.GET.get("t", "")
        try:
            preview = link_preview(token=token)
        except LinkFailed as exc:
            return _page(request, title=exc.title, message=exc.message, status=exc.status)
        return render(request, CONFIRM_TEMPLATE, {"preview": preview, "token": token})
    try:
        url = link_start(token=request.POST.get("t", ""))
    except LinkFailed as exc:
        return _page(request, title=exc.title, message=exc.message, status=exc.status)
    response = HttpResponseRedirect(url)
    state = parse_qs(urlsplit(url).query).get("state", [""])[0]
    response.set_signed_cookie(
        STATE_COOKIE,
        state,
        salt=STATE_COOKIE_SALT,
        max_age=int(STATE_TTL.total_seconds()),
        path="/link/",
        secure=settings.SESSION_COOKIE_SECURE,
        httponly=True,
        samesite="Lax",  # sent on the top-level redirect back from Kick
    )
    return response


@require_GET
@never_cache
def callback(request: HttpRequest) -> HttpResponse:
    if link_rate_limited(request):
        return _too_many(request)
    try:
        outcome = link_callback(
            state=request.GET.get("state", ""),
            code=request.GET.get("code", ""),
            browser_state=request.get_signed_cookie(STATE_COOKIE, default="", salt=STATE_COOKIE_SALT) or "",
            error=request.GET.get("error", ""),
        )
    except LinkFailed as exc:
        return _page(request, title=exc.title, message=exc.message, status=exc.status)
    message = (
        "This Kick account was already linked to your Discord account. Nothing changed."
        if outcome.change == "unchanged"
        else "Your Discord account is now linked to your Kick account."
    )
    return _page(request, title="Accounts linked", message=message, status=200, outcome=outcome)
