"""Admin commands: ``health``, ``dashboard`` and ``timers list|add|remove``.

Thin: check permission → read/write through ``run_sync`` (Redis through the async client) →
private reply. ``tracking`` belongs to the watchtime cog.
"""

from __future__ import annotations

import logging
import math
from typing import Any

from discord.ext import commands
from discord.utils import escape_markdown
from django.conf import settings

from botworker.discord.common import actor_label, community_admin, community_of, reply
from kickbot.bridge import run_sync
from kickbot.health import health_report, ingest_for, outage_text
from kickbot.kick import TokenState, kick_token_state
from kickbot.kick_sync import subscriptions_state
from kickbot.text import discord_safe
from timers.selectors import TimerView, timed_messages_list
from timers.services import timed_message_create, timed_message_delete

log = logging.getLogger(__name__)

DISCORD_LIMIT = 2000
TIMERS_USAGE = "Use `timers list`, `timers add <minutes> <text>` or `timers remove <id>`."


def _mark(ok: bool) -> str:
    return "✅" if ok else "❌"


def _age(seconds: float | None) -> str:
    return "never" if seconds is None else f"{seconds:.0f} s ago"


def _token_line(token: TokenState) -> str:
    if not token.connected:
        return "❌ Kick token: not connected (connect Kick on the dashboard)"
    seconds = token.expires_in_s or 0
    ok = seconds > 0 and not token.last_error
    if seconds <= 0:
        expiry = "expired"
    elif seconds < 3600:
        expiry = f"expires in {seconds // 60} min"
    else:
        expiry = f"expires in {seconds // 3600} h"
    error = " (last refresh failed)" if token.last_error else ""
    return f"{_mark(ok)} Kick token: {expiry}{error}"


def _ms(value: float | None) -> str:
    return "?" if value is None else f"{value:.0f}"


def _ingest_line(state: dict[str, Any] | None) -> str:
    if state is None:
        return "⚪ Kick chat ingestion: no data yet"
    connected = bool(state["connected"])
    parts = ["connected" if connected else "disconnected"]
    if state["lag_p50_ms"] is not None or state["lag_p95_ms"] is not None:
        parts.append(f"lag p50 {_ms(state['lag_p50_ms'])} ms, p95 {_ms(state['lag_p95_ms'])} ms")
    if state["last_event_age_s"] is not None:
        parts.append(f"last event {_age(max(0.0, state['last_event_age_s']))}")
    return f"{_mark(connected)} Kick chat ingestion: " + ", ".join(parts)


def _subscriptions_line(subs: dict[str, Any] | None) -> str:
    if not subs:
        return "❔ Kick webhooks: not checked yet (every 10 minutes once Kick is connected)"
    if subs.get("error"):
        return f"❌ Kick webhooks: last check failed ({escape_markdown(str(subs['error'])[:80])})"
    active, wanted = len(subs.get("active") or []), len(subs.get("wanted") or [])
    return f"{_mark(active >= wanted)} Kick webhooks: {active} of {wanted} subscriptions active"


def health_text(
    report: dict[str, Any],
    token: TokenState,
    ingest: dict[str, Any] | None,
    latency_s: float,
    subs: dict[str, Any] | None = None,
) -> str:
    database, redis_state = report["database"], report["redis"]
    lines = [
        f"**Health** {_mark(report['ok'])}",
        f"{_mark(database['ok'])} Database: "
        + (f"{database['ms']} ms ({database.get('vendor', '?')})" if database["ok"] else database["error"]),
        f"{_mark(redis_state['ok'])} Redis: "
        + (f"{redis_state['ms']} ms" if redis_state["ok"] else redis_state["error"]),
    ]
    if outage := outage_text(redis_state.get("last_outage")):
        lines.append(outage)
    processes = report.get("processes", {})
    for name, label in (("worker", "Celery worker"), ("bot", "Bot")):
        state = processes.get(name)
        if state is None:
            lines.append(f"❌ {label} heartbeat: unknown")
        else:
            lines.append(f"{_mark(state['ok'])} {label} heartbeat: {_age(state['heartbeat_age_s'])}")
    lines.append(_token_line(token))
    lines.append(_ingest_line(ingest))
    lines.append(_subscriptions_line(subs))
    if math.isfinite(latency_s):
        lines.append(f"{_mark(latency_s < 1)} Discord latency: {latency_s * 1000:.0f} ms")
    else:
        lines.append("❌ Discord latency: not connected yet")
    return "\n".join(lines)


def timers_text(timers: list[TimerView]) -> str:
    if not timers:
        return "No timed messages yet. " + TIMERS_USAGE
    lines = []
    for t in timers:
        flags = [f"every {t.interval_minutes} min"]
        if t.min_chat_lines:
            flags.append(f"after {t.min_chat_lines} chat lines")
        flags.append("live only" if t.live_only else "also offline")
        if not t.enabled:
            flags.append("off")
        text = discord_safe(t.text[:80] + ("…" if len(t.text) > 80 else ""))
        lines.append(f"`#{t.id}` {', '.join(flags)}: {text}")
    body = "\n".join(lines)
    if len(body) > DISCORD_LIMIT - 50:
        body = body[: DISCORD_LIMIT - 60].rsplit("\n", 1)[0] + "\n… (more on the dashboard)"
    return body


class AdminCog(commands.Cog, name="Admin"):
    def __init__(self, bot: commands.Bot) -> None:
        self.bot = bot

    @commands.hybrid_command(
        name="health", description="Bot health: database, Redis, heartbeats, Kick (admins)"
    )
    @commands.guild_only()
    @community_admin()
    async def health(self, ctx: commands.Context[Any]) -> None:
        community = await community_of(ctx.guild)
        report = await run_sync(health_report)()
        token = await run_sync(kick_token_state)(community_id=community.community_id)
        try:
            ingest = await run_sync(ingest_for)(community_id=community.community_id)
        except Exception as exc:  # health must answer even when Redis does not
            log.warning("ingest stats unreadable: %s", type(exc).__name__)
            ingest = None
        subs = await run_sync(subscriptions_state)(community_id=community.community_id)
        await reply(ctx, health_text(report, token, ingest, self.bot.latency, subs))

    @commands.hybrid_command(name="dashboard", description="The dashboard's address (admins)")
    @commands.guild_only()
    @community_admin()
    async def dashboard(self, ctx: commands.Context[Any]) -> None:
        await reply(ctx, f"{settings.PUBLIC_BASE_URL}/dashboard/")

    @commands.hybrid_group(
        name="timers", description="Timed Kick chat messages (admins)", invoke_without_command=True
    )
    @commands.guild_only()
    @community_admin()
    async def timers(self, ctx: commands.Context[Any]) -> None:
        await reply(ctx, TIMERS_USAGE)

    @timers.command(name="list", description="List the timed messages")
    @commands.guild_only()
    @community_admin()
    async def timers_list(self, ctx: commands.Context[Any]) -> None:
        community = await community_of(ctx.guild)
        timers = await run_sync(timed_messages_list)(community_id=community.community_id)
        await reply(ctx, timers_text(timers))

    @timers.command(name="add", description="Add a timed message (live only, no minimum chat lines)")
    @commands.guild_only()
    @community_admin()
    async def timers_add(self, ctx: commands.Context[Any], minutes: int, *, text: str) -> None:
        community = await community_of(ctx.guild)
        view = await run_sync(timed_message_create)(
            community_id=community.community_id,
            text=text,
            interval_minutes=minutes,
            actor_label=actor_label(ctx.author),
        )
        await reply(ctx, f"Added timed message `#{view.id}`, every {view.interval_minutes} min while live.")

    @timers.command(name="remove", description="Remove a timed message by its number")
    @commands.guild_only()
    @community_admin()
    async def timers_remove(self, ctx: commands.Context[Any], timer_id: int) -> None:
        community = await community_of(ctx.guild)
        view = await run_sync(timed_message_delete)(
            community_id=community.community_id, timer_id=timer_id, actor_label=actor_label(ctx.author)
        )
        await reply(ctx, f"Removed timed message `#{view.id}`.")


async def setup(bot: commands.Bot) -> None:
    await bot.add_cog(AdminCog(bot))
