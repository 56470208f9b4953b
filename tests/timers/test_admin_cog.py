"""The admin cog: ``health``, ``dashboard`` and ``timers`` with spec'd Discord mocks."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import discord
import pytest
from django.utils import timezone

from botworker.discord.cogs.admin import AdminCog, timers_text
from botworker.discord.common import AdminRequired, ensure_admin
from kickbot.heartbeat import heartbeat_write
from kickbot.models import AuditLog, KickToken
from kickbot.redis_client import get_redis, key
from tests.fakes.discord import MockBot, MockContext, MockGuild, MockInteraction, MockMember, no_mentions
from timers.models import TimedMessage

pytestmark = pytest.mark.django_db(transaction=True)

PUBLIC = "https://bot.example.test"


@pytest.fixture
def guild(community: Any) -> MockGuild:
    return MockGuild(id=community.discord_guild_id)


@pytest.fixture
def cog() -> AdminCog:
    bot = MockBot()
    bot.latency = 0.042
    return AdminCog(bot)


def admin(guild: MockGuild) -> MockMember:
    return MockMember(guild=guild, guild_permissions=discord.Permissions(manage_guild=True))


def sent(ctx: MockContext) -> str:
    call = ctx.send.await_args
    assert no_mentions(call.kwargs["allowed_mentions"])
    assert call.kwargs["ephemeral"] is True
    return str(call.args[0])


ADMIN_COMMANDS = ["health", "dashboard", "timers", "timers_list", "timers_add", "timers_remove"]


@pytest.mark.parametrize("name", ADMIN_COMMANDS)
async def test_admin_commands_refuse_non_admins(cog: AdminCog, guild: MockGuild, name: str) -> None:
    assert ensure_admin in getattr(cog, name).checks
    with pytest.raises(AdminRequired):
        await getattr(cog, name).can_run(MockContext(guild=guild, author=MockMember(guild=guild)))


async def test_dashboard_replies_privately_with_the_url(
    cog: AdminCog, guild: MockGuild, settings: Any
) -> None:
    settings.PUBLIC_BASE_URL = PUBLIC
    ctx = MockContext(guild=guild, author=admin(guild), interaction=MockInteraction(guild=guild))
    await cog.dashboard.callback(cog, ctx)
    assert sent(ctx) == f"{PUBLIC}/dashboard/"


async def test_health_reports_every_part(cog: AdminCog, guild: MockGuild, community: Any) -> None:
    heartbeat_write(name="worker")
    heartbeat_write(name="bot")
    await KickToken.objects.acreate(
        community=community,
        kick_user_id=1,
        kick_username="bot",
        access_token="a" * 20,
        refresh_token="r" * 20,
        expires_at=timezone.now() + timedelta(hours=2, minutes=5),
    )
    get_redis().hset(
        key("ingest", community.pk),
        mapping={
            "connected": "1",
            "lag_p50_ms": "120",
            "lag_p95_ms": "480",
            "last_event_at": str(timezone.now().timestamp()),
        },
    )
    ctx = MockContext(guild=guild, author=admin(guild))

    await cog.health.callback(cog, ctx)

    text = sent(ctx)
    assert "✅ Database:" in text
    assert "✅ Redis:" in text
    assert "✅ Celery worker heartbeat:" in text and "✅ Bot heartbeat:" in text
    assert "✅ Kick token: expires in 2 h" in text
    assert "✅ Kick chat ingestion: connected, lag p50 120 ms, p95 480 ms, last event 0 s ago" in text
    assert "✅ Discord latency: 42 ms" in text
    assert "a" * 20 not in text and "r" * 20 not in text


async def test_health_without_token_or_ingest_data_says_so(cog: AdminCog, guild: MockGuild) -> None:
    cog.bot.latency = float("inf")
    ctx = MockContext(guild=guild, author=admin(guild))
    await cog.health.callback(cog, ctx)
    text = sent(ctx)
    assert "❌ Kick token: not connected" in text
    assert "Kick chat ingestion: no data yet" in text
    assert "❌ Celery worker heartbeat: never" in text
    assert "❌ Discord latency: not connected yet" in text
    assert "Kick webhooks: not checked yet" in text


async def test_health_shows_webhook_subscriptions(cog: AdminCog, guild: MockGuild, community: Any) -> None:
    import json

    get_redis().set(
        key("kick-subs", community.pk),
        json.dumps({"active": ["a", "b"], "wanted": ["a", "b", "c"], "error": ""}),
    )
    ctx = MockContext(guild=guild, author=admin(guild))
    await cog.health.callback(cog, ctx)
    assert "❌ Kick webhooks: 2 of 3 subscriptions active" in sent(ctx)
    get_redis().set(key("kick-subs", community.pk), json.dumps({"error": "KickAuthError: **401**"}))
    ctx = MockContext(guild=guild, author=admin(guild))
    await cog.health.callback(cog, ctx)
    assert "❌ Kick webhooks: last check failed (KickAuthError: \\*\\*401\\*\\*)" in sent(ctx)


async def test_timers_add_list_remove(cog: AdminCog, guild: MockGuild, community: Any) -> None:
    ctx = MockContext(guild=guild, author=admin(guild))

    await cog.timers_add.callback(cog, ctx, 15, text="Follow on **Kick** @everyone")
    timer = await TimedMessage.objects.aget()
    assert (timer.interval_minutes, timer.community_id) == (15, community.pk)
    assert f"#{timer.pk}" in sent(ctx)

    await cog.timers_list.callback(cog, ctx)
    listing = sent(ctx)
    assert f"`#{timer.pk}` every 15 min, live only: Follow on \\*\\*Kick\\*\\* @\u200beveryone" == listing

    await cog.timers_remove.callback(cog, ctx, timer.pk)
    assert not await TimedMessage.objects.aexists()
    assert await AuditLog.objects.filter(action__startswith="timer.").acount() == 2


@pytest.mark.parametrize(
    ("minutes", "text"), [(0, "hi"), (-3, "hi"), (10**12, "hi"), (5, "x" * 600), (5, " ")]
)
async def test_timers_add_with_bad_input_changes_nothing(
    cog: AdminCog, guild: MockGuild, minutes: int, text: str
) -> None:
    from kickbot.errors import InvalidInput

    ctx = MockContext(guild=guild, author=admin(guild))
    with pytest.raises(InvalidInput):
        await cog.timers_add.callback(cog, ctx, minutes, text=text)
    assert not await TimedMessage.objects.aexists()


@pytest.mark.parametrize("timer_id", [0, -1, 10**30, 999999])
async def test_timers_remove_of_an_unknown_id_says_so(cog: AdminCog, guild: MockGuild, timer_id: int) -> None:
    from kickbot.errors import InvalidInput

    ctx = MockContext(guild=guild, author=admin(guild))
    with pytest.raises(InvalidInput, match="no timed message"):
        await cog.timers_remove.callback(cog, ctx, timer_id)


def test_timers_text_when_empty_shows_usage() -> None:
    assert timers_text([]).startswith("No timed messages yet.")
