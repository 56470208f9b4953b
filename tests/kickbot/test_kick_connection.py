from __future__ import annotations

import asyncio
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from typing import Any
from urllib.parse import parse_qs, urlparse

import pytest
import time_machine
from asgiref.sync import sync_to_async
from django.conf import settings
from django.db import connection, connections
from django.test import Client
from django.utils import timezone

from kickbot import kick
from kickbot.integrations.kick import KickAuthError
from kickbot.models import AuditLog, Community, KickToken
from tests.fakes.kick_api import FakeKick

pytestmark = pytest.mark.django_db


@pytest.fixture
def fake(monkeypatch: pytest.MonkeyPatch, settings: Any) -> FakeKick:
    settings.KICK_CLIENT_ID = "client-id"
    settings.KICK_CLIENT_SECRET = "client-secret-value"
    f = FakeKick()
    monkeypatch.setattr(kick, "http_client_factory", f.client)
    monkeypatch.setattr(kick, "async_http_client_factory", f.async_client)
    monkeypatch.setattr("dashboard.kick_views.http_client_factory", f.client)
    return f


def connect(client: Client, fake: FakeKick) -> Any:
    start = client.post("/dashboard/kick/connect/")
    assert start.status_code == 302
    query = parse_qs(urlparse(start["Location"]).query)
    assert query["code_challenge_method"] == ["S256"]
    assert "chat:write" in query["scope"][0]
    return client.get("/dashboard/kick/callback/", {"state": query["state"][0], "code": fake.issue_code()})


def test_connect_stores_encrypted_tokens_and_bot_account(
    client: Client, admin_user: Any, community: Community, fake: FakeKick
) -> None:
    client.force_login(admin_user)
    response = connect(client, fake)
    assert response.status_code == 302
    token = KickToken.objects.get(community=community)
    assert token.kick_user_id == fake.user_id and token.kick_username == fake.username
    assert token.access_token in fake.access
    raw = KickToken.objects.filter(pk=token.pk).values_list("access_token", flat=True).get()
    from django.db import connection

    with connection.cursor() as cur:
        cur.execute("SELECT access_token FROM kickbot_kicktoken")
        stored = cur.fetchone()[0]
    assert token.access_token not in stored and raw == token.access_token
    community.refresh_from_db()
    assert community.kick_bot_user_id == fake.user_id
    assert AuditLog.objects.filter(action="kick.connect", actor=admin_user).count() == 1


def test_callback_state_is_single_use(
    client: Client, admin_user: Any, community: Community, fake: FakeKick
) -> None:
    client.force_login(admin_user)
    start = client.post("/dashboard/kick/connect/")
    state = parse_qs(urlparse(start["Location"]).query)["state"][0]
    assert (
        client.get("/dashboard/kick/callback/", {"state": state, "code": fake.issue_code()}).status_code
        == 302
    )
    again = client.get("/dashboard/kick/callback/", {"state": state, "code": fake.issue_code()})
    assert again.status_code == 400
    assert b"does not match" in again.content


def test_callback_from_another_browser_is_refused(
    client: Client, admin_user: Any, owner: Any, community: Community, fake: FakeKick
) -> None:
    client.force_login(admin_user)
    start = client.post("/dashboard/kick/connect/")
    state = parse_qs(urlparse(start["Location"]).query)["state"][0]
    other = Client()
    other.force_login(owner)
    response = other.get("/dashboard/kick/callback/", {"state": state, "code": fake.issue_code()})
    assert response.status_code == 400
    assert not KickToken.objects.exists()


def test_expired_state_is_refused(
    client: Client, admin_user: Any, community: Community, fake: FakeKick
) -> None:
    client.force_login(admin_user)
    with time_machine.travel("2026-11-27 12:00:00Z", tick=False):
        start = client.post("/dashboard/kick/connect/")
    state = parse_qs(urlparse(start["Location"]).query)["state"][0]
    with time_machine.travel("2026-11-27 12:11:00Z", tick=False):
        response = client.get("/dashboard/kick/callback/", {"state": state, "code": fake.issue_code()})
    assert response.status_code == 400
    assert b"10 minutes" in response.content


def test_kick_error_on_exchange_changes_nothing(
    client: Client, admin_user: Any, community: Community, fake: FakeKick
) -> None:
    client.force_login(admin_user)
    fake.fail_token_endpoint = 500
    response = connect(client, fake)
    assert response.status_code == 502
    assert not KickToken.objects.exists()
    assert AuditLog.objects.filter(action="kick.connect_failed").exists()


def test_denied_authorisation_changes_nothing(
    client: Client, admin_user: Any, community: Community, fake: FakeKick
) -> None:
    client.force_login(admin_user)
    start = client.post("/dashboard/kick/connect/")
    state = parse_qs(urlparse(start["Location"]).query)["state"][0]
    response = client.get("/dashboard/kick/callback/", {"state": state, "error": "access_denied"})
    assert response.status_code == 400
    assert not KickToken.objects.exists()


def test_moderator_cannot_connect(
    client: Client, moderator: Any, community: Community, fake: FakeKick
) -> None:
    client.force_login(moderator)
    assert client.post("/dashboard/kick/connect/").status_code == 403


def _stored_token(community: Community, fake: FakeKick, *, expires_in: timedelta) -> KickToken:
    tokens = fake.issue_tokens()
    from kickbot.integrations.kick import TokenSet

    return kick.kick_token_save(
        community=community,
        tokens=TokenSet(
            tokens["access_token"],
            tokens["refresh_token"],
            timezone.now() + expires_in,
            tokens["scope"],
            "Bearer",
        ),
        kick_user_id=fake.user_id,
        kick_username=fake.username,
        actor=None,
    )


def test_api_401_refreshes_once_and_retries(community: Community, fake: FakeKick) -> None:
    _stored_token(community, fake, expires_in=timedelta(hours=1))
    fake.revoke_all_access()  # Kick no longer accepts the stored access token
    with kick.kick_api(community_id=community.pk) as api:
        users = api.get_users()
    assert users[0].user_id == fake.user_id
    token_calls = [r for r in fake.requests if r.url.path == "/oauth/token"]
    assert len(token_calls) == 1
    assert KickToken.objects.get().access_token in fake.access


def test_failed_refresh_is_recorded_for_health(
    client: Client, owner: Any, community: Community, fake: FakeKick
) -> None:
    _stored_token(community, fake, expires_in=timedelta(hours=1))
    fake.revoke_all_access()
    fake.refresh.clear()  # the refresh token is dead too
    with pytest.raises(KickAuthError), kick.kick_api(community_id=community.pk) as api:
        api.get_users()
    state = kick.kick_token_state(community_id=community.pk)
    assert state.connected and state.last_error.startswith("KickAuthError")
    client.force_login(owner)
    assert b"Last refresh failed" in client.get("/dashboard/health/").content


def test_token_near_expiry_is_refreshed_before_use(community: Community, fake: FakeKick) -> None:
    old = _stored_token(community, fake, expires_in=timedelta(minutes=2)).access_token
    with kick.kick_api(community_id=community.pk) as api:
        api.get_users()
    assert KickToken.objects.get().access_token != old


def test_refresh_task_refreshes_tokens_due_soon(community: Community, fake: FakeKick) -> None:
    from kickbot.tasks import kick_tokens_refresh

    _stored_token(community, fake, expires_in=timedelta(minutes=20))
    assert kick_tokens_refresh.delay().get() == 1  # eager
    assert KickToken.objects.get().expires_at > timezone.now() + timedelta(minutes=50)


def test_refresh_never_logs_tokens(
    community: Community, fake: FakeKick, caplog: pytest.LogCaptureFixture
) -> None:
    token = _stored_token(community, fake, expires_in=timedelta(minutes=1))
    with caplog.at_level("DEBUG"):
        kick.kick_token_refresh(community_id=community.pk)
    assert token.access_token not in caplog.text and token.refresh_token not in caplog.text


def test_detect_button_saves_ids_and_audits(
    client: Client, admin_user: Any, community: Community, monkeypatch: pytest.MonkeyPatch
) -> None:
    import httpx

    monkeypatch.setattr(
        kick,
        "http_client_factory",
        lambda: httpx.Client(
            transport=httpx.MockTransport(
                lambda r: httpx.Response(200, json={"id": 9, "user_id": 8, "chatroom": {"id": 7}})
            )
        ),
    )
    client.force_login(admin_user)
    response = client.post("/dashboard/kick/detect/", follow=True)
    assert b"Found the Kick ids" in response.content
    community.refresh_from_db()
    assert (community.kick_chatroom_id, community.kick_channel_id, community.kick_broadcaster_user_id) == (
        7,
        9,
        8,
    )
    assert AuditLog.objects.filter(action="community.update", actor=admin_user).exists()


def test_detect_button_says_when_kick_refuses(
    client: Client, admin_user: Any, community: Community, monkeypatch: pytest.MonkeyPatch
) -> None:
    import httpx

    monkeypatch.setattr(
        kick,
        "http_client_factory",
        lambda: httpx.Client(
            transport=httpx.MockTransport(
                lambda r: httpx.Response(403, text="<html>cf</html>", headers={"content-type": "text/html"})
            )
        ),
    )
    client.force_login(admin_user)
    before = Community.objects.values().get(pk=community.pk)
    response = client.post("/dashboard/kick/detect/", follow=True)
    assert b"Cloudflare" in response.content
    assert Community.objects.values().get(pk=community.pk) == before


def test_moderator_cannot_detect(client: Client, moderator: Any, community: Community) -> None:
    client.force_login(moderator)
    assert client.post("/dashboard/kick/detect/").status_code == 403


def test_clients_made_for_a_community_close_their_connection(
    community: Community, fake: FakeKick, monkeypatch: pytest.MonkeyPatch
) -> None:
    made: list[Any] = []

    def tracked() -> Any:
        client = fake.client()
        made.append(client)
        return client

    monkeypatch.setattr(kick, "http_client_factory", tracked)
    _stored_token(community, fake, expires_in=timedelta(hours=1))
    with kick.kick_api(community_id=community.pk) as api:
        api.get_users()
    assert made and all(c.is_closed for c in made)


@pytest.mark.skipif(
    not settings.DATABASES["default"]["ENGINE"].endswith("postgresql"),
    reason="needs a server to cut the connection (SQLite's in-memory test database cannot be)",
)
@pytest.mark.django_db(transaction=True)
async def test_async_token_reads_recover_after_the_server_ended_their_connection(
    community: Community, fake: FakeKick
) -> None:
    """The bot reads the token in a pool thread: a connection the server ended (restart, failover,
    pg_terminate_backend) must be replaced, not kept failing until the process restarts."""
    token = (await sync_to_async(_stored_token)(community, fake, expires_in=timedelta(hours=1))).access_token
    loop = asyncio.get_running_loop()
    pool = ThreadPoolExecutor(max_workers=1)  # every thread_sensitive=False call lands in this thread
    loop.set_default_executor(pool)
    provider = kick.AsyncDbTokenProvider(community.pk)

    def backend_pid() -> int:
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_backend_pid()")
            return int(cursor.fetchone()[0])

    def terminate(pid: int) -> None:
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_terminate_backend(%s)", [pid])

    try:
        assert await provider.get() == token
        await sync_to_async(terminate)(await loop.run_in_executor(None, backend_pid))
        for _ in range(3):  # every call after the cut, not only a lucky later one
            assert await provider.get() == token
    finally:
        await loop.run_in_executor(None, connections.close_all)
        pool.shutdown(wait=True)
