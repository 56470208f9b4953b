from __future__ import annotations

from typing import Any

import pytest
from asgiref.sync import sync_to_async
from channels.testing import WebsocketCommunicator
from django.conf import settings
from django.db import transaction
from django.test import Client

from kickbot.asgi import application
from kickbot.live import live_publish
from kickbot.models import Community
from tests.factories import CommunityFactory

pytestmark = pytest.mark.django_db(transaction=True)


def _cookie_for(user: Any) -> bytes:
    client = Client()
    client.force_login(user)
    return f"{settings.SESSION_COOKIE_NAME}={client.cookies[settings.SESSION_COOKIE_NAME].value}".encode()


async def _connect(user: Any | None, query: str = "") -> tuple[WebsocketCommunicator, bool, Any]:
    headers = [(b"origin", b"http://localhost:8000"), (b"host", b"localhost:8000")]
    if user is not None:
        headers.append((b"cookie", await sync_to_async(_cookie_for)(user)))
    comm = WebsocketCommunicator(application, f"/ws/dashboard/{query}", headers=headers)
    connected, code = await comm.connect(timeout=5)
    return comm, connected, code


async def test_anonymous_websocket_is_refused(community: Community) -> None:
    comm, connected, code = await _connect(None)
    assert not connected
    assert code == 4401


async def test_user_without_dashboard_permission_is_refused(community: Community) -> None:
    from tests.factories import UserFactory

    nobody = await sync_to_async(UserFactory)(username="nobody")
    comm, connected, code = await _connect(nobody)
    assert not connected
    assert code == 4403


async def _joined(user: Any, query: str = "") -> tuple[WebsocketCommunicator, list[dict[str, Any]]]:
    """Connected, past the hello; returns the history it was sent."""
    comm, connected, code = await _connect(user, query)
    assert connected, code
    assert (await comm.receive_json_from(timeout=5))["type"] == "hello"
    history = await comm.receive_json_from(timeout=5)
    assert history["type"] == "history"
    return comm, history["events"]


def _publish(community_id: int, text: str, kind: str = "tickets.award") -> None:
    with transaction.atomic():
        live_publish(community_id=community_id, kind=kind, data={"text": text})


async def test_viewer_receives_events_published_on_commit(community: Community, viewer: Any) -> None:
    comm, connected, _ = await _connect(viewer, f"?community={community.pk}")
    assert connected
    assert await comm.receive_json_from(timeout=5) == {"type": "hello", "community": community.pk}
    assert await comm.receive_json_from(timeout=5) == {"type": "history", "events": []}

    await sync_to_async(_publish)(community.pk, "olivia +10 tickets")
    message = await comm.receive_json_from(timeout=5)
    assert message.pop("id") and message.pop("ts") > 0
    assert message == {"type": "event", "kind": "tickets.award", "data": {"text": "olivia +10 tickets"}}
    await comm.disconnect()


async def test_a_new_socket_gets_the_last_50_events_oldest_first(community: Community, viewer: Any) -> None:
    other = await sync_to_async(CommunityFactory)()
    for i in range(55):
        await sync_to_async(_publish)(community.pk, f"event {i}")
    await sync_to_async(_publish)(other.pk, "another community's")

    comm, history = await _joined(viewer, f"?community={community.pk}")
    assert [e["data"]["text"] for e in history] == [f"event {i}" for i in range(5, 55)]
    assert [e["kind"] for e in history] == ["tickets.award"] * 50
    ids = [tuple(map(int, e["id"].split("-"))) for e in history]
    assert ids == sorted(ids) and len(set(ids)) == 50
    await comm.disconnect()

    # What a refresh sees: the same history, then what happens next, live, with an id after it.
    again, history_again = await _joined(viewer, f"?community={community.pk}")
    assert history_again == history
    await sync_to_async(_publish)(community.pk, "event 55")
    live = await again.receive_json_from(timeout=5)
    assert live["data"] == {"text": "event 55"} and tuple(map(int, live["id"].split("-"))) > ids[-1]
    await again.disconnect()


async def test_rolled_back_change_publishes_nothing(community: Community, viewer: Any) -> None:
    comm, _ = await _joined(viewer)

    def publish_then_fail() -> None:
        try:
            with transaction.atomic():
                live_publish(community_id=community.pk, kind="tickets.award", data={"text": "never"})
                raise RuntimeError("boom")
        except RuntimeError:
            pass

    await sync_to_async(publish_then_fail)()
    assert await comm.receive_nothing(timeout=0.5)
    await comm.disconnect()
    again, history = await _joined(viewer)
    assert history == []
    await again.disconnect()


async def test_unknown_community_is_refused(community: Community, viewer: Any) -> None:
    comm, connected, code = await _connect(viewer, "?community=999999")
    assert not connected and code == 4404
    comm2, connected2, code2 = await _connect(viewer, "?community=abc")
    assert not connected2 and code2 == 4404


async def test_foreign_origin_is_refused(community: Community, viewer: Any) -> None:
    cookie = await sync_to_async(_cookie_for)(viewer)
    comm = WebsocketCommunicator(
        application, "/ws/dashboard/", headers=[(b"origin", b"https://evil.example"), (b"cookie", cookie)]
    )
    connected, _ = await comm.connect(timeout=5)
    assert not connected
