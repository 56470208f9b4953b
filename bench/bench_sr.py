"""Slot request latency: Pusher frame sent → Discord post handed to the outbox (row committed).

The real listener reads a loopback fake Pusher server; the real pipeline, router, slot service
and outbox run against the configured database and Redis. Measured at the outbox hand-off (the
bot's Discord sender then posts it on its next pass, or at once when woken). Five runs, each with
its own listener and pipeline: the value is the median of their p95s, ``runs`` and ``spread_pct``
show how much they moved (no primitive bounds this path; it keeps its absolute target).
"""

from __future__ import annotations

import asyncio
import statistics
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson

from bench.report import spread

REPEATS = 5
CATALOGUE = Path(__file__).resolve().parents[1] / "tests" / "fixtures" / "slots" / "catalogue.json"


async def _measure(community: Any, n: int, run: int) -> list[float]:
    from django.conf import settings

    from botworker.commands.router import CommandRouter
    from botworker.kick.pipeline import CommunityConfig, CommunityPipeline
    from botworker.kick.pusher import PusherListener, channels_for
    from kickbot.commands import autodiscover, registry
    from kickbot.event_handlers import handlers
    from kickbot.redis_client import get_async_redis
    from tests.fakes.kick_pusher import FakePusherServer

    autodiscover()
    redis = get_async_redis()
    cfg = CommunityConfig(
        id=community.pk,
        slug=community.kick_channel_slug,
        prefix="!",
        chatroom_id=1,
        channel_id=2,
        broadcaster_user_id=None,
        bot_user_id=None,
    )

    async def on_reply(_cfg: Any, _reply: Any) -> None:
        return None

    pipeline = CommunityPipeline(
        community=cfg,
        redis=redis,
        router=CommandRouter(registry=registry, redis=redis, key_prefix=settings.REDIS_KEY_PREFIX),
        handlers=handlers,
        on_reply=on_reply,
    )
    sent_at: dict[str, float] = {}
    latencies: list[float] = []
    inner = pipeline.on_frames

    async def timed(frames: list[Any]) -> None:
        await inner(frames)
        done = time.perf_counter()
        for f in frames:
            mid = (f.data or {}).get("id")
            if mid in sent_at:
                latencies.append((done - sent_at.pop(mid)) * 1000)

    pipeline.on_frames = timed  # type: ignore[method-assign]
    stop = asyncio.Event()
    async with FakePusherServer() as server:
        listener = PusherListener(server.url, channels_for(1, 2), pipeline.on_frame)
        tasks = [asyncio.create_task(listener.run(stop)), asyncio.create_task(pipeline.drain(stop))]
        await server.wait_subscribed(5, within_s=10)
        slots = ["gates of olympus", "book of dead", "sweet bonanza", "wanted dead or a wild", "sugar rush"]
        for i in range(n):
            mid = f"sr-bench-{run}-{i}"
            data = {
                "id": mid,
                "chatroom_id": 1,
                "content": f"!sr {slots[i % len(slots)]}",
                "type": "message",
                "created_at": datetime.now(UTC).isoformat(timespec="seconds"),
                "sender": {
                    "id": 900_000 + run * n + i,
                    "username": f"req{run}-{i}",
                    "slug": f"req{run}-{i}",
                    "identity": {"badges": []},
                },
            }
            sent_at[mid] = time.perf_counter()
            await server.send(
                {
                    "event": "App\\Events\\ChatMessageEvent",
                    "channel": "chatrooms.1.v2",
                    "data": orjson.dumps(data).decode(),
                }
            )
            deadline = time.perf_counter() + 5
            # one request at a time; polling keeps the measured path free of test hooks
            while mid in sent_at and time.perf_counter() < deadline:  # noqa: ASYNC110
                await asyncio.sleep(0.0005)
        stop.set()
        await asyncio.gather(*tasks, return_exceptions=True)
    await redis.aclose()
    return latencies


def run(scale: float) -> dict[str, Any]:
    from django.core.management import call_command

    from accounts.models import KickUser
    from kickbot.models import Community
    from outbox.models import OutboxMessage
    from slots.catalogue import slots_import
    from slots.importers import parse_document
    from slots.models import Slot, SlotRequest, SlotSettings

    call_command("migrate", verbosity=0)
    n = max(20, int(100 * scale))  # requests per run
    imported = slots_import(rows=parse_document(CATALOGUE.read_bytes(), "json"), source="bench-sr")
    community = Community.objects.create(kick_channel_slug=f"bench-sr-{int(time.time())}")
    SlotSettings.objects.create(community=community, channel_id=123, cooldown_s=0, max_open_per_user=100)
    try:
        runs = [asyncio.run(_measure(community, n, run)) for run in range(REPEATS)]
        latencies = [ms for run in runs for ms in run]
        posted = OutboxMessage.objects.filter(community=community, kind="discord_message").count()
        stored = SlotRequest.objects.filter(community=community).count()
    finally:
        OutboxMessage.objects.filter(community=community).delete()
        SlotRequest.objects.filter(community=community).delete()
        KickUser.objects.filter(user_id__gte=900_000, user_id__lt=900_000 + REPEATS * n).delete()
        community.delete()
        if imported.created:
            Slot.objects.filter(source="bench-sr").delete()
    total = REPEATS * n
    if len(latencies) != total or posted != total or stored != total:
        raise RuntimeError(
            f"expected {total} requests, measured {len(latencies)}, posted {posted}, stored {stored}"
        )
    return {
        "sr_to_discord_p95_ms": {
            **spread([statistics.quantiles(run, n=100)[94] for run in runs]),
            "unit": "ms",
            "p50_ms": round(statistics.median(latencies), 1),
            "requests": total,
            "measured_at": "outbox hand-off: loopback Pusher frame sent -> Discord post row committed",
        }
    }
