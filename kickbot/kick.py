"""The community's Kick connection: token storage, refresh, and ready-made API clients.

This is the seam between the database (``KickToken``) and the HTTP clients in
``kickbot.integrations.kick``, which know nothing about Django.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

import httpx
from channels.db import database_sync_to_async
from django.conf import settings
from django.contrib.auth.models import AnonymousUser, User
from django.db import transaction
from django.utils import timezone

from kickbot.integrations.kick import AsyncKickApi, KickApi, KickAuthError, KickError, KickOAuth, TokenSet
from kickbot.models import Community, KickToken
from kickbot.redis_client import get_redis, key
from kickbot.services import audit_record

log = logging.getLogger(__name__)

SCOPES = ["user:read", "channel:read", "chat:write", "events:subscribe"]
REFRESH_AHEAD = timedelta(minutes=5)


def http_client_factory() -> httpx.Client:
    """Tests replace this to route Kick traffic to a fake."""
    return httpx.Client(timeout=10.0)


def async_http_client_factory() -> httpx.AsyncClient:
    return httpx.AsyncClient(timeout=10.0)


def oauth_client() -> KickOAuth:
    return KickOAuth(
        base_url=settings.KICK_OAUTH_BASE_URL,
        client_id=settings.KICK_CLIENT_ID,
        client_secret=settings.KICK_CLIENT_SECRET,
        client=http_client_factory(),
        owns_client=True,
    )


def connect_redirect_uri() -> str:
    return f"{settings.PUBLIC_BASE_URL}/dashboard/kick/callback/"


class KickNotConnected(KickError):
    """The community has no Kick token yet (connect Kick on the dashboard's setup page)."""


@transaction.atomic
def kick_token_save(
    *,
    community: Community,
    tokens: TokenSet,
    kick_user_id: int,
    kick_username: str,
    actor: User | AnonymousUser | None,
) -> KickToken:
    """Store freshly authorised tokens; the account becomes the bot's voice in chat."""
    row, _created = KickToken.objects.update_or_create(
        community=community,
        defaults={
            "kick_user_id": kick_user_id,
            "kick_username": kick_username,
            "access_token": tokens.access_token,
            "refresh_token": tokens.refresh_token,
            "expires_at": tokens.expires_at,
            "scope": tokens.scope,
            "refreshed_at": timezone.now(),
            "last_error": "",
            "last_error_at": None,
        },
    )
    Community.objects.filter(pk=community.pk).update(kick_bot_user_id=kick_user_id)
    audit_record(
        action="kick.connect",
        community=community,
        actor=actor,
        target=row,
        data={"kick_user_id": kick_user_id, "kick_username": kick_username, "scope": tokens.scope},
    )
    return row


def _record_refresh_error(community_id: int, message: str) -> None:
    KickToken.objects.filter(community_id=community_id).update(
        last_error=message[:255], last_error_at=timezone.now()
    )


def kick_token_refresh(*, community_id: int, force: bool = False) -> str:
    """Refresh the community's token when it is near expiry (or ``force``); returns the access token.

    One refresher at a time per community (a Redis lock); the HTTP call runs outside any
    database transaction. A failed refresh is recorded for the health page and re-raised.
    """
    row = KickToken.objects.filter(community_id=community_id).first()
    if row is None:
        raise KickNotConnected("Kick is not connected for this community")
    if not force and row.expires_at - timezone.now() > REFRESH_AHEAD:
        return row.access_token
    lock = get_redis().lock(key("lock", "kick-token", community_id), timeout=30, blocking_timeout=15)
    if not lock.acquire():
        raise KickError("another process is refreshing the Kick token")
    try:
        fresh = KickToken.objects.get(pk=row.pk)
        if fresh.access_token != row.access_token:  # someone else refreshed while we waited
            return fresh.access_token
        try:
            with oauth_client() as client:
                tokens = client.refresh(refresh_token=fresh.refresh_token)
        except KickError as exc:
            _record_refresh_error(community_id, f"{type(exc).__name__}: {exc}")
            log.warning("Kick token refresh failed for community %s: %s", community_id, type(exc).__name__)
            raise
        KickToken.objects.filter(pk=row.pk).update(
            access_token=tokens.access_token,  # the field encrypts on save, update() included
            refresh_token=tokens.refresh_token,
            expires_at=tokens.expires_at,
            scope=tokens.scope or fresh.scope,
            refreshed_at=timezone.now(),
            last_error="",
            last_error_at=None,
        )
        log.info("refreshed Kick token for community %s", community_id)
        return tokens.access_token
    finally:
        try:
            lock.release()
        except Exception:  # expired lock: nothing to release
            log.debug("kick token lock already expired")


class DbTokenProvider:
    """Sync token provider for KickApi: reads the stored token, refreshes when near expiry or on 401."""

    def __init__(self, community_id: int) -> None:
        self.community_id = community_id

    def get(self) -> str:
        return kick_token_refresh(community_id=self.community_id)

    def refresh(self) -> str:
        try:
            return kick_token_refresh(community_id=self.community_id, force=True)
        except KickAuthError:
            raise
        except KickError as exc:
            raise KickAuthError(str(exc)) from exc


class AsyncDbTokenProvider:
    """The same for AsyncKickApi: the database work runs in a thread.

    Not the shared sync thread (a refresh may wait on the lock and on Kick), but with Django's
    connection upkeep around every call like any other crossing: a pool thread's connection that
    the server closed (restart, failover) is replaced instead of failing every call until exit.
    """

    def __init__(self, community_id: int) -> None:
        self._sync = DbTokenProvider(community_id)

    async def get(self) -> str:
        return await database_sync_to_async(self._sync.get, thread_sensitive=False)()

    async def refresh(self) -> str:
        return await database_sync_to_async(self._sync.refresh, thread_sensitive=False)()


def kick_api(*, community_id: int) -> KickApi:
    return KickApi(
        base_url=settings.KICK_API_BASE_URL,
        tokens=DbTokenProvider(community_id),
        client=http_client_factory(),
        owns_client=True,
    )


def async_kick_api(*, community_id: int) -> AsyncKickApi:
    return AsyncKickApi(
        base_url=settings.KICK_API_BASE_URL,
        tokens=AsyncDbTokenProvider(community_id),
        client=async_http_client_factory(),
        owns_client=True,
    )


@dataclass(frozen=True)
class TokenState:
    connected: bool
    kick_username: str = ""
    expires_at: datetime | None = None
    expires_in_s: int | None = None
    last_error: str = ""
    scope: str = ""


def kick_token_state(*, community_id: int) -> TokenState:
    row = KickToken.objects.filter(community_id=community_id).first()
    if row is None:
        return TokenState(connected=False)
    return TokenState(
        connected=True,
        kick_username=row.kick_username,
        expires_at=row.expires_at,
        expires_in_s=int((row.expires_at - timezone.now()).total_seconds()),
        last_error=row.last_error,
        scope=row.scope,
    )
