"""One community's Kick ingestion: events in (Pusher frames, webhook bodies) → dedupe → effects.

Per chat line, in order: skip the bot's own lines → dedupe (Redis, across sources and
processes) → ingestion lag → activity (watchtime) and chat-line count → remember the user →
command router → reply into the outbox → feature handlers. Gifts, subs, live changes and bans
go to the feature handlers after the same dedupe. The Redis dedupe is a filter; every service
that awards something is idempotent on the event key in the database as well.
"""

from __future__ import annotations

import asyncio
import logging
import statistics
import time
from collections import deque
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from accounts.services import kick_users_seen
from botworker.bridge import run_sync
from botworker.commands.router import ChatLine, CommandRouter, Reply
from botworker.kick.dedupe import Dedupe
from botworker.kick.events import ChatEvent, Event, GiftEvent, GiftEvidence, LiveEvent
from botworker.kick.gifts import GiftCoalescer
from botworker.kick.handlers import EventContext, EventHandlers
from botworker.kick.parsers import ParseError, PusherFrame, pusher_to_events, webhook_to_events
from kickbot.redis_client import key
from kickbot.services import community_live_set
from watchtime.activity import activity_record_many

log = logging.getLogger(__name__)

LAG_WINDOW_S = 300
# An event's dedupe keys are first a short claim, confirmed for the full window once handled: a
# process killed between the two (kill -9, OOM) must not hide the event from its redelivery
# (a webhook stream entry is reclaimed after 30 s idle) for the whole dedupe window.
CLAIM_TTL_S = 25


class DeliveryFailed(Exception):
    """Some events of a delivery failed; its source should deliver it again (stream: no XACK)."""


@dataclass(frozen=True, slots=True)
class CommunityConfig:
    """What ingestion needs to know of a community, as plain values."""

    id: int
    slug: str
    prefix: str
    chatroom_id: int | None
    channel_id: int | None
    broadcaster_user_id: int | None
    bot_user_id: int | None


@dataclass
class IngestStats:
    """Counters and the ingestion lag (event created_at → handled) over the last five minutes."""

    events: int = 0
    duplicates: int = 0
    commands: int = 0
    replies: int = 0
    errors: int = 0
    last_event_at: float | None = None
    lags: deque[tuple[float, float]] = field(default_factory=lambda: deque(maxlen=20_000))

    def lag(self, *, now: float, lag_ms: float) -> None:
        self.lags.append((now, lag_ms))

    def percentiles(self, *, now: float) -> tuple[float | None, float | None]:
        while self.lags and self.lags[0][0] < now - LAG_WINDOW_S:
            self.lags.popleft()
        values = sorted(v for _, v in self.lags)
        if not values:
            return None, None
        if len(values) == 1:
            return values[0], values[0]
        return statistics.median(values), values[min(len(values) - 1, int(len(values) * 0.95))]


ReplySink = Callable[[CommunityConfig, Reply], Awaitable[None]]


class KnownUsers:
    """Remembers who was seen with which name, so the database is written only for news."""

    def __init__(self, max_size: int = 200_000) -> None:
        self._names: dict[int, str] = {}
        self._pending: dict[int, tuple[str, str]] = {}
        self.max_size = max_size

    def seen(self, user_id: int, username: str, slug: str) -> None:
        if self._names.get(user_id) != username:
            self._pending[user_id] = (username, slug)

    async def flush(self) -> int:
        if not self._pending:
            return 0
        batch, self._pending = self._pending, {}
        await run_sync(kick_users_seen)(users=[(uid, name, slug) for uid, (name, slug) in batch.items()])
        if len(self._names) + len(batch) > self.max_size:
            self._names.clear()
        self._names.update({uid: name for uid, (name, _) in batch.items()})
        return len(batch)


class CommunityPipeline:
    def __init__(
        self,
        *,
        community: CommunityConfig,
        redis: Any,
        router: CommandRouter,
        handlers: EventHandlers,
        on_reply: ReplySink,
        coalescer: GiftCoalescer | None = None,
        users: KnownUsers | None = None,
        clock: Callable[[], float] = time.time,
        dedupe_ttl_s: int = 600,
    ) -> None:
        self.community = community
        self.redis = redis
        self.router = router
        self.handlers = handlers
        self.on_reply = on_reply
        self.coalescer = coalescer or GiftCoalescer(window_s=10)
        self.users = users or KnownUsers()
        self.clock = clock
        self.dedupe_ttl_s = dedupe_ttl_s
        self.stats = IngestStats()
        self.ctx = EventContext(community_id=community.id, prefix=community.prefix)
        self._dedupe_prefix = key("dedupe", community.id)
        self.queue: asyncio.Queue[PusherFrame] = asyncio.Queue(maxsize=50_000)
        # One command for a whole batch: packing thousands of SETs in redis-py costs more than Redis.
        self.dedupe = Dedupe(redis, prefix=self._dedupe_prefix)

    def reconfigure(self, community: CommunityConfig) -> None:
        """New prefix or bot account from the dashboard, applied between two batches."""
        self.community = community
        self.ctx = EventContext(community_id=community.id, prefix=community.prefix)

    # --- sources -------------------------------------------------------------------------
    async def on_frame(self, frame: PusherFrame) -> None:
        """A Pusher frame (already JSON-decoded by the listener): queued for the batch worker."""
        await self.queue.put(frame)

    async def on_frames(self, frames: list[PusherFrame]) -> None:
        """Handle frames now, as one batch (one Redis round trip per stage, not per frame)."""
        events: list[Event] = []
        for frame in frames:
            try:
                items = pusher_to_events(frame)
            except ParseError:
                self.stats.errors += 1
                log.info("skipped unparseable %s frame", frame.event[:80])
                continue
            for item in items:
                events.extend(self.coalescer.feed(item) if isinstance(item, GiftEvidence) else [item])
        await self.dispatch_many(events)

    async def drain(self, stop: asyncio.Event, *, max_batch: int = 500) -> None:
        """The batch worker: takes whatever frames are waiting (at least one) and handles them.

        Quiet chat is handled frame by frame with no added delay; a flood is handled in batches.
        """
        while not stop.is_set():
            getter = asyncio.ensure_future(self.queue.get())
            stopper = asyncio.ensure_future(stop.wait())
            done, _ = await asyncio.wait({getter, stopper}, return_when=asyncio.FIRST_COMPLETED)
            stopper.cancel()
            if getter not in done:
                getter.cancel()
                break
            batch = [getter.result()]
            while len(batch) < max_batch and not self.queue.empty():
                batch.append(self.queue.get_nowait())
            try:
                await self.on_frames(batch)
            except Exception:
                self.stats.errors += 1
                log.exception("a batch of %s frames failed", len(batch))

    async def on_webhook(self, event_type: str, message_id: str, body: bytes) -> None:
        """A webhook delivery whose signature the web process has verified."""
        try:
            parsed = webhook_to_events(event_type, message_id, body)
        except ParseError:
            self.stats.errors += 1
            log.info("skipped unparseable %s webhook", event_type[:80])
            return
        events: list[Event] = []
        for event in parsed:
            events.extend(self.coalescer.feed(event) if isinstance(event, GiftEvent) else [event])
        failed = await self.dispatch_many(events)
        if failed:
            raise DeliveryFailed(f"{len(failed)} of {len(events)} events of a {event_type[:64]} failed")

    async def tick(self) -> None:
        """About once a second: gifts whose window passed, new users to the database."""
        await self.dispatch_many(self.coalescer.flush())
        await self.users.flush()

    # --- dispatch ------------------------------------------------------------------------
    async def dispatch(self, event: Event) -> None:
        await self.dispatch_many([event])

    async def _fresh(self, events: list[Event]) -> list[Event]:
        """Drop events seen or claimed before (this batch included): one script call claims every key NX
        for ``CLAIM_TTL_S``; :meth:`_settle` confirms or releases the claims."""
        claimed = await self.dedupe.claim([e.dedupe_keys() for e in events], ttl_s=CLAIM_TTL_S)
        self.stats.duplicates += claimed.count(False)
        return [event for event, new in zip(events, claimed, strict=True) if new]

    async def _settle(self, handled: list[Event], failed: list[Event]) -> None:
        """Handled events keep their keys for the dedupe window; failed ones free them for a retry."""
        await self.dedupe.keep(
            [n for e in handled for n in self.dedupe.names(e.dedupe_keys())], ttl_s=self.dedupe_ttl_s
        )
        for event in failed:
            if isinstance(event, GiftEvent):
                self.coalescer.retract(event)
        await self.dedupe.release([n for e in failed for n in self.dedupe.names(e.dedupe_keys())])

    async def dispatch_many(self, events: Sequence[Event]) -> list[Event]:
        """Handle fresh events; returns those whose handling failed (their dedupe keys released)."""
        events = [e for e in events if not (isinstance(e, ChatEvent) and self._is_own(e))]
        if not events:
            return []
        fresh = await self._fresh(events)
        if not fresh:
            return []
        failed: list[Event] = []
        now = self.clock()
        self.stats.events += len(fresh)
        self.stats.last_event_at = now
        chats = [e for e in fresh if isinstance(e, ChatEvent)]
        if chats:
            await self._chat_batch(chats, now)
        for event in fresh:
            try:
                if isinstance(event, ChatEvent):
                    if event.content.startswith(self.community.prefix):
                        await self._command(event, now)
                elif isinstance(event, LiveEvent):
                    await run_sync(community_live_set)(
                        community_id=self.community.id, is_live=event.is_live, at=event.created_at
                    )
                if self.handlers.for_event(event) and await self.handlers.dispatch(self.ctx, event):
                    self.stats.errors += 1
                    failed.append(event)
            except Exception:
                self.stats.errors += 1
                failed.append(event)
                log.exception("handling %s failed", type(event).__name__)
        failed_ids = {id(e) for e in failed}
        await self._settle([e for e in fresh if id(e) not in failed_ids], failed)
        return failed

    def _is_own(self, event: ChatEvent) -> bool:
        return self.community.bot_user_id is not None and event.sender_id == self.community.bot_user_id

    async def _chat_batch(self, chats: list[ChatEvent], now: float) -> None:
        """Lag, activity and the chat-line count for a batch of fresh chat lines."""
        seen: dict[int, float] = {}
        for event in chats:
            created = event.created_at.timestamp()
            self.stats.lag(now=now, lag_ms=max(0.0, (now - created) * 1000))
            # a sender clock ahead of ours must not stretch the active window
            seen[event.sender_id] = max(seen.get(event.sender_id, 0.0), min(created, now))
            self.users.seen(event.sender_id, event.sender_username, event.sender_slug)
        await activity_record_many(self.redis, community_id=self.community.id, seen=seen)
        await self.redis.incrby(key("chatlines", self.community.id), len(chats))

    async def _command(self, event: ChatEvent, now: float) -> None:
        await self.users.flush()  # commands may look the viewer up
        line = ChatLine(
            community_id=self.community.id,
            message_id=event.message_id,
            user_id=event.sender_id,
            username=event.sender_username,
            content=event.content,
            badges=event.badges,
            created_at=event.created_at,
        )
        self.stats.commands += 1
        reply = await self.router.handle(
            line, prefix=self.community.prefix, now=datetime.fromtimestamp(now, UTC)
        )
        if reply is not None:
            self.stats.replies += 1
            await self.on_reply(self.community, reply)

    async def publish_stats(self, *, connected: bool | None = None) -> None:
        """Write the numbers the health checks read (hash ``kb:ingest:<community id>``)."""
        now = self.clock()
        p50, p95 = self.stats.percentiles(now=now)
        fields: dict[str, str] = {
            "updated_at": f"{now:.3f}",
            "events": str(self.stats.events),
            "duplicates": str(self.stats.duplicates),
            "errors": str(self.stats.errors),
            "lag_p50_ms": "" if p50 is None else f"{p50:.0f}",
            "lag_p95_ms": "" if p95 is None else f"{p95:.0f}",
            "last_event_at": "" if self.stats.last_event_at is None else f"{self.stats.last_event_at:.3f}",
        }
        if connected is not None:
            fields["connected"] = "1" if connected else "0"
        name = key("ingest", self.community.id)
        pipe = self.redis.pipeline(transaction=False)
        pipe.hset(name, mapping=fields)
        pipe.expire(name, 3600)
        await pipe.execute()


def reply_dedupe_key(community_id: int, message_id: str) -> str:
    """One reply per chat message, whatever replays or restarts happen."""
    return f"kick-reply:{community_id}:{message_id}"
