"""The dashboard's live feed: one WebSocket group per community, history on connect.

Authorised at connect and kept honest afterwards (``dashboard/ws_access.py``): a role change
or a logout closes the socket, and each user has at most ``DASHBOARD_WS_MAX_PER_USER``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Any

from asgiref.sync import sync_to_async
from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncJsonWebsocketConsumer
from django.conf import settings

from dashboard.roles import PERM_VIEW
from dashboard.ws_access import (
    session_tag,
    user_group,
    ws_session_allows,
    ws_slot_release,
    ws_slot_take,
)
from kickbot.live import group_name, live_recent
from kickbot.models import Community

log = logging.getLogger(__name__)

# Close codes (4000-4999 are the application's): the page's script stops on these.
CLOSE_UNAUTHENTICATED, CLOSE_FORBIDDEN, CLOSE_NO_COMMUNITY, CLOSE_TOO_MANY = 4401, 4403, 4404, 4429


class DashboardConsumer(AsyncJsonWebsocketConsumer):
    """Joins ``?community=<id>`` (default: the first community) if the user may view it."""

    group: str | None = None
    user_id: int | None = None
    session_key: str | None = None
    holds_slot = False
    watcher: asyncio.Task[None] | None = None

    async def connect(self) -> None:
        user = self.scope.get("user")
        if user is None or not user.is_authenticated:
            await self.close(code=CLOSE_UNAUTHENTICATED)
            return
        if not await database_sync_to_async(user.has_perm)(PERM_VIEW):
            await self.close(code=CLOSE_FORBIDDEN)
            return
        community_id = await database_sync_to_async(self._community_id)()
        if community_id is None:
            await self.close(code=CLOSE_NO_COMMUNITY)
            return
        self.user_id = user.pk
        self.session_key = self.scope["session"].session_key
        if not await sync_to_async(ws_slot_take, thread_sensitive=False)(
            user_id=user.pk, channel=self.channel_name
        ):
            log.info("websocket refused: user %s has %s open", user.pk, settings.DASHBOARD_WS_MAX_PER_USER)
            await self.close(code=CLOSE_TOO_MANY)
            return
        self.holds_slot = True
        self.group = group_name(community_id)
        await self.channel_layer.group_add(self.group, self.channel_name)
        await self.channel_layer.group_add(user_group(user.pk), self.channel_name)
        await self.accept()
        await self.send_json({"type": "hello", "community": community_id})
        # Joined first, read second: an event published in between comes twice and the page
        # shows it once (by id); the other order could miss it.
        history = await sync_to_async(live_recent, thread_sensitive=False)(community_id=community_id)
        await self.send_json({"type": "history", "events": history})
        self.watcher = asyncio.get_running_loop().create_task(self._recheck_every())

    def _community_id(self) -> int | None:
        query = dict(
            part.split("=", 1)
            for part in self.scope.get("query_string", b"").decode().split("&")
            if "=" in part
        )
        qs = Community.objects.order_by("id")
        raw = query.get("community", "")
        if raw:
            if not raw.isdigit():
                return None
            qs = qs.filter(pk=int(raw))
        return qs.values_list("pk", flat=True).first()

    async def disconnect(self, code: int) -> None:
        if self.watcher is not None:
            self.watcher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self.watcher
        if self.group:
            await self.channel_layer.group_discard(self.group, self.channel_name)
        if self.user_id is not None and self.holds_slot:
            await self.channel_layer.group_discard(user_group(self.user_id), self.channel_name)
            await sync_to_async(ws_slot_release, thread_sensitive=False)(
                user_id=self.user_id, channel=self.channel_name
            )

    async def receive_json(self, content: Any, **kwargs: Any) -> None:
        # The feed is one-way; clients only listen.
        return

    async def live_event(self, message: dict[str, Any]) -> None:
        await self.send_json(
            {
                "type": "event",
                "id": message.get("id"),
                "ts": message.get("ts"),
                "kind": message["kind"],
                "data": message["data"],
            }
        )

    # --- staying authorised ------------------------------------------------------------------

    async def _still_allowed(self) -> bool:
        allowed = await database_sync_to_async(ws_session_allows)(
            user_id=self.user_id or 0, session_key=self.session_key
        )
        if not allowed:
            log.info("websocket of user %s closed: no longer allowed", self.user_id)
            await self.close(code=CLOSE_FORBIDDEN)
        return bool(allowed)

    async def _recheck_every(self) -> None:
        """The backstop for changes no signal reports (an expired session, a raw SQL edit)."""
        while True:
            await asyncio.sleep(settings.DASHBOARD_WS_RECHECK_SECONDS)
            try:
                if not await self._still_allowed():
                    return
                await sync_to_async(ws_slot_take, thread_sensitive=False)(
                    user_id=self.user_id or 0, channel=self.channel_name
                )
            except Exception:  # a Redis or database hiccup: keep the socket, try again next time
                log.warning("websocket recheck of user %s failed", self.user_id, exc_info=True)

    async def access_recheck(self, message: dict[str, Any]) -> None:
        await self._still_allowed()

    async def access_revoke(self, message: dict[str, Any]) -> None:
        if message.get("session") == session_tag(self.session_key):
            log.info("websocket of user %s closed: logged out", self.user_id)
            await self.close(code=CLOSE_UNAUTHENTICATED)
