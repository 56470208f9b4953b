"""``!sr`` / ``!call`` in Kick chat: check → ``slot_request_create`` → the reply text.

The router's own Redis cooldown is off for this command (``user_cooldown_s=0``): the cooldown
is the community's setting, kept by the service between the requests' own times and started only
by an accepted request (docs/lessons.md #21). Refusals raise ``KickbotError``; the router replies with their
message. A redelivered message (the bot died between storing the request and queueing its reply)
gets its reply again: the reply is keyed by the message, so it is queued at most once.
"""

from __future__ import annotations

from kickbot.bridge import run_sync
from kickbot.commands import Invocation, command
from slots.services import slot_request_create


@command(
    "sr",
    aliases=("call",),
    user_cooldown_s=0,
    platforms=("kick",),
    help="request a slot: !sr <slot name>",
)
async def slot_request(inv: Invocation) -> str | None:
    if not inv.message_id:
        return None  # without a message id a request could not be stored once: ignore it
    result = await run_sync(slot_request_create, idempotent=True)(  # unique on the Kick message id
        community_id=inv.community_id,
        kick_user_id=inv.user_id,
        username=inv.username,
        text=inv.raw_args,
        message_id=inv.message_id,
        prefix=inv.prefix,
        at=inv.created_at,
    )
    if result.slot is not None:
        return f"@{inv.username} added {result.slot.name} to the queue (#{result.position})."
    return f"@{inv.username} added your request to the queue (#{result.position}); it isn't in our slot list."
