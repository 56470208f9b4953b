"""The dashboard WebSocket x every role, anonymous, a user with no role and a foreign origin."""

from __future__ import annotations

from typing import Any

import pytest
from asgiref.sync import sync_to_async
from channels.testing import WebsocketCommunicator
from django.conf import settings
from django.test import Client

from kickbot.asgi import application
from kickbot.models import Community
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db(transaction=True)

# role → (connected, close code when refused). Extend with the dashboard's roles.
WS_MATRIX: dict[str, tuple[bool, int | None]] = {
    "anonymous": (False, 4401),
    "no_role": (False, 4403),
    "viewer": (True, None),
    "moderator": (True, None),
    "admin_user": (True, None),
    "owner": (True, None),
}


def _cookie_for(user: Any) -> bytes:
    client = Client()
    client.force_login(user)
    return f"{settings.SESSION_COOKIE_NAME}={client.cookies[settings.SESSION_COOKIE_NAME].value}".encode()


async def _connect(user: Any | None, *, origin: bytes = b"http://localhost:8000") -> tuple[bool, Any]:
    headers = [(b"origin", origin), (b"host", b"localhost:8000")]
    if user is not None:
        headers.append((b"cookie", await sync_to_async(_cookie_for)(user)))
    comm = WebsocketCommunicator(application, "/ws/dashboard/", headers=headers)
    connected, code = await comm.connect(timeout=5)
    if connected:
        hello = await comm.receive_json_from(timeout=5)
        assert hello["type"] == "hello"
        await comm.disconnect()
    return connected, code


async def _user(request: pytest.FixtureRequest, role: str) -> Any:
    if role == "anonymous":
        return None
    if role == "no_role":
        return await sync_to_async(UserFactory)(username="nobody")
    return await sync_to_async(request.getfixturevalue)(role)


@pytest.mark.parametrize("role", list(WS_MATRIX))
async def test_dashboard_websocket_answers_each_role_as_the_matrix_says(
    request: pytest.FixtureRequest, community: Community, role: str
) -> None:
    user = await _user(request, role)
    connected, code = await _connect(user)
    want_connected, want_code = WS_MATRIX[role]
    assert connected is want_connected
    if not want_connected:
        assert code == want_code


async def test_dashboard_websocket_from_a_foreign_origin_is_refused_even_for_the_owner(
    community: Community, owner: Any
) -> None:
    connected, _ = await _connect(owner, origin=b"https://evil.example")
    assert not connected
