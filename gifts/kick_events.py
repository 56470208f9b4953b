"""Kick events the gift purchases listen to: every report of a gift purchase is recorded."""

from __future__ import annotations

from gifts.services import gift_purchase_record
from kickbot.bridge import run_sync
from kickbot.event_handlers import EventContext, on_event
from kickbot.integrations.kick.events import GiftEvent


@on_event(GiftEvent)
async def record_gift_purchase(ctx: EventContext, event: GiftEvent) -> None:
    """Idempotent: a report joins its purchase, which awards once (keyed by the purchase row)."""
    await run_sync(gift_purchase_record, idempotent=True)(
        community_id=ctx.community_id,
        gifter_username=event.gifter_username or None,
        gifter_id=event.gifter_id,
        gifter_slug=event.gifter_slug,
        giftee_usernames=event.giftee_usernames,
        quantity=event.quantity,
        purchased_at=event.created_at,
        source=event.source,
        ref=event.event_key,
    )
