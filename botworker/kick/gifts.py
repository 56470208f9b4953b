"""Gift coalescing: one gift purchase is one :class:`GiftEvent`, however many frames Kick sends.

A gift of N subs arrives on Pusher as up to five frames on different channels with no shared
id (``GiftedSubscriptionsEvent``, ``LuckyUsersWhoGotGiftSubscriptionsEvent``,
``ChatMessageSentEvent`` action gift, ``ChannelSubscriptionEvent``, ``GiftsLeaderboardUpdated``);
the parsers turn the useful ones into :class:`GiftEvidence`. The rule:

1. **Same purchase** = same gifter (lowercased; anonymous is its own gifter) and giftee sets
   that overlap, or one side's giftees unknown. Kick gives subs only to viewers who are not
   subscribed, so two real purchases by one gifter never share a giftee within minutes; a
   second purchase by the same gifter to other viewers is a separate event.
2. **Authority.** ``GiftedSubscriptionsEvent`` is the authoritative Pusher frame: when it
   arrives the purchase is emitted at once, merged with any evidence already held (the
   gifter id from ``ChatMessageSentEvent``/leaderboard, the union of giftees). Other
   giftee-bearing frames open or join a *pending* purchase that is emitted from
   :meth:`GiftCoalescer.flush` ``window_s`` after its first frame if the authoritative frame
   never came. A webhook ``channel.subscription.gifts`` :class:`GiftEvent` (it carries user
   ids) beats them all: fed here, it is emitted at once and absorbs pending Pusher evidence.
   With ``prefer_webhook=True`` even the authoritative Pusher frame waits ``window_s`` for
   the webhook, and Pusher is only the fallback.
3. **Quantity** = number of distinct giftees, or the frame's ``subscriptions_count`` when no
   frame named the giftees. Leaderboard frames never open a purchase (``gifted_quantity`` is
   not reliably this purchase): they only lend the gifter id to a pending one.
4. **Late frames.** Every emitted purchase is remembered for ``memory_s`` (10 minutes, at
   most ``max_memory`` entries). A giftee-bearing frame that overlaps a remembered purchase
   of the same gifter is dropped, however late; a frame without giftees is dropped if the
   gifter had a purchase emitted within ``2 * window_s``. **Except** when it carries the
   gifter's id and the purchase went out without one (the authoritative frame has no id, and a
   first-time gifter is not known by name yet): then the purchase is emitted once more, with the
   id, so that ``gifts.services.gift_purchase_record`` can complete it. That service is the
   guarantee (one award per purchase, by database constraint); this class only keeps the
   number of reports down.

The coalescer is in-memory and per process: the pipeline must also pass every emitted
``GiftEvent``'s ``dedupe_keys()`` through :class:`botworker.kick.dedupe.Dedupe`, which
catches the same purchase reported by the webhook process (same semantic key). Call
:meth:`flush` about once a second so fallback purchases are not held longer than needed.
"""

from __future__ import annotations

import logging
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import datetime

from kickbot.integrations.kick.events import GiftEvent, GiftEvidence, gifter_key

log = logging.getLogger(__name__)

AUTHORITATIVE_ORIGIN = "gifted_subscriptions"


@dataclass
class _Pending:
    gifter: str
    gifter_username: str | None
    gifter_id: int | None
    giftees: set[str]
    quantity: int | None
    created_at: datetime
    deadline: float
    frame_id: str | None = None
    origins: set[str] = field(default_factory=set)

    def add(self, ev: GiftEvidence) -> None:
        self.giftees.update(ev.giftee_usernames)
        self.gifter_id = self.gifter_id if self.gifter_id is not None else ev.gifter_id
        if ev.gifter_username and not self.gifter_username:
            self.gifter_username = ev.gifter_username
        if ev.quantity is not None and ev.origin != "leaderboard":
            self.quantity = max(self.quantity or 0, ev.quantity)
        self.frame_id = self.frame_id or ev.frame_id
        # Frames without a time of their own carry the receive time: the earliest is the purchase's.
        self.created_at = min(self.created_at, ev.created_at)
        self.origins.add(ev.origin)


@dataclass
class _Emitted:
    at: float
    gifter: str
    giftees: frozenset[str]
    gift: GiftEvent  # what went out, with the gifter id once a report gave it


def _same_purchase(
    gifter_a: str, giftees_a: set[str] | frozenset[str], gifter_b: str, giftees_b: tuple[str, ...]
) -> bool:
    if gifter_a != gifter_b:
        return False
    return not giftees_a or not giftees_b or not giftees_a.isdisjoint(giftees_b)


class GiftCoalescer:
    """Turns gift evidence (and webhook gifts) into exactly one ``GiftEvent`` per purchase."""

    def __init__(
        self,
        window_s: float = 10.0,
        clock: Callable[[], float] = time.monotonic,
        *,
        memory_s: float = 600.0,
        max_memory: int = 10_000,
        prefer_webhook: bool = False,
    ) -> None:
        self.window_s = window_s
        self.memory_s = memory_s
        self.prefer_webhook = prefer_webhook
        self._clock = clock
        self._pending: list[_Pending] = []
        self._emitted: deque[_Emitted] = deque(maxlen=max_memory)

    @property
    def pending_count(self) -> int:
        return len(self._pending)

    def next_deadline(self) -> float | None:
        """Clock time at which :meth:`flush` will next have something to emit."""
        return min((p.deadline for p in self._pending), default=None)

    def feed(self, item: GiftEvidence | GiftEvent) -> list[GiftEvent]:
        """Account for one frame; returns the purchases that are now final (often none)."""
        now = self._clock()
        out = self.flush()
        if isinstance(item, GiftEvent):
            return out + self._feed_event(item, now)
        return out + self._feed_evidence(item, now)

    def flush(self, *, everything: bool = False) -> list[GiftEvent]:
        """Emit pending purchases whose window has passed (the fallback path); ``everything``: all of
        them (the end of a replay: no more frames will come)."""
        now = self._clock()
        self._forget(now)
        due = [p for p in self._pending if everything or p.deadline <= now]
        out: list[GiftEvent] = []
        for pending in due:
            self._pending.remove(pending)
            if not pending.giftees:
                match = self._emitted_match(pending.gifter, (), now)
                if match is not None:  # a count-only frame for a purchase already emitted
                    out.extend(self._attributed(match, pending.gifter_id))
                    continue
            out.append(self._emit(pending, now))
        return out

    # ------------------------------------------------------------------ internals

    def _feed_event(self, gift: GiftEvent, now: float) -> list[GiftEvent]:
        gifter = gifter_key(gift.gifter_username)
        match = self._emitted_match(gifter, gift.giftee_usernames, now)
        if match is not None:
            if gift.gifter_id is not None and match.gift.gifter_id is None:
                match.gift = replace(match.gift, gifter_id=gift.gifter_id)
                return [gift]  # the webhook names the gifter the Pusher frames could not
            log.debug("gift by %s already counted from another frame", gifter)
            return []
        self._pending = [
            p for p in self._pending if not _same_purchase(p.gifter, p.giftees, gifter, gift.giftee_usernames)
        ]
        self._remember(gifter, gift.giftee_usernames, now, gift)
        return [gift]

    def _feed_evidence(self, ev: GiftEvidence, now: float) -> list[GiftEvent]:
        gifter = ev.gifter
        match = self._emitted_match(gifter, ev.giftee_usernames, now)
        if match is not None:
            return self._attributed(match, ev.gifter_id)
        pending = next(
            (p for p in self._pending if _same_purchase(p.gifter, p.giftees, gifter, ev.giftee_usernames)),
            None,
        )
        if pending is None:
            if ev.origin == "leaderboard":
                return []  # evidence only, never a purchase on its own
            pending = _Pending(
                gifter=gifter,
                gifter_username=ev.gifter_username,
                gifter_id=ev.gifter_id,
                giftees=set(),
                quantity=None,
                created_at=ev.created_at,
                deadline=now + self.window_s,
            )
            self._pending.append(pending)
        pending.add(ev)
        if ev.origin == AUTHORITATIVE_ORIGIN and not self.prefer_webhook:
            self._pending.remove(pending)
            return [self._emit(pending, now)]
        return []

    def _emit(self, pending: _Pending, now: float) -> GiftEvent:
        giftees = tuple(sorted(pending.giftees))
        gift = GiftEvent(
            gifter_id=pending.gifter_id,
            gifter_username=pending.gifter_username or None,
            giftee_usernames=giftees,
            giftee_ids=(),
            quantity=len(giftees) if giftees else max(pending.quantity or 1, 1),
            created_at=pending.created_at,
            source="pusher",
            event_key="",
        )
        key = gift.semantic_key() if giftees else f"frame:{pending.frame_id or id(pending)}"
        gift = replace(gift, event_key=key)
        self._remember(pending.gifter, giftees, now, gift)
        return gift

    def _attributed(self, match: _Emitted, gifter_id: int | None) -> list[GiftEvent]:
        """A late frame of an emitted purchase: the purchase again, with the gifter id it lacked."""
        if gifter_id is None or match.gift.gifter_id is not None:
            return []
        match.gift = replace(match.gift, gifter_id=gifter_id)
        return [match.gift]

    def retract(self, gift: GiftEvent) -> None:
        """Forget an emitted purchase whose handling failed, so that its redelivery is emitted again."""
        gifter, giftees = gifter_key(gift.gifter_username), frozenset(gift.giftee_usernames)
        kept = [e for e in self._emitted if not (e.gifter == gifter and e.giftees == giftees)]
        self._emitted = deque(kept, maxlen=self._emitted.maxlen)

    def _remember(self, gifter: str, giftees: tuple[str, ...], now: float, gift: GiftEvent) -> None:
        self._emitted.append(_Emitted(at=now, gifter=gifter, giftees=frozenset(giftees), gift=gift))

    def _emitted_match(self, gifter: str, giftees: tuple[str, ...], now: float) -> _Emitted | None:
        """Overlapping giftees match for ``memory_s``; an unknown side only for ``2 * window_s``."""
        for e in reversed(self._emitted):
            if e.gifter != gifter:
                continue
            if e.giftees and giftees:
                if not e.giftees.isdisjoint(giftees) and now - e.at <= self.memory_s:
                    return e
            elif now - e.at <= 2 * self.window_s:
                return e
        return None

    def _forget(self, now: float) -> None:
        while self._emitted and now - self._emitted[0].at > self.memory_s:
            self._emitted.popleft()
