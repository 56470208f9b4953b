"""One community's Kick ingestion: events in (Pusher frames, webhook bodies) → dedupe → effects.

Per chat line, in order: skip the bot's own lines → dedupe (Redis, across sources and
processes) → ingestion lag → activity (watchtime) and chat-line count → remember the user →
command router → reply into the outbox → feature handlers. Gifts, subs, live changes and bans
go to the feature handlers after the same dedupe. The Redis dedupe is a filter; every service
that awards something is idempotent on the event key in the database as well.
"""

from __future__ import annotations

import logging
import statistics
import time
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from accounts.services import kick_users_seen
from botworker.bridge import run_sync
from botworker.commands.router import ChatLine, CommandRouter, Reply
from botworker.kick.dedupe import seen_before
from botworker.kick.events import ChatEvent, Event, GiftEvent, GiftEvidence, LiveEvent
from botworker.kick.gifts import GiftCoalescer
from botworker.kick.handlers import EventContext, EventHandlers
from botworker.kick.parsers import ParseError, PusherFrame, pusher_to_events, webhook_to_events
from kickbot.redis_client import key
from kickbot.services import community_live_set
from watchtime.activity import activity_record

log = logging.getLogger(__name__)

LAG_WINDOW_S = 300


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

    # --- sources -------------------------------------------------------------------------
    async def on_frame(self, frame: PusherFrame) -> None:
        """A Pusher frame (already JSON-decoded by the listener)."""
        try:
            items = pusher_to_events(frame)
        except ParseError:
            self.stats.errors += 1
            log.info("skipped unparseable %s frame", frame.event[:80])
            return
        for item in items:
            finals = self.coalescer.feed(item) if isinstance(item, GiftEvidence) else [item]
            for event in finals:
                await self.dispatch(event)

    async def on_webhook(self, event_type: str, message_id: str, body: bytes) -> None:
        """A webhook delivery whose signature the web process has verified."""
        try:
            events = webhook_to_events(event_type, message_id, body)
        except ParseError:
            self.stats.errors += 1
            log.info("skipped unparseable %s webhook", event_type[:80])
            return
        for event in events:
            finals = self.coalescer.feed(event) if isinstance(event, GiftEvent) else [event]
            for final in finals:
                await self.dispatch(final)

    async def tick(self) -> None:
        """About once a second: gifts whose window passed, new users to the database."""
        for event in self.coalescer.flush():
            await self.dispatch(event)
        await self.users.flush()

    # --- dispatch ------------------------------------------------------------------------
    async def dispatch(self, event: Event) -> None:
        if isinstance(event, ChatEvent) and self._is_own(event):
            return
        keys = event.dedupe_keys()
        if await seen_before(self.redis, keys=keys, prefix=self._dedupe_prefix, ttl_s=self.dedupe_ttl_s):
            self.stats.duplicates += 1
            return
        self.stats.events += 1
        now = self.clock()
        self.stats.last_event_at = now
        try:
            if isinstance(event, ChatEvent):
                await self._chat(event, now)
            elif isinstance(event, LiveEvent):
                await run_sync(community_live_set)(
                    community_id=self.community.id, is_live=event.is_live, at=event.created_at
                )
            if await self.handlers.dispatch(self.ctx, event):
                self.stats.errors += 1
        except Exception:
            self.stats.errors += 1
            log.exception("handling %s failed", type(event).__name__)

    def _is_own(self, event: ChatEvent) -> bool:
        return self.community.bot_user_id is not None and event.sender_id == self.community.bot_user_id

    async def _chat(self, event: ChatEvent, now: float) -> None:
        created = event.created_at.timestamp()
        self.stats.lag(now=now, lag_ms=max(0.0, (now - created) * 1000))
        seen_at = min(created, now)  # a clock ahead of ours must not stretch the active window
        await activity_record(
            self.redis, community_id=self.community.id, kick_user_id=event.sender_id, ts=seen_at
        )
        await self.redis.incr(key("chatlines", self.community.id))
        self.users.seen(event.sender_id, event.sender_username, event.sender_slug)
        line = ChatLine(
            community_id=self.community.id,
            message_id=event.message_id,
            user_id=event.sender_id,
            username=event.sender_username,
            content=event.content,
            badges=event.badges,
            created_at=event.created_at,
        )
        if not event.content.startswith(self.community.prefix):
            return
        await self.users.flush()  # commands may look the viewer up
        reply = await self.router.handle(
            line, prefix=self.community.prefix, now=datetime.fromtimestamp(now, UTC)
        )
        self.stats.commands += 1
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
