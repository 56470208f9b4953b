"""An open /ws/dashboard/ stays authorised: role removal and logout close it, a per-user cap holds.

Against the real consumer and channel layer (Redis), with sessions made by Django's test client;
the same on a real daphne process is in ``tests/faults/test_livefeed.py``.
"""

from __future__ import annotations

import time
from typing import Any

import pytest
from asgiref.sync import sync_to_async
from channels.testing import WebsocketCommunicator
from django.conf import settings
from django.contrib.auth.models import Group, Permission
from django.test import Client

from dashboard.services import dashboard_user_role_set
from dashboard.ws_access import ws_slot_release, ws_slot_take
from kickbot.asgi import application
from kickbot.models import Community

pytestmark = pytest.mark.django_db(transaction=True)

CLOSE_WITHIN_S = 5


def _login(user: Any) -> tuple[Client, bytes]:
    client = Client()
    client.force_login(user)
    return (
        client,
        f"{settings.SESSION_COOKIE_NAME}={client.cookies[settings.SESSION_COOKIE_NAME].value}".encode(),
    )


async def _open(cookie: bytes) -> WebsocketCommunicator:
    headers = [(b"origin", b"http://localhost:8000"), (b"host", b"localhost:8000"), (b"cookie", cookie)]
    comm = WebsocketCommunicator(application, "/ws/dashboard/", headers=headers)
    connected, code = await comm.connect(timeout=5)
    assert connected, code
    assert (await comm.receive_json_from(timeout=5))["type"] == "hello"
    assert (await comm.receive_json_from(timeout=5))["type"] == "history"
    return comm


async def _refused(cookie: bytes) -> int:
    headers = [(b"origin", b"http://localhost:8000"), (b"host", b"localhost:8000"), (b"cookie", cookie)]
    comm = WebsocketCommunicator(application, "/ws/dashboard/", headers=headers)
    connected, code = await comm.connect(timeout=5)
    assert not connected
    return int(code)


async def _closed_with(comm: WebsocketCommunicator) -> tuple[int, float]:
    """The close code the server sent, and how long it took to come (bounded)."""
    start = time.monotonic()
    message = await comm.receive_output(timeout=CLOSE_WITHIN_S)
    assert message["type"] == "websocket.close", message
    return int(message["code"]), time.monotonic() - start


async def test_role_removed_closes_the_open_socket(community: Community, viewer: Any, owner: Any) -> None:
    _, cookie = await sync_to_async(_login)(viewer)
    comm = await _open(cookie)
    await sync_to_async(dashboard_user_role_set)(target=viewer, role="", actor=owner)
    code, _ = await _closed_with(comm)
    assert code == 4403
    assert await _refused(cookie) == 4403


async def test_another_role_that_still_views_keeps_the_socket(
    community: Community, moderator: Any, owner: Any
) -> None:
    _, cookie = await sync_to_async(_login)(moderator)
    comm = await _open(cookie)
    await sync_to_async(dashboard_user_role_set)(target=moderator, role="viewer", actor=owner)
    assert await comm.receive_nothing(timeout=1)
    await comm.disconnect()


async def test_role_removed_from_the_groups_side_closes_the_socket(community: Community, viewer: Any) -> None:
    _, cookie = await sync_to_async(_login)(viewer)
    comm = await _open(cookie)

    def remove() -> None:  # as the admin site's group page does it
        Group.objects.get(name="viewer").user_set.remove(viewer)

    await sync_to_async(remove)()
    assert (await _closed_with(comm))[0] == 4403


async def test_view_permission_taken_from_the_role_closes_its_members_sockets(
    community: Community, viewer: Any
) -> None:
    _, cookie = await sync_to_async(_login)(viewer)
    comm = await _open(cookie)

    def take() -> None:
        Group.objects.get(name="viewer").permissions.remove(
            Permission.objects.get(codename="view_dashboard", content_type__app_label="kickbot")
        )

    await sync_to_async(take)()
    assert (await _closed_with(comm))[0] == 4403


async def test_deactivated_user_is_closed(community: Community, viewer: Any) -> None:
    _, cookie = await sync_to_async(_login)(viewer)
    comm = await _open(cookie)
    viewer.is_active = False
    await sync_to_async(viewer.save)()
    assert (await _closed_with(comm))[0] == 4403


async def test_logout_closes_that_sessions_socket_and_not_the_others(
    community: Community, viewer: Any
) -> None:
    client, cookie = await sync_to_async(_login)(viewer)
    _, other_cookie = await sync_to_async(_login)(viewer)  # the same user in another browser
    comm, other = await _open(cookie), await _open(other_cookie)
    response = await sync_to_async(client.post)("/dashboard/logout/")
    assert response.status_code == 302
    assert (await _closed_with(comm))[0] == 4401
    assert await other.receive_nothing(timeout=1)
    await other.disconnect()


async def test_a_change_no_signal_reports_is_caught_by_the_periodic_recheck(
    community: Community, viewer: Any, settings: Any
) -> None:
    settings.DASHBOARD_WS_RECHECK_SECONDS = 2
    _, cookie = await sync_to_async(_login)(viewer)
    comm = await _open(cookie)

    def raw_remove() -> None:  # a bulk delete sends no m2m signal
        viewer.groups.through.objects.filter(user_id=viewer.pk).delete()

    await sync_to_async(raw_remove)()
    assert (await _closed_with(comm))[0] == 4403


async def test_per_user_cap_refuses_one_more_and_frees_a_slot_on_close(
    community: Community, viewer: Any, moderator: Any, settings: Any
) -> None:
    settings.DASHBOARD_WS_MAX_PER_USER = 2
    _, cookie = await sync_to_async(_login)(viewer)
    first, second = await _open(cookie), await _open(cookie)
    assert await _refused(cookie) == 4429
    _, mod_cookie = await sync_to_async(_login)(moderator)  # the cap is per user
    mod = await _open(mod_cookie)
    await first.disconnect()
    third = await _open(cookie)
    for comm in (second, third, mod):
        await comm.disconnect()


def test_a_slot_left_by_a_dead_process_expires(settings: Any) -> None:
    settings.DASHBOARD_WS_MAX_PER_USER = 1
    settings.DASHBOARD_WS_RECHECK_SECONDS = 10
    assert ws_slot_take(user_id=7, channel="dead", now=1000.0)
    assert not ws_slot_take(user_id=7, channel="new", now=1029.0)
    assert ws_slot_take(user_id=7, channel="dead", now=1029.0)  # its socket renews it
    assert ws_slot_take(user_id=7, channel="new", now=1060.0)  # 3 rechecks after its last renewal
    ws_slot_release(user_id=7, channel="new")
    assert ws_slot_take(user_id=7, channel="other", now=1060.0)
