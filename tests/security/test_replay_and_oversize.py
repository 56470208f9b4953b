"""Webhook replays and oversized bodies: refused before any work, nothing queued or written."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import time_machine
from django.test import Client

from accounts.models import Link
from kickbot.models import Community
from tests.kickbot.test_webhooks import PEM, body_for, deliver, queued

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _key(settings: Any) -> None:
    settings.KICK_WEBHOOK_PUBLIC_KEY = PEM


def test_an_old_signed_delivery_replayed_later_is_refused(client: Client, community: Community) -> None:
    sent_at = datetime.now(UTC) - timedelta(minutes=10)
    # The genuine delivery, captured by an attacker when it was fresh...
    with time_machine.travel(sent_at, tick=False):
        assert deliver(client, body_for(community), message_id="01JOLD", when=sent_at).status_code == 200
    # ...and replayed ten minutes later with its valid signature and a new message id is stale.
    response = deliver(client, body_for(community), message_id="01JOLD2", when=sent_at)
    assert response.status_code == 400 and response.json() == {"detail": "stale timestamp"}
    assert queued(community) == 1


def test_the_same_delivery_id_twice_is_queued_once(client: Client, community: Community) -> None:
    first = deliver(client, body_for(community), message_id="01JTWICE")
    second = deliver(client, body_for(community), message_id="01JTWICE")
    assert (first.json()["detail"], second.json()["detail"]) == ("queued", "duplicate")
    assert queued(community) == 1


def test_a_replay_with_another_body_under_the_same_signature_is_refused(
    client: Client, community: Community
) -> None:
    body = body_for(community, content="!gtb 100")
    response = deliver(client, body, tamper=body.replace(b"100", b"999"))
    assert response.status_code == 403
    assert queued(community) == 0


def test_an_oversized_webhook_body_is_refused_with_413(client: Client, community: Community) -> None:
    body = body_for(community, content="x" * (300 * 1024))
    assert deliver(client, body).status_code == 413
    assert queued(community) == 0


def test_an_oversized_webhook_body_with_a_lying_content_length_is_refused(
    client: Client, community: Community
) -> None:
    body = b"{" + b" " * (300 * 1024) + b"}"
    response = client.generic(
        "POST",
        "/webhooks/kick/",
        data=body,
        content_type="application/json",
        HTTP_KICK_EVENT_SIGNATURE="x",
        CONTENT_LENGTH="10",
    )
    assert response.status_code in (400, 403, 413)
    assert queued(community) == 0


def test_an_oversized_form_post_is_refused_with_400(client: Client, viewer: Any, settings: Any) -> None:
    big = "x" * (settings.DATA_UPLOAD_MAX_MEMORY_SIZE + 1)
    response = client.post("/dashboard/login/", {"username": viewer.username, "password": big})
    assert response.status_code == 400
    assert "_auth_user_id" not in client.session


def test_a_form_post_with_too_many_fields_is_refused_with_400(client: Client, admin_user: Any) -> None:
    client.force_login(admin_user)
    data = {f"f{i}": "1" for i in range(1200)}
    response = client.post("/dashboard/setup/", data)
    assert response.status_code == 400


def test_a_huge_link_token_is_refused_without_work(client: Client, community: Community) -> None:
    response = client.get("/link/start/", {"t": "A" * 100_000})
    assert response.status_code == 400
    assert not Link.objects.exists()
