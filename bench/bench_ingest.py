"""Kick chat ingestion throughput: parse + dedupe + activity + command router, no replies.

Ours: the pipeline's batch path (what the listener's drain worker runs under load), fed in
segments of the stream, each followed by the new users' flush (what the pipeline's tick does about
once a second), in turns with its limit (``redis_setnx_zadd_msgs_per_s``: a pass of the pipelined
``SET NX`` + ``ZADD`` primitive over as many messages as the segment has frames,
``bench.limits.RedisPrimitive``) on the same client: primitive, segment, primitive, ...,
segment, primitive (``bench/paired.py``). The value is the median segment's rate, ``of_limit``
the median of each segment's ratio to the primitive passes either side of it.
Naive baseline: the same steps one frame at a time (a Redis round trip per step per message),
measured in the same run on a slice of the same frames.
"""

from __future__ import annotations

import asyncio
import random
import time
from datetime import UTC, datetime
from typing import Any

import orjson

from bench import paired

SEGMENTS = 40  # pairs: segments of the stream, each beside a pass of the primitive


def frame_count(scale: float) -> int:
    """Frames of the measured run at ``scale`` (200,000 at 1.0)."""
    return max(2_000, int(200_000 * scale))


def frames(n: int, *, chatroom: int = 1) -> list[bytes]:
    """``n`` double-encoded chat frames, built deterministically (the limits stage parses the same)."""
    rng = random.Random(11)
    now = datetime.now(UTC).isoformat(timespec="seconds")
    words = [
        "gg",
        "lets go",
        "bonus buy",
        "max win",
        "KEKW",
        "hello chat",
        "what slot is this",
        "W",
        "scatter",
    ]
    out = []
    for i in range(n):
        sender = rng.randrange(5_000)
        text = " ".join(rng.choices(words, k=rng.randint(1, 6)))
        # distinct lines: a repeated line by one sender in one second is (rightly) one event
        content = f"!bench{i % 7} {i}" if i % 20 == 0 else f"{text} {i}"
        data = {
            "id": f"bench-{i}",
            "chatroom_id": chatroom,
            "content": content,
            "type": "message",
            "created_at": now,
            "sender": {
                "id": 10_000 + sender,
                "username": f"viewer{sender}",
                "slug": f"viewer{sender}",
                "identity": {
                    "color": "#fff",
                    "badges": [{"type": "subscriber", "text": "Sub"}] if sender % 3 == 0 else [],
                },
            },
        }
        out.append(
            orjson.dumps(
                {
                    "event": "App\\Events\\ChatMessageEvent",
                    "channel": f"chatrooms.{chatroom}.v2",
                    "data": orjson.dumps(data).decode(),
                }
            )
        )
    return out


async def _run(
    frames: list[bytes], *, batch: int, community: Any, segments: int = 1, paired_with_primitive: bool = False
) -> paired.Turns[float, float]:
    """Feed ``frames`` in ``segments``: the pipeline's msg/s per segment.

    With ``paired_with_primitive`` a pass of the Redis primitive of as many messages as a segment
    has frames runs before the first segment and after each (:func:`bench.paired.interleave`);
    without, the primitive's side is all 0 (nothing measured).
    """
    from django.conf import settings

    from bench.limits import RedisPrimitive
    from botworker.commands.router import CommandRouter
    from botworker.kick.pipeline import CommunityConfig, CommunityPipeline
    from kickbot.commands import autodiscover, registry
    from kickbot.event_handlers import EventHandlers
    from kickbot.integrations.kick.parsers import parse_pusher_frame
    from kickbot.redis_client import get_async_redis

    autodiscover()
    redis = get_async_redis()
    replies = 0

    async def on_reply(cfg: Any, reply: Any) -> None:
        nonlocal replies
        replies += 1

    cfg = CommunityConfig(
        id=community.pk,
        slug=community.kick_channel_slug,
        prefix="!",
        chatroom_id=1,
        channel_id=1,
        broadcaster_user_id=None,
        bot_user_id=None,
    )
    pipeline = CommunityPipeline(
        community=cfg,
        redis=redis,
        router=CommandRouter(registry=registry, redis=redis, key_prefix=settings.REDIS_KEY_PREFIX),
        handlers=EventHandlers(),
        on_reply=on_reply,
    )
    primitive = RedisPrimitive(redis)
    size = -(-len(frames) // segments)

    async def segment(part: list[bytes]) -> float:
        started = time.perf_counter()
        for i in range(0, len(part), batch):
            await pipeline.on_frames([parse_pusher_frame(raw) for raw in part[i : i + batch]])
        await pipeline.users.flush()
        return len(part) / (time.perf_counter() - started)

    async def limit() -> float:
        return await primitive.rate(size) if paired_with_primitive else 0.0

    try:  # as paired.interleave, awaited: primitive, segment, primitive, ..., segment, primitive
        limits, rates = [await limit()], []
        for k in range(segments):
            rates.append(await segment(frames[k * size : (k + 1) * size]))
            limits.append(await limit())
    finally:
        await primitive.cleanup()
        await redis.aclose()
    assert replies == 0, "the benchmark's commands must not produce replies"
    assert pipeline.stats.events == len(frames), (pipeline.stats.events, pipeline.stats.duplicates)
    return paired.Turns(limits, rates)


def _cleanup(community: Any) -> None:
    from accounts.models import KickUser
    from kickbot.redis_client import get_redis

    r = get_redis()
    for pattern in (
        f"*dedupe:{community.pk}:*",
        f"*activity:{community.pk}",
        f"*chatlines:{community.pk}",
        f"*:cd:{community.pk}:*",
    ):
        keys = list(r.scan_iter(match=pattern, count=10_000))
        for i in range(0, len(keys), 5_000):
            r.delete(*keys[i : i + 5_000])
    KickUser.objects.filter(user_id__gte=10_000, user_id__lt=15_000, username__startswith="viewer").delete()
    community.delete()


def run(scale: float) -> dict[str, Any]:
    from django.core.management import call_command

    from kickbot.models import Community

    call_command("migrate", verbosity=0)
    n = frame_count(scale)
    naive_n = max(1_000, n // 40)  # one frame at a time is slow: a rate needs no more
    turns: dict[str, paired.Turns[float, float]] = {}
    for label, count, batch, segments, with_primitive in (
        ("ours", n, 500, SEGMENTS, True),
        ("naive", naive_n, 1, 1, False),
    ):
        community = Community.objects.create(kick_channel_slug=f"bench-ingest-{label}-{int(time.time())}")
        try:
            turns[label] = asyncio.run(
                _run(
                    frames(count, chatroom=1),
                    batch=batch,
                    community=community,
                    segments=segments,
                    paired_with_primitive=with_primitive,
                )
            )
        finally:
            _cleanup(community)
    ours = paired.by_median(turns["ours"], "msg/s", "redis_setnx_zadd_msgs_per_s")
    baseline = round(turns["naive"].figure[0])
    return {
        "ingest_msgs_per_s": {
            "value": ours["value"],
            "unit": "msg/s",
            "baseline": baseline,
            "ratio": round(ours["value"] / baseline, 1),
            **ours,
            "frames": n,
            "segments": SEGMENTS,
        }
    }
