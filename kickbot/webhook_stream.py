"""The Redis stream that carries verified webhook deliveries from the web process to the bot.

The web view appends (:func:`webhook_enqueue`) and answers 200 at once; the bot's reader
(``botworker.kick.webhook_queue.WebhookReader``) consumes it as group :data:`GROUP`.
"""

from __future__ import annotations

import redis

from kickbot.redis_client import key

GROUP = "ingest"
MAXLEN = 10_000


def stream_key(community_id: int) -> str:
    return key("webhooks", community_id)


def webhook_enqueue(
    client: redis.Redis,
    *,
    community_id: int,
    event_type: str,
    message_id: str,
    body: bytes,
    version: str = "1",
) -> None:
    """Hand one verified delivery to the bot (sync: called from the web view)."""
    client.xadd(
        stream_key(community_id),
        {"type": event_type, "id": message_id, "body": body, "version": version},
        maxlen=MAXLEN,
        approximate=True,
    )
