"""``POST /webhooks/kick/``: verify, deduplicate, hand to the bot, answer 200 fast.

Kick retries a delivery until it gets a 200 and unsubscribes apps that keep failing, so the
work happens in the bot process (a Redis stream per community), never in the request.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime

import orjson
import redis
from django.conf import settings
from django.core.cache import cache
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from kickbot.edge import WEBHOOK_BODY_MAX_BYTES
from kickbot.integrations.kick.parsers import WEBHOOK_VERSIONS, webhook_event_types
from kickbot.integrations.kick.webhooks import (
    KICK_PUBLIC_KEY_PEM,
    SignatureError,
    parse_timestamp,
    verify_signature,
)
from kickbot.models import Community
from kickbot.ratelimit import client_ip, rate_limit_exceeded
from kickbot.redis_client import get_redis, key
from kickbot.webhook_stream import webhook_enqueue

log = logging.getLogger(__name__)

MAX_BODY_BYTES = WEBHOOK_BODY_MAX_BYTES  # also refused while it arrives (kickbot/edge.py)
REFUSALS = frozenset({400, 403, 413})  # what an unsigned or forged request gets
SEEN_TTL_S = 7 * 24 * 3600


def _answer(status: int, detail: str) -> JsonResponse:
    return JsonResponse({"detail": detail}, status=status)


def public_key_pem() -> str:
    return settings.KICK_WEBHOOK_PUBLIC_KEY or KICK_PUBLIC_KEY_PEM


def _community_id_for(broadcaster_user_id: int) -> int | None:
    cache_key = f"webhook-community:{broadcaster_user_id}"
    found = cache.get(cache_key)
    if found is None:
        found = (
            Community.objects.filter(kick_broadcaster_user_id=broadcaster_user_id)
            .values_list("pk", flat=True)
            .first()
            or 0
        )
        cache.set(cache_key, found, 60)
    return int(found) or None


@csrf_exempt
@require_POST
def kick_webhook(request: HttpRequest) -> HttpResponse:
    """Only refusals count against an address: a flood of unsigned requests from Kick's (or the
    proxy's) address must never get a genuine signed delivery a 429, or Kick unsubscribes us."""
    response = _kick_webhook(request)
    if response.status_code in REFUSALS and rate_limit_exceeded(
        scope="webhook-refused",
        ident=client_ip(request),
        limit=settings.KICK_WEBHOOK_RATE_LIMIT_PER_MINUTE,
        window_seconds=60,
    ):
        return _answer(429, "rate limited")
    return response


def _kick_webhook(request: HttpRequest) -> JsonResponse:
    try:
        length = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        length = 0
    if length > MAX_BODY_BYTES:
        return _answer(413, "body too large")
    body = request.body
    if len(body) > MAX_BODY_BYTES:
        return _answer(413, "body too large")
    headers = request.headers
    message_id = headers.get("Kick-Event-Message-Id", "")
    timestamp = headers.get("Kick-Event-Message-Timestamp", "")
    signature = headers.get("Kick-Event-Signature", "")
    event_type = headers.get("Kick-Event-Type", "")
    if not signature:
        return _answer(403, "missing signature")
    if not message_id or not timestamp or not event_type or len(message_id) > 64 or len(event_type) > 64:
        return _answer(400, "missing Kick-Event headers")
    try:
        verify_signature(
            public_key_pem=public_key_pem(),
            message_id=message_id,
            timestamp=timestamp,
            body=body,
            signature=signature,
        )
    except SignatureError:
        log.warning("refused a webhook with a bad signature from %s", client_ip(request))
        return _answer(403, "bad signature")
    try:
        sent_at = parse_timestamp(timestamp)
    except ValueError:
        return _answer(400, "bad timestamp")
    age = abs((datetime.now(UTC) - sent_at).total_seconds())
    if age > settings.KICK_WEBHOOK_MAX_AGE_SECONDS:
        log.warning("refused a stale webhook %s (%.0f s old)", event_type, age)
        return _answer(400, "stale timestamp")
    if event_type not in webhook_event_types():
        log.info("ignored webhook of unknown type %s", event_type[:64])
        return _answer(200, "ignored")
    # Absent only in deliveries older than the header; every documented event is version 1.
    version = headers.get("Kick-Event-Version", "1").strip() or "1"
    if version not in WEBHOOK_VERSIONS:
        # Read as version 1 it could count wrong; a 200 would lose it. Kick retries anything else.
        log.warning("refused a %s webhook of version %s: not one this bot reads", event_type, version[:16])
        return _answer(503, "unsupported event version")
    try:
        payload = orjson.loads(body)
        broadcaster_id = int(payload["broadcaster"]["user_id"])
    except (orjson.JSONDecodeError, KeyError, TypeError, ValueError):
        log.info("ignored %s webhook without a broadcaster", event_type)
        return _answer(200, "ignored")
    community_id = _community_id_for(broadcaster_id)
    if community_id is None:
        log.info("ignored %s webhook for unknown broadcaster %s", event_type, broadcaster_id)
        return _answer(200, "ignored")
    seen = key("webhook-seen", message_id)
    try:
        client = get_redis()
        # Kick-Event-Message-Id is the idempotency key: a retried delivery is accepted, not queued again.
        if not client.set(seen, b"1", nx=True, ex=SEEN_TTL_S):
            return _answer(200, "duplicate")
        try:
            webhook_enqueue(
                client,
                community_id=community_id,
                event_type=event_type,
                message_id=message_id,
                body=body,
                version=version,
            )
        except redis.RedisError:
            client.delete(seen)  # not queued: Kick's retry must get through
            raise
    except redis.RedisError:
        log.exception("could not queue a %s webhook", event_type)
        return _answer(503, "try again")  # Kick retries
    return _answer(200, "queued")
