"""Live events for the dashboard feed, published after the transaction that caused them commits.

Each event is also kept in a Redis stream of the community's last :data:`HISTORY` events, so a
page that (re)connects shows what happened before it (issue 15). The stream id is the event's id:
ids only grow, so a client that already showed an event skips it when the history comes again.
"""

from __future__ import annotations

import json
import logging
import time
from typing import Any

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.db import transaction

from kickbot.redis_client import get_redis, key

log = logging.getLogger(__name__)

HISTORY = 50


def group_name(community_id: int) -> str:
    return f"dashboard.{community_id}"


def _history_key(community_id: int) -> str:
    return key("live", community_id)


def live_publish(*, community_id: int, kind: str, data: dict[str, Any]) -> None:
    """Send ``{kind, data}`` to the community's dashboard group on commit, and keep it in the
    community's history. Never raises."""

    def send() -> None:
        event: dict[str, Any] = {"id": None, "ts": round(time.time(), 3), "kind": kind, "data": data}
        try:
            raw = json.dumps({"ts": event["ts"], "kind": kind, "data": data}, default=str)
            entry_id: Any = get_redis().xadd(_history_key(community_id), {"e": raw}, maxlen=HISTORY)
            event["id"] = entry_id.decode()
        except Exception:
            log.warning("live history of %s not kept", kind, exc_info=True)
        layer = get_channel_layer()
        if layer is None:
            return
        try:
            async_to_sync(layer.group_send)(group_name(community_id), {"type": "live.event", **event})
        except Exception:
            log.warning("live publish of %s failed", kind, exc_info=True)

    transaction.on_commit(send)


def live_recent(*, community_id: int, limit: int = HISTORY) -> list[dict[str, Any]]:
    """The community's last ``limit`` events, oldest first: ``{id, ts, kind, data}`` each."""
    rows: Any = get_redis().xrevrange(_history_key(community_id), count=limit)
    events = []
    for entry_id, fields in reversed(rows):
        try:
            stored = json.loads(fields[b"e"])
        except (KeyError, ValueError):
            continue
        events.append({"id": entry_id.decode(), **stored})
    return events
