"""One community's Kick ingestion: events in (Pusher frames, webhook bodies) → dedupe → effects.

Per chat line, in order: skip the bot's own lines → dedupe (Redis, across sources and
processes) → ingestion lag → activity (watchtime) and chat-line count → remember the user →
command router → reply into the outbox → feature handlers. Gifts, subs, live changes and bans
go to the feature handlers after the same dedupe. The Redis dedupe is a filter; every service
that awards something is idempotent on the event key in the database as well.

Redis unreachable: a batch stops where it is and waits (backoff, in memory), then goes on from there
once Redis answers and the ingestion lease is confirmed ours again, so nothing is skipped or handled
twice. Frames keep queueing meanwhile (bounded: when the queue is full they are dropped and counted);
``RedisWatch`` records the outage and ``publish_stats`` publishes it once Redis is back.
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
from typing import Any, Protocol

from accounts.services import kick_users_seen
from botworker.aio import wait_any
from botworker.commands.router import ChatLine, CommandRouter, Reply
from botworker.kick.dedupe import Dedupe, claim_token
from botworker.kick.emotes import strip_emotes
from botworker.kick.gifts import GiftCoalescer
from botworker.kick.outage import REDIS_DOWN, Backoff, IngestionHalted, RedisWatch
from gifts.services import ATTRIBUTION_WINDOW, gift_purchases_settle
from kickbot.bridge import run_sync
from kickbot.event_handlers import EventContext, EventHandlers
from kickbot.integrations.kick.events import ChatEvent, Event, GiftEvent, GiftEvidence, LiveEvent
from kickbot.integrations.kick.parsers import ParseError, PusherFrame, pusher_to_events, webhook_to_events
from kickbot.redis_client import key
from kickbot.services import community_live_set
from watchtime.activity import activity_record_many

log = logging.getLogger(__name__)

LAG_WINDOW_S = 300
# An event's dedupe keys are first a short claim, confirmed for the full window once handled: a
# process killed between the two (kill -9, OOM) must not hide the event from its redelivery
# (a webhook stream entry is reclaimed after 30 s idle) for the whole dedupe window.
CLAIM_TTL_S = 25
# How often parked gift purchases (gifter id not known yet) are looked at again while there are any.
GIFT_SETTLE_EVERY_S = 5.0


class DeliveryFailed(Exception):
    """Some events of a delivery failed; its source should deliver it again (stream: no XACK)."""


class LeaseHolder(Protocol):
    """What the pipeline needs of the ingestion lease (``IngestionLease``)."""

    in_doubt: bool

    async def confirm(self) -> bool: ...


@dataclass
class _Batch:
    """Events being handled and how far they got: a Redis outage pauses a batch, never restarts it."""

    events: list[Event]
    token: str = field(default_factory=claim_token)
    fresh: list[Event] | None = None  # the events this batch claimed (None: not claimed yet)
    chat_done: bool = False  # activity and line count written for the fresh chat lines
    done: int = 0  # fresh[:done] have had their effects
    failed: list[Event] = field(default_factory=list)
    waited: bool = False  # an attempt found Redis unreachable
    reclaim: bool = False  # claims to take again (same token) before going on
    names: dict[int, list[str]] = field(default_factory=dict)  # id(event) → its dedupe key names

    def rest(self) -> list[Event]:
        return self.events if self.fresh is None else self.fresh[self.done :]


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
        # An upsert: safe to run again when the database ended the connection mid-call.
        await run_sync(kick_users_seen, idempotent=True)(
            users=[(uid, name, slug) for uid, (name, slug) in batch.items()]
        )
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
        watch: RedisWatch | None = None,
        lease: LeaseHolder | None = None,
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
        self.watch = watch or RedisWatch()
        self.lease = lease  # None: nothing to confirm (replays, tests)
        # Set when the work waiting for Redis should be given up (the component's per-lease stop).
        self.halt = asyncio.Event()
        self._waiting = 0  # batches waiting for Redis right now
        self._backlog_uncounted = False  # frames queued behind a waiting batch, counted at recovery
        # A gift went to the database without its gifter's id (at start: one an earlier run parked?).
        self._gifts_parked = True
        self._gifts_settle_at = 0.0

    def reconfigure(self, community: CommunityConfig) -> None:
        """New prefix or bot account from the dashboard, applied between two batches."""
        self.community = community
        self.ctx = EventContext(community_id=community.id, prefix=community.prefix)

    # --- sources -------------------------------------------------------------------------
    async def on_frame(self, frame: PusherFrame) -> None:
        """A Pusher frame (already JSON-decoded by the listener): queued for the batch worker.

        A full queue holds the listener back (a flood: the batch worker catches up), except while
        Redis is unreachable: then nothing drains it for a while, so a frame that does not fit is
        dropped and counted rather than stalling the socket (its pings) for the whole outage.
        """
        if self._waiting or self.watch.down:
            try:
                self.queue.put_nowait(frame)
            except asyncio.QueueFull:
                self.watch.count(self.community.id, dropped=1)
            return
        await self.queue.put(frame)

    def drop_queued(self) -> int:
        """Forget the frames waiting in the queue (counted as dropped): another process took the lease
        while Redis was unreachable, so they are no longer ours to handle."""
        dropped = 0
        while not self.queue.empty():
            self.queue.get_nowait()
            dropped += 1
        self.watch.count(self.community.id, dropped=dropped)
        return dropped

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
            except IngestionHalted:
                break
            except Exception:
                self.stats.errors += 1
                log.exception("a batch of %s frames failed", len(batch))

    async def on_webhook(self, event_type: str, message_id: str, body: bytes, version: str = "1") -> None:
        """A webhook delivery whose signature the web process has verified."""
        try:
            parsed = webhook_to_events(event_type, message_id, body, version=version)
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

    def frame_rejected(self) -> None:
        """The listener refused a frame itself (junk, or its handler failed): an ingestion error."""
        self.stats.errors += 1

    async def tick(self) -> None:
        """About once a second: gifts whose window passed, new users to the database, parked gifts."""
        await self.dispatch_many(self.coalescer.flush())
        await self.users.flush()
        if self._gifts_parked and self.clock() >= self._gifts_settle_at:
            await self.settle_gifts(expire_before=datetime.now(UTC) - ATTRIBUTION_WINDOW)

    async def settle_gifts(self, *, expire_before: datetime) -> int:
        """Complete parked gift purchases whose gifter is known by now (a chat line stored the name);
        those parked since before ``expire_before`` count as errors. Returns the purchases still parked."""
        self._gifts_settle_at = self.clock() + GIFT_SETTLE_EVERY_S
        report = await run_sync(gift_purchases_settle, idempotent=True)(
            community_id=self.community.id, expire_before=expire_before
        )
        self.stats.errors += report.unattributed[self.community.id]
        self._gifts_parked = report.pending > 0
        return report.pending

    # --- dispatch ------------------------------------------------------------------------
    async def dispatch(self, event: Event) -> None:
        await self.dispatch_many([event])

    async def _fresh(
        self, events: list[Event], *, token: str | None = None, names: dict[int, list[str]] | None = None
    ) -> list[Event]:
        """Drop events seen or claimed before (this batch included): one script call claims every key NX
        for ``CLAIM_TTL_S``; :meth:`_settle` confirms or releases the claims. ``names`` collects the
        key names of the fresh events (computed once: a chat line's semantic key hashes its text)."""
        named = [self.dedupe.names(e.dedupe_keys()) for e in events]
        claimed = await self.dedupe.claim_names(named, ttl_s=CLAIM_TTL_S, token=token)
        self.stats.duplicates += claimed.count(False)
        fresh = []
        for event, event_names, new in zip(events, named, claimed, strict=True):
            if new:
                fresh.append(event)
                if names is not None:
                    names[id(event)] = event_names
        return fresh

    def _names(self, event: Event, known: dict[int, list[str]] | None) -> list[str]:
        found = known.get(id(event)) if known is not None else None
        return found if found is not None else self.dedupe.names(event.dedupe_keys())

    async def _settle(
        self,
        handled: list[Event],
        failed: list[Event],
        *,
        token: str,
        names: dict[int, list[str]] | None = None,
    ) -> None:
        """Handled events keep their keys for the dedupe window; failed ones free those of their keys
        that still hold this batch's claim ``token`` (for a retry), never another process's."""
        await self.dedupe.keep([n for e in handled for n in self._names(e, names)], ttl_s=self.dedupe_ttl_s)
        for event in failed:
            if isinstance(event, GiftEvent):
                self.coalescer.retract(event)
        await self.dedupe.release([n for e in failed for n in self._names(e, names)], token=token)

    async def dispatch_many(self, events: Sequence[Event]) -> list[Event]:
        """Handle fresh events; returns those whose handling failed (their dedupe keys released).

        While Redis is unreachable this waits (backoff) and then resumes the batch where it stopped.
        Raises :class:`IngestionHalted` when ``halt`` is set meanwhile or the lease turns out to be
        someone else's: the events not handled yet are counted as dropped.
        """
        events = [e for e in events if not (isinstance(e, ChatEvent) and self._is_own(e))]
        if not events:
            return []
        batch = _Batch(events=events)
        backoff: Backoff | None = None
        try:
            while True:
                started = self.watch.clock()
                try:
                    await self._confirm_lease(batch, started)
                    await self._advance(batch)
                    break
                except REDIS_DOWN as exc:
                    self.watch.failed(exc, since=started)
                    batch.reclaim = batch.fresh is not None
                    if not batch.waited:
                        batch.waited, self._backlog_uncounted = True, True
                        self._waiting += 1
                        self.watch.count(self.community.id, delayed=len(batch.events))
                    backoff = backoff or Backoff()
                    if await wait_any(self.halt, seconds=backoff.next()):
                        raise IngestionHalted("stopped while waiting for Redis") from None
        except IngestionHalted:
            await self._abandon(batch)
            raise
        finally:
            if batch.waited:
                self._waiting -= 1
        if batch.waited:
            self.watch.ok(since=started)
            if self._backlog_uncounted:  # what queued up behind us during the outage
                self._backlog_uncounted = False
                self.watch.count(self.community.id, delayed=self.queue.qsize())
        return batch.failed

    async def _confirm_lease(self, batch: _Batch, started: float) -> None:
        """After a Redis outage, handle nothing before Redis says the lease is ours (it may have
        restarted empty: we take it again; or another process may have taken it meanwhile)."""
        if self.lease is None or not (batch.waited or self.lease.in_doubt):
            return
        ours = await self.lease.confirm()
        self.watch.ok(since=started)  # Redis answered, whatever it said
        if not ours:
            raise IngestionHalted("another process holds the ingestion lease")

    async def _advance(self, batch: _Batch) -> None:
        """Claim → activity → effects → settle, each step once, from wherever the batch stopped."""
        if batch.fresh is None:
            batch.fresh = await self._fresh(batch.events, token=batch.token, names=batch.names)
            self.stats.events += len(batch.fresh)
            if batch.fresh:
                self.stats.last_event_at = self.clock()
        elif batch.reclaim:
            # Our claims may have expired or been wiped while Redis was away: take them again (the same
            # token finds its own), and leave what another source or process claimed meanwhile to it.
            rest = batch.fresh[batch.done :]
            kept = await self._fresh(rest, token=batch.token, names=batch.names)
            self.stats.events -= len(rest) - len(kept)
            batch.fresh = batch.fresh[: batch.done] + kept
            batch.reclaim = False
        fresh = batch.fresh
        now = self.clock()
        if not batch.chat_done:
            chats = [e for e in fresh if isinstance(e, ChatEvent)]
            if chats:
                await self._chat_batch(chats, now)
            batch.chat_done = True
        while batch.done < len(fresh):
            event = fresh[batch.done]
            try:
                if isinstance(event, ChatEvent):
                    if event.content.startswith(self.community.prefix):
                        await self._command(event, now)
                elif isinstance(event, LiveEvent):
                    await run_sync(community_live_set, idempotent=True)(  # a repeat changes nothing
                        community_id=self.community.id, is_live=event.is_live, at=event.created_at
                    )
                elif isinstance(event, GiftEvent):
                    await self.users.flush()  # a gifter's chat line a moment ago names them
                    self._gifts_parked |= event.gifter_id is None and not event.is_anonymous
                if self.handlers.for_event(event) and await self.handlers.dispatch(self.ctx, event):
                    self.stats.errors += 1
                    batch.failed.append(event)
            except REDIS_DOWN:
                raise  # this event again once Redis is back
            except Exception:
                self.stats.errors += 1
                batch.failed.append(event)
                log.exception("handling %s failed", type(event).__name__)
            batch.done += 1
        failed_ids = {id(e) for e in batch.failed}
        await self._settle(
            [e for e in fresh if id(e) not in failed_ids], batch.failed, token=batch.token, names=batch.names
        )

    async def _abandon(self, batch: _Batch) -> None:
        """Give up a batch: what was not handled is dropped (counted); its claims freed if Redis lets us."""
        rest = batch.rest()
        self.watch.count(self.community.id, dropped=len(rest))
        for event in rest:
            if isinstance(event, GiftEvent):
                self.coalescer.retract(event)
        if batch.fresh is None or self.watch.down:  # no Redis: the claims expire by themselves
            return
        done = batch.fresh[: batch.done]
        failed_ids = {id(e) for e in batch.failed}
        try:
            await self._settle(
                [e for e in done if id(e) not in failed_ids],
                batch.failed + rest,
                token=batch.token,
                names=batch.names,
            )
        except Exception as exc:  # best effort: unreleased claims expire after CLAIM_TTL_S
            log.info("could not settle an abandoned batch: %s", type(exc).__name__)

    def _is_own(self, event: ChatEvent) -> bool:
        return self.community.bot_user_id is not None and event.sender_id == self.community.bot_user_id

    async def _chat_batch(self, chats: list[ChatEvent], now: float) -> None:
        """Lag, activity and the chat-line count for a batch of fresh chat lines.

        Redis first: when it fails, a retry writes the same activity again (ZADD GT: harmless) and
        counts nothing twice.
        """
        seen: dict[int, float] = {}
        for event in chats:
            # a sender clock ahead of ours must not stretch the active window
            created = event.created_at.timestamp()
            seen[event.sender_id] = max(seen.get(event.sender_id, 0.0), min(created, now))
        await activity_record_many(self.redis, community_id=self.community.id, seen=seen)
        await self.redis.incrby(key("chatlines", self.community.id), len(chats))
        for event in chats:
            self.stats.lag(now=now, lag_ms=max(0.0, (now - event.created_at.timestamp()) * 1000))
            self.users.seen(event.sender_id, event.sender_username, event.sender_slug)

    async def _command(self, event: ChatEvent, now: float) -> None:
        await self.users.flush()  # commands may look the viewer up
        line = ChatLine(
            community_id=self.community.id,
            message_id=event.message_id,
            user_id=event.sender_id,
            username=event.sender_username,
            content=strip_emotes(event.content, event.emote_spans),  # the stored line keeps them
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

    async def publish_stats(self, *, connected: bool | None = None) -> bool:
        """Write the numbers the health checks read (hash ``kb:ingest:<community id>``), with the last
        Redis outage (``kb:redis:last_outage``); False while Redis is unreachable (nothing raised)."""
        now = self.clock()
        p50, p95 = self.stats.percentiles(now=now)
        fields: dict[str, str] = {
            "updated_at": f"{now:.3f}",
            "events": str(self.stats.events),
            "duplicates": str(self.stats.duplicates),
            "errors": str(self.stats.errors),
            "cooldown_refusals": str(self.router.cooldown_refusals[self.community.id]),
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
        self.watch.publish_into(pipe, community_id=self.community.id)
        was_down = self.watch.down
        if not await self._execute(pipe):
            return False
        if was_down and not self.watch.down:  # this call ended an outage: tell it now, not next tick
            pipe = self.redis.pipeline(transaction=False)
            self.watch.publish_into(pipe, community_id=self.community.id)
            return await self._execute(pipe)
        return True

    async def _execute(self, pipe: Any) -> bool:
        started = self.watch.clock()
        try:
            await pipe.execute()
        except REDIS_DOWN as exc:
            self.watch.failed(exc, since=started)
            return False
        self.watch.ok(since=started)
        return True


def reply_dedupe_key(community_id: int, message_id: str) -> str:
    """One reply per chat message, whatever replays or restarts happen."""
    return f"kick-reply:{community_id}:{message_id}"
