"""The dashboard's live feed: one WebSocket group per community."""

from __future__ import annotations

from typing import Any

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncJsonWebsocketConsumer

from dashboard.roles import PERM_VIEW
from kickbot.live import group_name
from kickbot.models import Community


class DashboardConsumer(AsyncJsonWebsocketConsumer):
    """Joins ``?community=<id>`` (default: the first community) if the user may view it."""

    group: str | None = None

    async def connect(self) -> None:
        user = self.scope.get("user")
        if user is None or not user.is_authenticated:
            await self.close(code=4401)
            return
        if not await database_sync_to_async(user.has_perm)(PERM_VIEW):
            await self.close(code=4403)
            return
        community_id = await database_sync_to_async(self._community_id)()
        if community_id is None:
            await self.close(code=4404)
            return
        self.group = group_name(community_id)
        await self.channel_layer.group_add(self.group, self.channel_name)
        await self.accept()
        await self.send_json({"type": "hello", "community": community_id})

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
        if self.group:
            await self.channel_layer.group_discard(self.group, self.channel_name)

    async def receive_json(self, content: Any, **kwargs: Any) -> None:
        # The feed is one-way; clients only listen.
        return

    async def live_event(self, message: dict[str, Any]) -> None:
        await self.send_json({"type": "event", "kind": message["kind"], "data": message["data"]})
