"""Connect Kick: the broadcaster (or a bot account) authorises kickbot to chat and subscribe.

The OAuth state and PKCE verifier live in the admin's own session (single use, 10 minutes), so a
callback can only complete the flow that the same browser started.
"""

from __future__ import annotations

import logging
import secrets
import time

from django.conf import settings
from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_POST

from dashboard.context import current_community
from dashboard.permissions import require_perm
from dashboard.roles import PERM_MANAGE
from kickbot.integrations.kick import KickApi, KickError, authorize_url, pkce_pair
from kickbot.kick import SCOPES, connect_redirect_uri, http_client_factory, kick_token_save, oauth_client
from kickbot.kick_detect import KickIdsNotFound, detect
from kickbot.services import audit_record, community_save

log = logging.getLogger(__name__)

SESSION_KEY = "kick_connect"
STATE_TTL_S = 600


def _fail(request: HttpRequest, message: str, *, status: int = 400) -> HttpResponse:
    return render(
        request,
        "dashboard/message.html",
        {
            "title": "Connect Kick",
            "message": message,
            "link": "/dashboard/setup/",
            "link_text": "Back to setup",
        },
        status=status,
    )


@require_perm(PERM_MANAGE)
@require_POST
def kick_connect(request: HttpRequest) -> HttpResponse:
    community = current_community(request)
    if community is None:
        return _fail(request, "Set up the community first.")
    if not (settings.KICK_CLIENT_ID and settings.KICK_CLIENT_SECRET):
        return _fail(request, "Set KICK_CLIENT_ID and KICK_CLIENT_SECRET first (see the README).")
    verifier, challenge = pkce_pair()
    state = secrets.token_urlsafe(32)
    request.session[SESSION_KEY] = {
        "state": state,
        "verifier": verifier,
        "community_id": community.pk,
        "expires": time.time() + STATE_TTL_S,
    }
    return redirect(
        authorize_url(
            base_url=settings.KICK_OAUTH_BASE_URL,
            client_id=settings.KICK_CLIENT_ID,
            redirect_uri=connect_redirect_uri(),
            scopes=SCOPES,
            state=state,
            code_challenge=challenge,
        )
    )


@require_perm(PERM_MANAGE)
@require_GET
def kick_callback(request: HttpRequest) -> HttpResponse:
    pending = request.session.pop(SESSION_KEY, None)  # single use, whatever happens next
    state = request.GET.get("state", "")
    if not isinstance(pending, dict) or not secrets.compare_digest(str(pending.get("state", "")), state):
        return _fail(request, "This Kick authorisation does not match one started here. Start again.")
    if time.time() > float(pending.get("expires", 0)):
        return _fail(request, "The Kick authorisation took longer than 10 minutes. Start again.")
    if request.GET.get("error"):
        return _fail(request, "Kick authorisation was cancelled; nothing changed.")
    code = request.GET.get("code", "")
    if not code or len(code) > 2048:
        return _fail(request, "Kick sent no authorisation code. Start again.")
    community = current_community(request)
    if community is None or community.pk != pending.get("community_id"):
        return _fail(request, "The community changed while authorising. Start again.")
    try:
        with oauth_client() as oauth:
            tokens = oauth.exchange_code(
                code=code, redirect_uri=connect_redirect_uri(), code_verifier=pending["verifier"]
            )
        api = KickApi(
            base_url=settings.KICK_API_BASE_URL,
            tokens=_Fixed(tokens.access_token),
            client=http_client_factory(),
            owns_client=True,
        )
        with api:
            users = api.get_users()
    except KickError as exc:
        log.warning("Kick connect failed: %s", type(exc).__name__)
        audit_record(
            action="kick.connect_failed",
            community=community,
            actor=request.user,
            data={"error": type(exc).__name__},
        )
        return _fail(request, "Kick refused the authorisation. Please try again.", status=502)
    if not users:
        return _fail(request, "Kick did not say which account authorised. Please try again.", status=502)
    me = users[0]
    kick_token_save(
        community=community, tokens=tokens, kick_user_id=me.user_id, kick_username=me.name, actor=request.user
    )
    messages.success(request, f"Kick connected as {me.name}.")
    return redirect("dashboard:setup")


class _Fixed:
    """A token provider for the one call made right after the exchange."""

    def __init__(self, token: str) -> None:
        self.token = token

    def get(self) -> str:
        return self.token

    def refresh(self) -> str:
        raise KickError("token refused right after authorisation")


@require_perm(PERM_MANAGE)
@require_POST
def kick_detect_ids(request: HttpRequest) -> HttpResponse:
    """Try Kick's website for the chatroom/channel/broadcaster ids; say plainly when it refuses."""
    community = current_community(request)
    if community is None:
        return redirect("dashboard:setup")
    try:
        ids = detect(community.kick_channel_slug)
    except KickIdsNotFound as exc:
        messages.error(request, exc.message)
    else:
        community_save(community=community, actor=request.user, **ids)
        messages.success(request, "Found the Kick ids: " + ", ".join(f"{k} {v}" for k, v in ids.items()))
    return redirect("dashboard:setup")
