"""No secret in logs: representative flows run with logging at DEBUG; the captured text is grepped
for every token, secret, code, state and signed URL the flow used.

The project's loggers run at DEBUG (third-party HTTP loggers keep their configured level, as
with ``LOG_LEVEL=DEBUG`` in production). The check is on the raw records, before the redact
filter of the console handler: that filter is a backstop, the code itself must not log secrets.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from datetime import timedelta
from typing import Any
from urllib.parse import parse_qs, urlparse

import httpx
import pytest
from asgiref.sync import sync_to_async
from django.test import Client
from django.utils import timezone

from accounts import services as link_services
from accounts.models import OAuthState
from botworker.discord.outbox_sender import DiscordOutboxSender
from botworker.outbox import outbox_enqueue
from kickbot import kick
from kickbot.integrations.kick import TokenSet
from kickbot.models import Community
from raffle import services as raffle_services
from raffle import tasks as raffle_tasks
from tests.accounts import conftest as link_fakes
from tests.fakes.discord import MockBot, MockGuild, MockTextChannel
from tests.fakes.kick_api import FakeKick as FakeKickApi
from tests.kickbot.test_webhooks import PEM, body_for, deliver
from tests.raffle.test_shuffle import FakeShuffle

DISCORD_TOKEN = "MTA5ODc2NTQzMjEwOTg3NjU0.discord-bot-token-secret"
AFFILIATE = "aff-9f8e7d6c-secret"


@pytest.fixture
def logs(caplog: pytest.LogCaptureFixture, settings: Any) -> Iterator[pytest.LogCaptureFixture]:
    settings.DISCORD_TOKEN = DISCORD_TOKEN
    settings.SHUFFLE_AFFILIATE_ID = AFFILIATE
    settings.KICK_WEBHOOK_PUBLIC_KEY = PEM
    with caplog.at_level(logging.DEBUG):
        for name in ("kickbot", "accounts", "botworker", "raffle", "watchtime", "django.request"):
            logging.getLogger(name).setLevel(logging.DEBUG)
        yield caplog


def assert_absent(caplog: pytest.LogCaptureFixture, secrets: list[str]) -> None:
    assert caplog.records, "the flow logged nothing: the test would prove nothing"
    text = caplog.text + "\n".join(str(r.args) for r in caplog.records)
    leaked = [s for s in secrets if s and s in text]
    assert not leaked, f"secrets in logs: {leaked}"


@pytest.mark.django_db
def test_link_flow_logs_no_code_state_token_or_signed_url(
    client: Client, community: Community, settings: Any, monkeypatch: pytest.MonkeyPatch, logs: Any
) -> None:
    settings.KICK_CLIENT_ID, settings.KICK_CLIENT_SECRET = link_fakes.CLIENT_ID, link_fakes.CLIENT_SECRET
    settings.KICK_OAUTH_BASE_URL, settings.KICK_API_BASE_URL = link_fakes.OAUTH, link_fakes.API
    settings.PUBLIC_BASE_URL = link_fakes.PUBLIC
    fake = link_fakes.FakeKick()
    transport = httpx.MockTransport(fake.handle)
    monkeypatch.setattr(link_services, "kick_oauth_client_factory", lambda: httpx.Client(transport=transport))
    code = "oauth-code-very-secret"
    fake.users_by_code[code] = (4242, "Alice")
    path = link_fakes.link_url(community, 111)
    token = parse_qs(urlparse(path).query)["t"][0]
    # a refused attempt (tampered token) and the full success
    client.get(path[:-2] + "zz")
    state = link_fakes.start(client, fake, path)
    verifier = OAuthState.objects.get(state=state).code_verifier
    assert client.get("/link/callback/", {"code": code, "state": state}).status_code == 200
    client.get("/link/callback/", {"code": code, "state": state})  # replay: refused, logged
    assert_absent(
        logs,
        [token, path, state, code, verifier, link_fakes.CLIENT_SECRET, f"access-{code}", f"refresh-{code}"],
    )


@pytest.mark.django_db
def test_kick_token_refresh_logs_no_token_or_client_secret(
    community: Community, settings: Any, monkeypatch: pytest.MonkeyPatch, logs: Any
) -> None:
    settings.KICK_CLIENT_ID, settings.KICK_CLIENT_SECRET = "client-id", "client-secret-value-xyz"
    fake = FakeKickApi()
    monkeypatch.setattr(kick, "http_client_factory", fake.client)
    monkeypatch.setattr(kick, "async_http_client_factory", fake.async_client)
    issued = fake.issue_tokens()
    kick.kick_token_save(
        community=community,
        tokens=TokenSet(
            issued["access_token"],
            issued["refresh_token"],
            timezone.now() + timedelta(minutes=1),
            issued["scope"],
            "Bearer",
        ),
        kick_user_id=fake.user_id,
        kick_username=fake.username,
        actor=None,
    )
    kick.kick_token_refresh(community_id=community.pk)
    fake.revoke_all_access()
    fake.refresh.clear()
    with pytest.raises(Exception), kick.kick_api(community_id=community.pk) as api:
        api.get_users()  # 401 → refresh refused → error path logged
    from kickbot.models import KickToken

    row = KickToken.objects.get()
    assert_absent(
        logs,
        [
            issued["access_token"],
            issued["refresh_token"],
            row.access_token,
            row.refresh_token,
            "client-secret-value-xyz",
        ],
    )


@pytest.mark.django_db
def test_webhook_logs_no_signature_or_body(client: Client, community: Community, logs: Any) -> None:
    body = body_for(community, content="private words of a viewer")
    good = deliver(client, body, message_id="01JSECRETMSG000000000000AA")
    assert good.status_code == 200
    bad = deliver(client, body, message_id="01JSECRETMSG000000000000AB", tamper=body + b" ")
    assert bad.status_code == 403
    stale = deliver(
        client, body, message_id="01JSECRETMSG000000000000AC", when=timezone.now() - timedelta(hours=1)
    )
    assert stale.status_code == 400
    assert_absent(logs, ["private words of a viewer", good.request["HTTP_KICK_EVENT_SIGNATURE"]])


@pytest.mark.django_db
@pytest.mark.parametrize("status", [200, 500, "timeout"])
def test_shuffle_poll_logs_no_affiliate_id(
    community: Community, monkeypatch: pytest.MonkeyPatch, logs: Any, status: Any
) -> None:
    from kickbot.redis_client import get_redis, key

    now = timezone.now()
    raffle_services.period_open(
        community=community,
        starts_at=now - timedelta(days=1),
        ends_at=now + timedelta(days=9),
        actor_label="t",
    )
    raffle_services.shuffle_verify(
        community_id=community.pk, kick_user_id=42, username="Alice", actor_label="m"
    )
    fake = FakeShuffle()
    if status == 200:
        fake.wagers(Alice=12.5)
    elif status == 500:
        fake.answer = lambda r: httpx.Response(500, text=f"upstream error for {r.url}")
    else:

        def timeout(request: httpx.Request) -> httpx.Response:
            raise httpx.ReadTimeout(f"timed out reading {request.url}", request=request)

        fake.answer = timeout
    monkeypatch.setattr(raffle_tasks, "shuffle_client_factory", fake.client)
    get_redis().delete(key("shuffle", "slot"))
    logging.getLogger("raffle").info("polling")  # the flow may be silent on success
    raffle_tasks.shuffle_poll_once()
    assert fake.calls and AFFILIATE in str(fake.calls[0].url)  # the secret was really used
    assert_absent(logs, [AFFILIATE])


@pytest.mark.django_db(transaction=True)
async def test_discord_outbox_send_logs_no_discord_token(community: Community, logs: Any) -> None:
    from unittest.mock import MagicMock

    import discord

    bot = MockBot()
    ok = MockTextChannel(guild=MockGuild(id=community.discord_guild_id))
    bot.get_channel.return_value = ok
    await sync_to_async(outbox_enqueue)(
        community=community, kind="discord_message", target=ok.id, payload={"content": "hi"}
    )
    assert await DiscordOutboxSender(bot, worker_id="w").run_once() == 1
    response = MagicMock(status=401, reason="Unauthorized")
    ok.send.side_effect = discord.HTTPException(response, f"401 Unauthorized (token {DISCORD_TOKEN[:4]}…)")
    await sync_to_async(outbox_enqueue)(
        community=community, kind="discord_message", target=ok.id, payload={"content": "again"}
    )
    await DiscordOutboxSender(bot, worker_id="w").run_once()
    logging.getLogger("botworker").debug("sent")
    assert_absent(logs, [DISCORD_TOKEN])
