"""No secret in logs: representative flows run with logging at DEBUG; the captured text is grepped
for every token, secret, code, state and signed URL the flow used.

The project's loggers run at DEBUG (third-party HTTP loggers keep their configured level, as
with ``LOG_LEVEL=DEBUG`` in production). The check is on the raw records, before the redact
filter of the console handler: that filter is a backstop, the code itself must not log secrets.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterator
from datetime import timedelta
from typing import Any
from urllib.parse import parse_qs, urlparse

import discord
import httpx
import pytest
from asgiref.sync import sync_to_async
from django.test import Client
from django.utils import timezone

from accounts import link_flow
from accounts.models import OAuthState
from kickbot import kick
from kickbot.integrations.kick import TokenSet
from kickbot.models import Community
from outbox.services import outbox_enqueue
from raffle import tasks as raffle_tasks
from raffle.services.periods import period_open
from raffle.services.shuffle import shuffle_verify
from tests.accounts import conftest as link_fakes
from tests.fakes.discord_server import FakeDiscord, running_bot
from tests.fakes.kick_api import FakeKick as FakeKickApi
from tests.fakes.kick_chat import until
from tests.kickbot.test_webhooks import PEM, body_for, deliver
from tests.raffle.test_shuffle import FakeShuffle

DISCORD_TOKEN = "MTA5ODc2NTQzMjEwOTg3NjU0.discord-bot-token-secret"
AFFILIATE = "aff-9f8e7d6c-secret"


@pytest.fixture
def logs(caplog: pytest.LogCaptureFixture, settings: Any) -> Iterator[pytest.LogCaptureFixture]:
    settings.DISCORD_TOKEN = DISCORD_TOKEN
    settings.SHUFFLE_AFFILIATE_ID = AFFILIATE
    settings.KICK_WEBHOOK_PUBLIC_KEY = PEM
    loggers = [
        logging.getLogger(n)
        for n in ("kickbot", "accounts", "botworker", "raffle", "watchtime", "django.request")
    ]
    levels = [lg.level for lg in loggers]
    with caplog.at_level(logging.DEBUG):
        for lg in loggers:
            lg.setLevel(logging.DEBUG)
        try:
            yield caplog
        finally:
            for lg, level in zip(loggers, levels, strict=True):
                lg.setLevel(level)  # DEBUG must not leak into the tests that run after this one


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
    monkeypatch.setattr(link_flow, "kick_oauth_client_factory", lambda: httpx.Client(transport=transport))
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
    period_open(
        community=community,
        starts_at=now - timedelta(days=1),
        ends_at=now + timedelta(days=9),
        actor_label="t",
    )
    shuffle_verify(community_id=community.pk, kick_user_id=42, username="Alice", actor_label="m")
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
async def test_discord_login_commands_and_refused_sends_log_no_discord_token(
    community: Community, settings: Any, logs: pytest.LogCaptureFixture
) -> None:
    """The real bot logs in to the fake Discord with the token (REST and gateway both check it), a
    member runs a command, a message goes out and another is refused by Discord; a login with a
    wrong token is refused as well. discord.py's own loggers at DEBUG too."""
    from botworker.discord.component import discord_component
    from botworker.runtime import BotRuntime
    from outbox.models import OutboxMessage

    logs.set_level(logging.DEBUG, logger="discord")
    wrong = DISCORD_TOKEN.replace("secret", "wrong")
    async with FakeDiscord(guild_id=community.discord_guild_id, token=DISCORD_TOKEN) as fake:
        settings.DISCORD_API_BASE_URL, settings.DISCORD_GATEWAY_URL = fake.api_url, fake.gateway_url
        settings.DISCORD_TOKEN = wrong
        base, gateway = discord.http.Route.BASE, discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY
        try:
            await asyncio.wait_for(discord_component(BotRuntime()), 30)  # returns: the login was refused
        finally:
            discord.http.Route.BASE, discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY = base, gateway
        assert any("login refused" in r.getMessage() for r in logs.records)
        assert fake.identified == 0

        member = fake.add_member("viewer")
        refused = fake.add_channel("locked")
        fake.forbidden_channels.add(refused)
        async with running_bot(fake, settings):
            assert settings.DISCORD_TOKEN == DISCORD_TOKEN and fake.identified == 1  # really used
            answer = await fake.answer(member, "!raffleinfo")
            for target, text in ((fake.channel_id, "hi"), (refused, "not allowed here")):
                await sync_to_async(outbox_enqueue)(
                    community=community, kind="discord_message", target=target, payload={"content": text}
                )
            await fake.wait(lambda: any(b.get("content") == "hi" for b in fake.posted()))
            failed = OutboxMessage.objects.filter(target=refused).exclude(last_error="")
            await until(failed.aexists, 15)
    assert answer["content"]
    assert (await failed.aget()).last_error == "Forbidden 403"  # Discord refused it: no retry
    assert_absent(logs, [DISCORD_TOKEN, wrong])
