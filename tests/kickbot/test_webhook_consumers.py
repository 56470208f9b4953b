"""Every webhook the web process accepts is read by the bot, with or without a Pusher chatroom."""

from __future__ import annotations

import asyncio
import base64
import json
from datetime import UTC, datetime
from typing import Any

import pytest
from asgiref.sync import sync_to_async
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding
from django.test import Client

from botworker.kick.component import KickIngestion, _config
from kickbot.models import Community
from kickbot.redis_client import get_async_redis, get_redis
from kickbot.selectors import kick_communities
from kickbot.webhook_stream import stream_key
from raffle.models import TicketEntry
from tests.botworker.kick.conftest import webhook
from tests.factories import CommunityFactory, raffle_open_now
from tests.fakes.kick_chat import until
from tests.kickbot.test_webhooks import KEY, PEM

pytestmark = pytest.mark.django_db(transaction=True)


def post_gift(community: Community) -> Any:
    """Kick's ``channel.subscription.gifts`` for ``community``, signed, through the real view."""
    event_type, message_id, raw = webhook("channel_subscription_gifts")
    body = json.loads(raw)
    body["broadcaster"]["user_id"] = community.kick_broadcaster_user_id
    body["created_at"] = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    data = json.dumps(body).encode()
    stamp = datetime.now(UTC).strftime("%Y-%m-%dt%H:%M:%S.%fz")
    signature = base64.b64encode(
        KEY.sign(f"{message_id}.{stamp}.".encode() + data, padding.PKCS1v15(), hashes.SHA256())
    ).decode()
    return Client().post(
        "/webhooks/kick/",
        data=data,
        content_type="application/json",
        HTTP_KICK_EVENT_MESSAGE_ID=message_id,
        HTTP_KICK_EVENT_MESSAGE_TIMESTAMP=stamp,
        HTTP_KICK_EVENT_SIGNATURE=signature,
        HTTP_KICK_EVENT_TYPE=event_type,
        HTTP_KICK_EVENT_VERSION="1",
    )


async def test_a_community_without_a_chatroom_id_has_its_accepted_webhooks_consumed(settings: Any) -> None:
    settings.KICK_WEBHOOK_PUBLIC_KEY = PEM

    def setup() -> Community:
        community = CommunityFactory(kick_chatroom_id=None, kick_channel_id=None)
        raffle_open_now(community, days=9)
        return community

    community = await sync_to_async(setup)()
    assert [r["id"] for r in await sync_to_async(kick_communities)()] == [community.pk]
    response = await sync_to_async(post_gift)(community)
    assert response.status_code == 200 and response.json() == {"detail": "queued"}

    redis = get_async_redis()
    ingestion = KickIngestion(
        communities=[_config(r) for r in await sync_to_async(kick_communities)()],
        redis=redis,
        lease_ttl_s=2.0,
        lease_renew_s=0.5,
    )
    stop = asyncio.Event()
    task = asyncio.create_task(ingestion.run(stop))
    try:

        def awarded() -> list[int]:
            return list(TicketEntry.objects.filter(source="gift").values_list("amount", flat=True))

        async def consumed() -> bool:
            return bool(await sync_to_async(awarded)())

        await until(consumed, within_s=20)
        assert await sync_to_async(awarded)() == [75]
        assert community.pk not in ingestion.listeners  # no chatroom: no Pusher, webhooks only
        # read and acknowledged (the ack follows the award)
        await until(lambda: get_redis().xpending(stream_key(community.pk), "ingest")["pending"] == 0)
    finally:
        stop.set()
        await asyncio.wait_for(task, timeout=10)
        await redis.aclose()
