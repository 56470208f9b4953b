"""Kick events the raffle listens to: gifted subs earn the gifter tickets."""

from __future__ import annotations

from botworker.bridge import run_sync
from botworker.kick.events import GiftEvent
from botworker.kick.handlers import EventContext, on_event
from raffle.services import tickets_award_gift


@on_event(GiftEvent)
async def award_gifted_subs(ctx: EventContext, event: GiftEvent) -> None:
    """Idempotent on ``event.event_key``: the Redis dedupe is a filter, the ledger key the guarantee."""
    await run_sync(tickets_award_gift, idempotent=True)(
        community_id=ctx.community_id,
        gifter_id=event.gifter_id,
        gifter_username=None if event.is_anonymous else event.gifter_username,
        quantity=event.quantity,
        event_key=event.event_key,
    )
