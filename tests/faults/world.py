"""The database side of the fault scenarios, run inside the bot's own settings via ``manage.py shell``.

``setup``: one community with the fake Kick channel's ids, a stored Kick token (issued by the
fake Kick API of the harness) and an open raffle period. ``report``: what the checks need, as
one JSON line.
"""

from __future__ import annotations

import json
import os
from datetime import timedelta

from django.db.models import Count
from django.utils import timezone

from tests.fakes.kick_chat import BROADCASTER, CHANNEL, CHATROOM

BOT_USER_ID = 5001


def setup() -> None:
    from kickbot import kick
    from kickbot.integrations.kick import TokenSet
    from kickbot.models import Community
    from raffle import services as raffle_services

    community, _ = Community.objects.update_or_create(
        kick_channel_slug="streamer",
        defaults={
            "name": "Fault streamer",
            "kick_chatroom_id": CHATROOM,
            "kick_channel_id": CHANNEL,
            "kick_broadcaster_user_id": BROADCASTER,
            "kick_bot_user_id": BOT_USER_ID,
            "is_live": True,
        },
    )
    kick.kick_token_save(
        community=community,
        tokens=TokenSet(
            os.environ["FAULT_ACCESS_TOKEN"],
            os.environ["FAULT_REFRESH_TOKEN"],
            timezone.now() + timedelta(hours=6),
            "user:read channel:read chat:write events:subscribe",
            "Bearer",
        ),
        kick_user_id=BOT_USER_ID,
        kick_username="kickbot_account",
        actor=None,
    )
    now = timezone.now()
    from raffle.models import RafflePeriod

    if not RafflePeriod.objects.filter(community=community).exists():
        raffle_services.period_open(
            community=community,
            starts_at=now - timedelta(days=1),
            ends_at=now + timedelta(days=20),
            actor_label="t",
        )
    print(json.dumps({"community_id": community.pk}))


def report() -> None:
    from accounts.models import KickUser
    from botworker.models import OutboxMessage
    from raffle.models import TicketEntry

    replies = OutboxMessage.objects.filter(kind="kick_chat")
    per_reply_to: dict[str, int] = {}
    for payload in replies.values_list("payload", flat=True):
        rid = str(payload.get("reply_to") or "")
        per_reply_to[rid] = per_reply_to.get(rid, 0) + 1
    gifts = TicketEntry.objects.filter(source="gift")
    doubled_gift_keys = list(
        gifts.values("source_key")
        .annotate(n=Count("id"))
        .filter(n__gt=1)
        .values_list("source_key", flat=True)
    )
    print(
        json.dumps(
            {
                "reply_to": per_reply_to,
                "replies_sent": replies.filter(status="sent").count(),
                "gift_keys": sorted(gifts.values_list("source_key", flat=True)),
                "gift_tickets": sum(gifts.values_list("amount", flat=True)),
                "doubled_gift_keys": doubled_gift_keys,
                "kick_users": KickUser.objects.count(),
            }
        )
    )
