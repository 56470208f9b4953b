"""The bot process's Kick side: per community, hold the ingestion lease and, while held, read
Pusher and the webhook stream into the pipeline; send queued Kick chat for held communities.

Exactly one process ingests a community at a time (the Redis lease); a standby takes over within
the lease's time to live when the holder dies.

Redis unreachable: nothing here stops or crashes. Pusher stays connected and frames queue in memory;
the pipeline's batches wait and resume; the lease is confirmed (or taken again after a restart that
lost it) before anything is handled; the webhook reader backs off and recreates its group. Only a
lease that Redis says is another process's stops the ingestion. ``RedisWatch`` keeps the record.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
import time
import uuid
from collections.abc import Callable, Coroutine
from typing import Any

from django.conf import settings

from botworker.aio import wait_any
from botworker.commands.router import CommandRouter, Reply
from botworker.kick.lease import IngestionLease
from botworker.kick.outage import Backoff, IngestionHalted, RedisWatch, redis_down
from botworker.kick.pipeline import CommunityConfig, CommunityPipeline, reply_dedupe_key
from botworker.kick.pusher import PusherListener, channels_for
from botworker.kick.sender import KickChatSender, ReplyExpired, TokenBucket
from botworker.kick.webhook_queue import WebhookReader, stream_gone
from kickbot.bridge import run_sync
from kickbot.commands import autodiscover as commands_autodiscover
from kickbot.commands import registry
from kickbot.event_handlers import autodiscover as handlers_autodiscover
from kickbot.event_handlers import handlers
from kickbot.integrations.kick import (
    AsyncKickApi,
    KickAuthError,
    KickError,
    KickNotSent,
    KickUnavailable,
    RateLimited,
)
from kickbot.kick import async_kick_api
from kickbot.redis_client import get_async_redis
from kickbot.selectors import kick_communities
from outbox.models import OutboxMessage
from outbox.services import (
    kick_chat_enqueue,
    kick_reply_expires_at,
    outbox_claim,
    outbox_mark_expired,
    outbox_mark_failed,
    outbox_mark_sent,
)

log = logging.getLogger(__name__)

CLAIM_EVERY_S = 10.0


def _config(row: dict[str, Any]) -> CommunityConfig:
    return CommunityConfig(
        id=int(row["id"]),
        slug=str(row["kick_channel_slug"]),
        prefix=str(row["command_prefix"]),
        chatroom_id=row["kick_chatroom_id"],
        channel_id=row["kick_channel_id"],
        broadcaster_user_id=row["kick_broadcaster_user_id"],
        bot_user_id=row["kick_bot_user_id"],
    )


async def _every(seconds: float, stop: asyncio.Event, fn: Callable[[], Coroutine[Any, Any, Any]]) -> None:
    while not stop.is_set():
        try:
            await fn()
        except Exception:
            log.exception("periodic %s failed", getattr(fn, "__qualname__", fn))
        await wait_any(stop, seconds=seconds)


class KickIngestion:
    def __init__(
        self,
        *,
        communities: list[CommunityConfig],
        redis: Any,
        holder_id: str | None = None,
        pusher_url: str | None = None,
        api_factory: Callable[[int], AsyncKickApi] = lambda cid: async_kick_api(community_id=cid),
        lease_ttl_s: float = 10.0,
        lease_renew_s: float = 3.0,
        chat_rate: float = 1.0,
        chat_burst: int = 2,
        listener_options: dict[str, Any] | None = None,
        reload: Callable[[], Coroutine[Any, Any, list[CommunityConfig]]] | None = None,
        refresh_s: float = 30.0,
    ) -> None:
        self.communities = communities
        self.redis = redis
        self.holder_id = holder_id or f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        self.pusher_url = pusher_url or settings.KICK_PUSHER_URL
        self.api_factory = api_factory
        self.lease_ttl_s, self.lease_renew_s = lease_ttl_s, lease_renew_s
        self.chat_rate, self.chat_burst = chat_rate, chat_burst
        self.listener_options = listener_options or {}
        self.reload = reload
        self.refresh_s = refresh_s
        commands_autodiscover()
        handlers_autodiscover()
        self.router = CommandRouter(registry=registry, redis=redis, key_prefix=settings.REDIS_KEY_PREFIX)
        self.held: set[int] = set()
        self.pipelines: dict[int, CommunityPipeline] = {}
        self.listeners: dict[int, PusherListener] = {}
        self.leases: dict[int, IngestionLease] = {}
        self.wake = asyncio.Event()
        self._senders: dict[int, KickChatSender] = {}
        self.watch = RedisWatch()  # this process's Redis outages, shown on the health pages

    async def run(self, stop: asyncio.Event) -> None:
        tasks = {
            c.id: asyncio.create_task(self._community(c, stop), name=f"kick:{c.id}") for c in self.communities
        }
        sender = asyncio.create_task(self._send_loop(stop), name="kick:sender")
        try:
            while not stop.is_set():
                await wait_any(stop, seconds=self.refresh_s)
                if not stop.is_set() and self.reload is not None:
                    try:
                        await self._apply(await self.reload(), tasks, stop)
                    except Exception:
                        log.exception("reloading community settings failed")
        finally:
            for t in (*tasks.values(), sender):
                t.cancel()
            await asyncio.gather(*tasks.values(), sender, return_exceptions=True)
            for chat_sender in self._senders.values():
                with contextlib.suppress(Exception):
                    await chat_sender.api.aclose()

    async def _apply(
        self, configs: list[CommunityConfig], tasks: dict[int, asyncio.Task[None]], stop: asyncio.Event
    ) -> None:
        """Settings changed on the dashboard take effect without a restart.

        A new prefix or bot account is applied in place; new chat ids restart that community's
        ingestion; a new community starts; a removed one stops.
        """
        wanted = {c.id: c for c in configs}
        for cid in [cid for cid in tasks if cid not in wanted]:
            tasks.pop(cid).cancel()
            log.info("community %s no longer configured for Kick; stopped its ingestion", cid)
        current = {c.id: c for c in self.communities}
        for cid, cfg in wanted.items():
            old = current.get(cid)
            if old == cfg and cid in tasks:
                continue
            restart = old is None or (old.chatroom_id, old.channel_id) != (cfg.chatroom_id, cfg.channel_id)
            if cid in self.pipelines and not restart:
                self.pipelines[cid].reconfigure(cfg)
                stale = self._senders.pop(cid, None)  # the broadcaster id may have changed
                if stale is not None:
                    with contextlib.suppress(Exception):
                        await stale.api.aclose()
            else:
                if cid in tasks:
                    tasks[cid].cancel()
                    await asyncio.gather(tasks[cid], return_exceptions=True)
                tasks[cid] = asyncio.create_task(self._community(cfg, stop), name=f"kick:{cid}")
                log.info("started Kick ingestion for %s", cfg.slug)
        self.communities = list(wanted.values())

    # --- one community -------------------------------------------------------------------
    async def on_reply(self, community: CommunityConfig, reply: Reply) -> None:
        # Keyed by the message it answers: runs again, once, when the database ended the connection.
        # A reply lives KICK_REPLY_TTL_SECONDS from the moment its command was said, then expires.
        await run_sync(kick_chat_enqueue, idempotent=True)(
            community_id=community.id,
            text=reply.text,
            reply_to=reply.reply_to_message_id,
            dedupe_key=reply_dedupe_key(community.id, reply.reply_to_message_id or reply.text),
            expires_at=kick_reply_expires_at(reply.said_at) if reply.said_at else None,
        )
        self.wake.set()

    async def _community(self, cfg: CommunityConfig, stop: asyncio.Event) -> None:
        lease = IngestionLease(
            self.redis,
            f"kick:{cfg.id}",
            self.holder_id,
            ttl_s=self.lease_ttl_s,
            renew_every_s=self.lease_renew_s,
            watch=self.watch,
        )
        self.leases[cfg.id] = lease
        pipeline = CommunityPipeline(
            community=cfg,
            redis=self.redis,
            router=self.router,
            handlers=handlers,
            on_reply=self.on_reply,
            watch=self.watch,
            lease=lease,
        )
        self.pipelines[cfg.id] = pipeline
        holding = asyncio.create_task(lease.hold(stop))
        workers: list[asyncio.Task[None]] = []
        inner = asyncio.Event()
        try:
            while not stop.is_set():
                await wait_any(lease.held, stop)
                if stop.is_set():
                    break
                log.info("ingesting Kick chat of %s (lease held by %s)", cfg.slug, self.holder_id)
                self.held.add(cfg.id)
                inner = asyncio.Event()
                workers = [asyncio.create_task(w) for w in self._workers(cfg, pipeline, inner)]
                await self._while_held(cfg, lease, pipeline, stop)
                self.held.discard(cfg.id)
                inner.set()
                await asyncio.gather(*workers, return_exceptions=True)
                workers = []
                try:
                    await pipeline.publish_stats(connected=False)
                except Exception:  # a refusal (OOM, MISCONF) must not end this community's ingestion
                    log.exception("%s: publishing the ingestion stats failed", cfg.slug)
                if not stop.is_set():
                    log.warning("lost the ingestion lease of %s; standing by", cfg.slug)
        finally:
            self.held.discard(cfg.id)
            inner.set()  # workers end by themselves even if a cancellation below is lost
            for task in (*workers, holding):  # never leave a reader running past our own end
                task.cancel()
            await asyncio.gather(*workers, holding, return_exceptions=True)
            with contextlib.suppress(Exception):
                await lease.release()

    async def _while_held(
        self, cfg: CommunityConfig, lease: IngestionLease, pipeline: CommunityPipeline, stop: asyncio.Event
    ) -> None:
        """Return when the lease is another process's (or we stop). While Redis cannot confirm it, keep
        the workers: they only read chat into memory then (every effect needs Redis first)."""
        while not stop.is_set():
            await wait_any(lease.lost, stop)
            if stop.is_set() or not lease.in_doubt:
                return
            self.held.discard(cfg.id)  # no Kick chat out either until Redis says the lease is ours
            log.warning(
                "%s: Redis cannot confirm the ingestion lease; reading chat into memory meanwhile", cfg.slug
            )
            while lease.in_doubt and not stop.is_set():
                await wait_any(lease.held, stop, seconds=0.5)
            if not lease.is_held:
                if (
                    not stop.is_set()
                ):  # what we read meanwhile is the new holder's to miss, not ours to handle
                    dropped = pipeline.drop_queued()
                    log.warning(
                        "%s: the lease went to another process during a Redis outage; %s frames dropped",
                        cfg.slug,
                        dropped,
                    )
                return
            self.held.add(cfg.id)
            log.info("%s: ingestion lease confirmed again after a Redis outage", cfg.slug)

    def _workers(
        self, cfg: CommunityConfig, pipeline: CommunityPipeline, stop: asyncio.Event
    ) -> list[Coroutine[Any, Any, None]]:
        pipeline.halt = stop
        workers: list[Coroutine[Any, Any, None]] = []
        if cfg.chatroom_id and cfg.channel_id:
            listener = PusherListener(
                self.pusher_url,
                channels_for(cfg.chatroom_id, cfg.channel_id),
                pipeline.on_frame,
                on_reject=pipeline.frame_rejected,
                **self.listener_options,
            )
            self.listeners[cfg.id] = listener
            workers.append(listener.run(stop))
        else:
            log.warning(
                "%s: chatroom id and channel id are both needed to read Pusher; reading webhooks only",
                cfg.slug,
            )
        workers.append(pipeline.drain(stop))
        reader = WebhookReader(self.redis, community_id=cfg.id, consumer=self.holder_id)
        workers.append(self._webhooks(reader, pipeline, stop))

        async def tick() -> None:
            try:
                await pipeline.tick()
            except IngestionHalted:
                return
            listener = self.listeners.get(cfg.id)
            await pipeline.publish_stats(connected=bool(listener and listener.state.connected))

        workers.append(_every(1.0, stop, tick))
        return workers

    async def _webhooks(
        self, reader: WebhookReader, pipeline: CommunityPipeline, stop: asyncio.Event
    ) -> None:
        last_claim = 0.0
        need_group = True
        backoff = Backoff()
        while not stop.is_set():
            started = self.watch.clock()
            try:
                if need_group:
                    await reader.ensure_group()
                    need_group = False
                # Not only at start: a dead holder's entries become claimable 30 s after it read them,
                # usually after we took the lease over; a failed delivery is retried the same way.
                if time.monotonic() - last_claim >= CLAIM_EVERY_S:
                    last_claim = time.monotonic()
                    await reader.claim_stale(pipeline.on_webhook)
                await reader.read_once(pipeline.on_webhook)
                self.watch.ok(since=started)
                backoff.reset()
            except IngestionHalted:
                return
            except Exception as exc:
                if redis_down(exc):
                    self.watch.failed(exc, since=started)
                    await wait_any(stop, seconds=backoff.next())
                elif stream_gone(exc):
                    # Redis restarted without its data: the stream and its group are gone.
                    log.warning(
                        "webhook stream of %s has no consumer group (Redis restarted?); creating it",
                        pipeline.community.slug,
                    )
                    need_group = True
                else:
                    log.exception("reading webhook deliveries failed")
                    await wait_any(stop, seconds=2)

    # --- Kick chat out -------------------------------------------------------------------
    def _sender(self, community: CommunityConfig) -> KickChatSender:
        if community.id not in self._senders:
            self._senders[community.id] = KickChatSender(
                api=self.api_factory(community.id),
                broadcaster_user_id=community.broadcaster_user_id,
                bucket=TokenBucket(rate=self.chat_rate, burst=self.chat_burst),
            )
        return self._senders[community.id]

    async def _send_loop(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            try:
                await self.send_pending()
            except Exception:
                log.exception("kick chat pass failed")
            self.wake.clear()
            await wait_any(self.wake, stop, seconds=1.0)

    async def send_pending(self) -> int:
        if not self.held:
            return 0
        items = await run_sync(outbox_claim)(
            worker_id=self.holder_id,
            limit=20,
            kinds=(OutboxMessage.Kind.KICK_CHAT,),
            community_ids=sorted(self.held),
        )
        by_id = {c.id: c for c in self.communities}
        sent = 0
        for item in items:
            community = by_id.get(item.community_id or -1)
            if community is None:
                await run_sync(outbox_mark_failed)(
                    message_id=item.id, worker_id=self.holder_id, error="unknown community", retry=False
                )
                continue
            try:
                await self._sender(community).send(
                    str(item.payload.get("text", "")),
                    reply_to_message_id=item.payload.get("reply_to") or None,
                    not_after=item.expires_at,
                )
            except ReplyExpired:
                await run_sync(outbox_mark_expired)(message_id=item.id, worker_id=self.holder_id)
            except KickError as exc:
                error, retry = _send_failure(exc)
                await run_sync(outbox_mark_failed)(
                    message_id=item.id, worker_id=self.holder_id, error=error, retry=retry
                )
            else:
                await run_sync(outbox_mark_sent)(message_id=item.id, worker_id=self.holder_id)
                sent += 1
        return sent


def _send_failure(exc: KickError) -> tuple[str, bool]:
    """What a failed Kick chat send records on its outbox row, and whether it may be sent again."""
    if isinstance(exc, RateLimited):
        return f"rate limited {exc.retry_after}s", True
    if isinstance(exc, KickNotSent):
        # Kick was never reached (refused, DNS, TLS, 503): sending again cannot post it twice.
        return f"not sent: {exc}"[:200], True
    if isinstance(exc, KickUnavailable):
        # The message may have gone through: never resend it (a double post is worse).
        return str(exc)[:200], False
    if isinstance(exc, KickAuthError):
        return f"auth: {exc}"[:200], True
    return str(exc)[:200], False


async def _load_configs() -> list[CommunityConfig]:
    return [_config(r) for r in await run_sync(kick_communities)()]


async def kick_component(runtime: Any) -> None:
    """BotRuntime component: ingest every configured community until the runtime stops."""
    rows = await run_sync(kick_communities)()
    if not rows:
        log.info("no community has a Kick chatroom or broadcaster id yet; checking again every 30 s")
    redis = get_async_redis()
    try:
        await KickIngestion(communities=[_config(r) for r in rows], redis=redis, reload=_load_configs).run(
            runtime.stop_event
        )
    finally:
        await redis.aclose()
