"""Live events for the dashboard feed, published after the transaction that caused them commits."""

from __future__ import annotations

import logging
from typing import Any

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.db import transaction

log = logging.getLogger(__name__)


def group_name(community_id: int) -> str:
    return f"dashboard.{community_id}"


def live_publish(*, community_id: int, kind: str, data: dict[str, Any]) -> None:
    """Send ``{kind, data}`` to the community's dashboard group on commit. Never raises."""

    def send() -> None:
        layer = get_channel_layer()
        if layer is None:
            return
        try:
            async_to_sync(layer.group_send)(
                group_name(community_id), {"type": "live.event", "kind": kind, "data": data}
            )
        except Exception:
            log.warning("live publish of %s failed", kind, exc_info=True)

    transaction.on_commit(send)
