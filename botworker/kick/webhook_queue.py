"""Verified webhook deliveries travel from the web process to the bot through a Redis stream.

Web: ``XADD kb:webhooks:<community id>`` and answer 200 at once. Bot (the holder of the
community's ingestion lease): ``XREADGROUP`` → pipeline → ``XACK``. A delivery read by a bot that
died before acking is claimed again by the next holder (``XAUTOCLAIM``), and the pipeline's
dedupe keeps a redelivery from counting twice.

A Redis restart without its data takes the stream and its group with it: the reader's next call
fails with NOGROUP (:func:`stream_gone`) and the group is created again; deliveries the web process
queued before the restart and nobody had read are gone (Kick does not resend what it got a 200 for).
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any

import redis.asyncio as aioredis

from botworker.kick.outage import IngestionHalted
from kickbot.webhook_stream import GROUP, stream_key

log = logging.getLogger(__name__)

CLAIM_IDLE_MS = 30_000

# (event type, message id, body, Kick-Event-Version)
Handler = Callable[[str, str, bytes, str], Awaitable[None]]


class WebhookReader:
    def __init__(
        self, client: aioredis.Redis, *, community_id: int, consumer: str, block_ms: int = 1000
    ) -> None:
        self.client = client
        self.stream = stream_key(community_id)
        self.consumer = consumer
        self.block_ms = block_ms

    async def ensure_group(self) -> None:
        try:
            await self.client.xgroup_create(self.stream, GROUP, id="0", mkstream=True)
        except aioredis.ResponseError as exc:
            if "BUSYGROUP" not in str(exc):
                raise

    async def _handle(self, entries: list[tuple[Any, dict[Any, Any]]], handler: Handler) -> int:
        done = 0
        for entry_id, fields in entries:
            try:
                await handler(
                    _text(fields.get(b"type")),
                    _text(fields.get(b"id")),
                    bytes(fields.get(b"body") or b""),
                    _text(fields.get(b"version")) or "1",  # entries queued before versions were kept
                )
            except IngestionHalted:
                raise  # not handled; pending for whoever ingests next
            except Exception:
                log.exception("webhook delivery %s failed; it will be retried", _text(entry_id))
                continue
            await self.client.xack(self.stream, GROUP, entry_id)
            done += 1
        return done

    async def claim_stale(self, handler: Handler) -> int:
        """Take over deliveries a dead consumer read but never acknowledged."""
        result: Any = await self.client.xautoclaim(
            self.stream, GROUP, self.consumer, min_idle_time=CLAIM_IDLE_MS, start_id="0-0", count=100
        )
        return await self._handle(result[1], handler)

    async def read_once(self, handler: Handler) -> int:
        response: Any = await self.client.xreadgroup(
            GROUP, self.consumer, {self.stream: ">"}, count=100, block=self.block_ms
        )
        done = 0
        for _stream, entries in response or []:
            done += await self._handle(entries, handler)
        return done


def stream_gone(exc: BaseException) -> bool:
    """The stream or its consumer group does not exist (any more), or was deleted under a blocked
    read (``UNBLOCKED``): create them again."""
    return isinstance(exc, aioredis.ResponseError) and str(exc).startswith(("NOGROUP", "UNBLOCKED"))


def _text(value: Any) -> str:
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    return "" if value is None else str(value)
