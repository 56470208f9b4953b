"""Only refused webhook requests count against an address; signed deliveries are never rate limited."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from kickbot.models import Community
from tests.kickbot.test_webhooks import PEM, body_for, deliver, queued

pytestmark = pytest.mark.django_db

LIMIT = 10


@pytest.fixture(autouse=True)
def _settings(settings: Any) -> None:
    settings.KICK_WEBHOOK_PUBLIC_KEY = PEM
    settings.KICK_WEBHOOK_RATE_LIMIT_PER_MINUTE = LIMIT


def unsigned(client: Client, address: str = "127.0.0.1") -> int:
    """An unsigned request from ``address`` (the test client's own address by default, as ``deliver``)."""
    response = client.post(
        "/webhooks/kick/", data=b"{}", content_type="application/json", REMOTE_ADDR=address
    )
    return int(response.status_code)


def test_an_unsigned_flood_is_limited_after_the_limit(client: Client) -> None:
    statuses = [unsigned(client) for _ in range(LIMIT + 5)]
    assert statuses == [403] * LIMIT + [429] * 5


def test_a_genuine_delivery_after_an_unsigned_flood_from_the_same_address_is_queued(
    client: Client, community: Community
) -> None:
    for _ in range(LIMIT * 3):
        unsigned(client)
    assert unsigned(client) == 429
    response = deliver(client, body_for(community))
    assert response.status_code == 200 and response.json() == {"detail": "queued"}
    assert queued(community) == 1


def test_signed_deliveries_never_count_against_the_limit(client: Client, community: Community) -> None:
    for n in range(LIMIT * 2):
        response = deliver(client, body_for(community), message_id=f"01JGENUINE{n:04d}")
        assert response.status_code == 200, n
    assert unsigned(client) == 403  # the first refusal of this address
    assert queued(community) == LIMIT * 2


def test_another_address_is_not_limited_by_a_flood(client: Client) -> None:
    for _ in range(LIMIT + 1):
        unsigned(client)
    assert unsigned(client, "198.51.100.4") == 403
