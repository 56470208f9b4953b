"""``manage.py kick_replay --file F.jsonl``: feed recorded Kick traffic through the real pipeline."""

from __future__ import annotations

import asyncio
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import orjson
from django.core.management.base import BaseCommand, CommandError

from botworker.commands.router import Reply
from botworker.kick.component import KickIngestion, _config
from botworker.kick.pipeline import CommunityConfig, CommunityPipeline
from kickbot.event_handlers import handlers
from kickbot.integrations.kick.parsers import ParseError, parse_pusher_frame
from kickbot.redis_client import get_async_redis
from kickbot.selectors import kick_communities


class Command(BaseCommand):
    help = (
        'Replay recorded Kick traffic (JSON lines: {"frame": ...} or '
        '{"webhook": ..., "type": ..., "id": ...}) through the real pipeline; prints a JSON summary.'
    )

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--file", required=True, help="JSON-lines file ('-' for standard input)")
        parser.add_argument("--community", help="community slug (default: the first with Kick ids)")
        parser.add_argument(
            "--max-speed", action="store_true", help="do not pace the replay (default 1000 lines/s)"
        )
        parser.add_argument(
            "--send-replies",
            action="store_true",
            help="queue command replies for the bot to send (off: only counted)",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        rows = kick_communities()
        if options["community"]:
            rows = [r for r in rows if r["kick_channel_slug"] == options["community"].lower()]
        if not rows:
            raise CommandError("no community with Kick ids matches; set it up on the dashboard first")
        path = options["file"]
        if path != "-" and not Path(path).is_file():
            raise CommandError(f"no such file: {path}")
        lines = sys.stdin.buffer.read().splitlines() if path == "-" else Path(path).read_bytes().splitlines()
        summary = asyncio.run(
            self.replay(_config(rows[0]), lines, options["max_speed"], options["send_replies"])
        )
        self.stdout.write(orjson.dumps(summary).decode())

    async def replay(
        self, cfg: CommunityConfig, lines: list[bytes], max_speed: bool, send: bool
    ) -> dict[str, int]:
        redis = get_async_redis()
        replies = 0

        async def count_reply(community: CommunityConfig, reply: Reply) -> None:
            nonlocal replies
            replies += 1
            if send:
                await ingestion.on_reply(community, reply)

        ingestion = KickIngestion(communities=[cfg], redis=redis)
        pipeline = CommunityPipeline(
            community=cfg, redis=redis, router=ingestion.router, handlers=handlers, on_reply=count_reply
        )
        read = errors = 0
        try:
            for raw in lines:
                text = raw.strip()
                if not text or text.startswith(b"#"):
                    continue
                read += 1
                try:
                    doc = orjson.loads(text)
                    if "frame" in doc:
                        frame = doc["frame"]
                        await pipeline.on_frames(
                            [parse_pusher_frame(frame if isinstance(frame, str) else orjson.dumps(frame))]
                        )
                    elif "webhook" in doc:
                        body = doc["webhook"]
                        await pipeline.on_webhook(
                            str(doc["type"]),
                            str(doc["id"]),
                            body.encode() if isinstance(body, str) else orjson.dumps(body),
                        )
                    else:
                        errors += 1
                except (orjson.JSONDecodeError, ParseError, KeyError, TypeError):
                    errors += 1
                if not max_speed:
                    await asyncio.sleep(0.001)
            await pipeline.dispatch_many(pipeline.coalescer.flush(everything=True))
            await pipeline.tick()
            # Recorded traffic is past its attribution window: a gift still without its gifter is an error.
            await pipeline.settle_gifts(expire_before=datetime.now(UTC) + timedelta(seconds=1))
        finally:
            await redis.aclose()
        stats = pipeline.stats
        return {
            "read": read,
            "events": stats.events,
            "duplicates": stats.duplicates,
            "commands": stats.commands,
            "replies": replies,
            "errors": errors + stats.errors,
        }
