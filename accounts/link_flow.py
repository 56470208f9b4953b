"""The link flow: link requests, the OAuth round trip with Kick, the link written.

Flow (accounts/README.md): ``link_request_create`` → signed URL (nonce only, 10 minutes, single use)
→ ``link_start`` burns the nonce, stores an ``OAuthState`` and returns Kick's authorize URL
→ ``link_callback`` burns the state, exchanges the code, reads the Kick user and writes the link.
Every outcome writes an audit row and, when link logs are on, a link-log outbox row.
No HTTP runs inside a database transaction; no token, code, state or signed URL is logged.
"""

from __future__ import annotations

import logging
import secrets
import unicodedata
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, NoReturn

import httpx
from django.conf import settings
from django.core import signing
from django.db import IntegrityError, transaction
from django.utils import timezone

from accounts.errors import LinkFailed, LinkingDisabled
from accounts.models import KickUser, Link, LinkLogConfig, LinkRequest, OAuthState
from kickbot.integrations.kick.api import KickApi
from kickbot.integrations.kick.errors import KickAuthError, KickError, KickUnavailable
from kickbot.integrations.kick.oauth import KickOAuth, authorize_url, pkce_pair
from kickbot.live import live_publish
from kickbot.services import audit_record, audit_record_counted
from kickbot.text import discord_safe
from outbox.models import OutboxMessage
from outbox.services import outbox_enqueue

if TYPE_CHECKING:
    pass

log = logging.getLogger(__name__)

LINK_SALT = "kickbot.accounts.link"
LINK_TTL = timedelta(minutes=10)
STATE_TTL = timedelta(minutes=10)
AUDIT_REFUSAL_WINDOW = timedelta(hours=1)
KICK_LINK_SCOPES = ["user:read"]


def kick_oauth_client_factory() -> httpx.Client:
    """The HTTP client for Kick OAuth and REST calls of the link flow (tests swap it for a MockTransport)."""
    return httpx.Client(timeout=httpx.Timeout(10.0, connect=5.0))


def linking_enabled() -> bool:
    return bool(settings.KICK_CLIENT_ID and settings.KICK_CLIENT_SECRET)


def link_redirect_uri() -> str:
    return f"{settings.PUBLIC_BASE_URL}/link/callback/"


def _text(value: str) -> str:
    """Viewer-supplied text made inert for a Discord message (no markdown, no mentions)."""
    return discord_safe(value)


@dataclass(frozen=True)
class LinkOffer:
    url: str
    expires_at: datetime


@dataclass(frozen=True)
class LinkOutcome:
    discord_user_id: int
    kick_user_id: int
    kick_username: str
    change: str  # "created" | "unchanged" | "replaced"
    community_name: str
    discord_display_name: str = ""
    discord_username: str = ""


@dataclass(frozen=True)
class LinkPreview:
    """What the link page shows before anyone is sent to Kick: whose Discord account this link is for."""

    discord_user_id: int
    discord_display_name: str
    discord_username: str
    discord_avatar_url: str
    community_name: str
    expires_at: datetime


# Discord serves avatars from its CDN only; anything else is not shown (no tracking pixel, no XSS).
DISCORD_AVATAR_PREFIX = "https://cdn.discordapp.com/"


def _member_text(value: str, max_length: int = 64) -> str:
    """A Discord name as plain text: control characters dropped, trimmed to fit its column."""
    text = "".join(ch for ch in str(value) if unicodedata.category(ch)[0] != "C")
    return text.strip()[:max_length]


def _avatar_url(value: str) -> str:
    url = str(value).strip()
    if not url.startswith(DISCORD_AVATAR_PREFIX) or len(url) > 500:
        return ""
    if any(ch.isspace() or ch in "\"'<>\\" or unicodedata.category(ch)[0] == "C" for ch in url):
        return ""
    return url


# --- the signed URL ----------------------------------------------------------------------


def link_request_create(
    *,
    community_id: int,
    discord_user_id: int,
    discord_username: str = "",
    discord_display_name: str = "",
    discord_avatar_url: str = "",
) -> LinkOffer:
    """Make a single-use, 10-minute link URL for a Discord user; their older unused links stop working.

    The member's name and avatar are stored so the link page can say whose account it links.
    """
    if not linking_enabled():
        raise LinkingDisabled("Linking is not set up on this bot yet (no Kick app configured).")
    now = timezone.now()
    nonce = secrets.token_urlsafe(32)
    with transaction.atomic():
        LinkRequest.objects.filter(discord_user_id=discord_user_id, used_at__isnull=True).update(used_at=now)
        request = LinkRequest.objects.create(
            nonce=nonce,
            community_id=community_id,
            discord_user_id=discord_user_id,
            discord_username=_member_text(discord_username),
            discord_display_name=_member_text(discord_display_name),
            discord_avatar_url=_avatar_url(discord_avatar_url),
            expires_at=now + LINK_TTL,
        )
        audit_record(
            action="link.request",
            community=request.community,
            actor_label=f"discord:{discord_user_id}",
            target=request,
        )
    token = signing.dumps(nonce, salt=LINK_SALT)
    return LinkOffer(url=f"{settings.PUBLIC_BASE_URL}/link/start/?t={token}", expires_at=request.expires_at)


# --- refusals ----------------------------------------------------------------------------

_REFUSALS: dict[str, tuple[int, str]] = {
    "bad_signature": (400, "This link is not valid. Ask the bot for a new one with /link."),
    "unknown_request": (400, "This link is not valid. Ask the bot for a new one with /link."),
    "expired": (410, "This link has expired (links last 10 minutes). Ask the bot for a new one with /link."),
    "used": (410, "This link was already used. Ask the bot for a new one with /link."),
    "missing_state": (400, "This page was opened without a login state. Start again with /link."),
    "unknown_state": (400, "This login attempt is not known. Start again with /link."),
    "state_used": (410, "This login attempt was already finished. Start again with /link."),
    "state_expired": (410, "This login attempt took longer than 10 minutes. Start again with /link."),
    "state_other_browser": (
        400,
        "This login was started in another browser, so nothing was linked and this login can no "
        "longer be used. If the link was yours, ask the bot for a new one with /link and open it yourself.",
    ),
    "denied": (400, "You cancelled the login on Kick, so nothing was linked. Start again with /link."),
    "kick_error": (502, "Kick did not confirm the login. Nothing was linked; please try again with /link."),
    "kick_unreachable": (502, "Kick could not be reached. Nothing was linked; please try again later."),
    "kick_account_taken": (
        409,
        "That Kick account is already linked to another Discord account. "
        "Ask a moderator if this is your account.",
    ),
    "disabled": (503, "Linking is not set up on this bot yet."),
}


def _link_log_enqueue(*, request: LinkRequest, text: str, key: str) -> None:
    cfg = LinkLogConfig.objects.filter(community_id=request.community_id, enabled=True).first()
    if cfg is None or cfg.channel_id is None:
        return
    outbox_enqueue(
        community=request.community,
        kind=OutboxMessage.Kind.DISCORD_MESSAGE,
        target=cfg.channel_id,
        payload={"content": text},
        dedupe_key=f"linklog:{request.nonce}:{key}",
    )


def _refuse(*, reason: str, stage: str, request: LinkRequest | None = None) -> NoReturn:
    """Audit (and link-log) a refusal in its own transaction, then raise it for the page."""
    status, message = _REFUSALS[reason]
    with transaction.atomic():
        # Anyone can repeat a refusal (a made-up state, a replayed callback URL) as often as they
        # like: one row per link request (or "anonymous") and reason per hour, counting repeats.
        audit_record_counted(
            action="link.refused",
            key=f"{request.pk if request else 'anonymous'}:{reason}",
            window=AUDIT_REFUSAL_WINDOW,
            community=request.community if request else None,
            actor_label=f"discord:{request.discord_user_id}" if request else "anonymous",
            data={"reason": reason, "stage": stage} | ({"link_request_id": request.pk} if request else {}),
        )
        if request is not None:
            _link_log_enqueue(
                request=request,
                text=f"⚠️ Link attempt by <@{request.discord_user_id}> refused: {reason.replace('_', ' ')}.",
                key=f"refused:{reason}",
            )
    log.info(
        "link %s refused: %s (discord user %s)",
        stage,
        reason,
        request.discord_user_id if request else "unknown",
    )
    raise LinkFailed(message, reason=reason, status=status)


# --- /link/start/ ------------------------------------------------------------------------


def _request_for_token(*, token: str, stage: str) -> LinkRequest:
    """The link request a signed link names, or a refusal (forged, unknown, expired, disabled)."""
    try:
        nonce = signing.loads(token, salt=LINK_SALT, max_age=LINK_TTL)
    except signing.SignatureExpired:
        # The signature is genuine, only old: find the request so the refusal is attributed.
        nonce = signing.loads(token, salt=LINK_SALT)
        _refuse(reason="expired", stage=stage, request=_request_by_nonce(nonce))
    except signing.BadSignature:
        _refuse(reason="bad_signature", stage=stage)
    request = _request_by_nonce(nonce)
    if request is None:
        _refuse(reason="unknown_request", stage=stage)
    if not linking_enabled():
        _refuse(reason="disabled", stage=stage, request=request)
    return request


def link_preview(*, token: str) -> LinkPreview:
    """Check a signed link without using it: whose Discord account it links, for the page to confirm."""
    request = _request_for_token(token=token, stage="preview")
    if request.used_at is not None:
        _refuse(reason="used", stage="preview", request=request)
    if request.expires_at <= timezone.now():
        _refuse(reason="expired", stage="preview", request=request)
    return LinkPreview(
        discord_user_id=request.discord_user_id,
        discord_display_name=request.discord_display_name,
        discord_username=request.discord_username,
        discord_avatar_url=request.discord_avatar_url,
        community_name=str(request.community),
        expires_at=request.expires_at,
    )


def link_start(*, token: str) -> str:
    """Verify the signed link, burn its nonce and store an OAuth state; returns Kick's authorize URL.

    Called on the link page's confirmation (a POST), never on merely opening the link.
    """
    request = _request_for_token(token=token, stage="start")

    now = timezone.now()
    verifier, challenge = pkce_pair()
    state = secrets.token_urlsafe(32)
    with transaction.atomic():
        burned = LinkRequest.objects.filter(pk=request.pk, used_at__isnull=True, expires_at__gt=now).update(
            used_at=now
        )
        if burned:
            OAuthState.objects.create(
                state=state,
                provider=OAuthState.Provider.KICK,
                link_request=request,
                code_verifier=verifier,
                expires_at=now + STATE_TTL,
            )
            audit_record(
                action="link.start",
                community=request.community,
                actor_label=f"discord:{request.discord_user_id}",
                target=request,
            )
    if not burned:
        request.refresh_from_db(fields=["used_at"])
        _refuse(reason="used" if request.used_at else "expired", stage="start", request=request)
    return authorize_url(
        base_url=settings.KICK_OAUTH_BASE_URL,
        client_id=settings.KICK_CLIENT_ID,
        redirect_uri=link_redirect_uri(),
        scopes=KICK_LINK_SCOPES,
        state=state,
        code_challenge=challenge,
    )


def _request_by_nonce(nonce: object) -> LinkRequest | None:
    if not isinstance(nonce, str):
        return None
    return LinkRequest.objects.filter(nonce=nonce).select_related("community").first()


# --- /link/callback/ ---------------------------------------------------------------------


class _OneShotToken:
    """A token provider for one fresh access token: nothing to refresh within the callback."""

    def __init__(self, token: str) -> None:
        self._token = token

    def get(self) -> str:
        return self._token

    def refresh(self) -> str:
        raise KickAuthError("Kick rejected a token it just issued")


def _kick_user_fetch(*, code: str, code_verifier: str) -> tuple[int, str]:
    """Exchange the code and read the token's own Kick user: (user_id, username). No DB here."""
    with kick_oauth_client_factory() as client:
        tokens = KickOAuth(
            base_url=settings.KICK_OAUTH_BASE_URL,
            client_id=settings.KICK_CLIENT_ID,
            client_secret=settings.KICK_CLIENT_SECRET,
            client=client,
        ).exchange_code(code=code, redirect_uri=link_redirect_uri(), code_verifier=code_verifier)
        users = KickApi(
            base_url=settings.KICK_API_BASE_URL,
            tokens=_OneShotToken(tokens.access_token),
            client=client,
            max_retries=1,  # a person is waiting on this page
        ).get_users()
    if not users:
        raise LookupError("Kick returned no user for the token")
    return int(users[0].user_id), str(users[0].name)


def link_callback(*, state: str, code: str, browser_state: str, error: str = "") -> LinkOutcome:
    """Finish a link: state once and unexpired (provider kick), code exchange, Kick user, link write.

    ``browser_state`` is the state remembered by the browser that opened /link/start/ (a signed
    cookie): a state completed in another browser is refused, so nobody can hand Kick's authorise
    URL of their own link to a victim and get the victim's Kick account linked to themselves.
    """
    if not state:
        _refuse(reason="missing_state", stage="callback")
    row = OAuthState.objects.filter(state=state).select_related("link_request__community").first()
    # A state of another provider is unknown here (docs/lessons.md #9).
    if row is None or row.provider != OAuthState.Provider.KICK:
        _refuse(reason="unknown_state", stage="callback")
    request = row.link_request
    # Burned by whoever presents it first, refused or not: a callback URL that was opened in the
    # wrong browser (carrying a code for somebody's Kick login) can never be replayed in the
    # starter's browser to finish the link with that login.
    now = timezone.now()
    burned = OAuthState.objects.filter(
        pk=row.pk, provider=OAuthState.Provider.KICK, used_at__isnull=True, expires_at__gt=now
    ).update(used_at=now)
    if not burned:
        _refuse(reason="state_used" if row.used_at else "state_expired", stage="callback", request=request)
    if not secrets.compare_digest(browser_state.encode(), state.encode()):
        _refuse(reason="state_other_browser", stage="callback", request=request)
    if error:
        _refuse(
            reason="denied" if error == "access_denied" else "kick_error", stage="callback", request=request
        )
    if not code:
        _refuse(reason="kick_error", stage="callback", request=request)

    try:
        kick_user_id, kick_username = _kick_user_fetch(code=code, code_verifier=row.code_verifier)
    except (KickError, httpx.HTTPError, LookupError) as exc:
        # The type only: Kick's error text may quote the request.
        log.warning("kick code exchange or user read failed: %s", type(exc).__name__)
        unreachable = isinstance(exc, KickUnavailable | httpx.TransportError)
        _refuse(reason="kick_unreachable" if unreachable else "kick_error", stage="callback", request=request)

    try:
        outcome = _link_write(request=request, kick_user_id=kick_user_id, kick_username=kick_username)
    except (_Taken, IntegrityError):  # IntegrityError: a concurrent callback took the account first
        _refuse(reason="kick_account_taken", stage="callback", request=request)
    log.info(
        "linked discord user %s to kick user %s (%s)", request.discord_user_id, kick_user_id, outcome.change
    )
    return outcome


class _Taken(Exception):
    pass


@transaction.atomic
def _link_write(*, request: LinkRequest, kick_user_id: int, kick_username: str) -> LinkOutcome:
    discord_user_id = request.discord_user_id
    kick_user, _ = KickUser.objects.update_or_create(
        user_id=kick_user_id, defaults={"username": kick_username}
    )
    holder = Link.objects.select_for_update().filter(kick_user=kick_user).first()
    if holder is not None and holder.discord_user_id != discord_user_id:
        raise _Taken
    previous = Link.objects.select_for_update().filter(discord_user_id=discord_user_id).first()
    if holder is not None:
        change = "unchanged"
    elif previous is not None:
        change = "replaced"
        previous_kick = previous.kick_user_id
        previous.kick_user = kick_user
        previous.save(update_fields=["kick_user", "updated_at"])
    else:
        change = "created"
        try:
            with transaction.atomic():
                Link.objects.create(discord_user_id=discord_user_id, kick_user=kick_user)
        except IntegrityError as exc:  # a concurrent callback linked the same Kick account first
            raise _Taken from exc
    link = Link.objects.get(discord_user_id=discord_user_id)
    audit_record(
        action=f"link.{change}",
        community=request.community,
        actor_label=f"discord:{discord_user_id}",
        target=link,
        data={"kick_user_id": kick_user_id, "kick_username": kick_username}
        | ({"previous_kick_user_id": previous_kick} if change == "replaced" else {}),
    )
    name = _text(kick_username)
    outbox_enqueue(
        community=request.community,
        kind=OutboxMessage.Kind.DISCORD_MESSAGE,
        target=discord_user_id,
        payload={"content": f"✅ Your Discord account is linked to the Kick account **{name}**.", "dm": True},
        dedupe_key=f"linkdm:{request.nonce}",
    )
    _link_log_enqueue(
        request=request,
        text=f"🔗 <@{discord_user_id}> linked Kick account **{name}** ({change}).",
        key="ok",
    )
    live_publish(
        community_id=request.community_id,
        kind="link",
        data={"text": f"{kick_username} linked their Discord ({change})"},
    )
    return LinkOutcome(
        discord_user_id=discord_user_id,
        kick_user_id=kick_user_id,
        kick_username=kick_username,
        change=change,
        community_name=str(request.community),
        discord_display_name=request.discord_display_name,
        discord_username=request.discord_username,
    )
