"""The database side of the Kick reply scenarios (``test_kick_replies.py``), run inside the bot's own
settings via ``manage.py shell``; each function prints one JSON line."""

from __future__ import annotations

import json
from datetime import timedelta

from django.utils import timezone


def _community_id() -> int:
    from kickbot.models import Community

    return int(Community.objects.values_list("pk", flat=True).get(kick_channel_slug="streamer"))


def gtb_open() -> None:
    """An open Guess the Balance round that opened a minute ago (before any guess of the scenario)."""
    from gtb.models import GtbSession
    from gtb.services import gtb_session_start

    view = gtb_session_start(community_id=_community_id(), title="Hunt", prize_cents=0, actor_label="faults")
    GtbSession.objects.filter(pk=view.id).update(opened_at=timezone.now() - timedelta(minutes=1))
    print(json.dumps({"session": view.id}))


def gtb_report() -> None:
    from gtb.models import GtbGuess

    guesses = GtbGuess.objects.filter(session__community_id=_community_id())
    print(
        json.dumps(
            {
                str(g.kick_user_id): {"amount_cents": g.amount_cents, "message_id": g.message_id}
                for g in guesses
            }
        )
    )


def replies_report() -> None:
    """Kick chat rows by the message they answer: status, attempts, last error, deadline."""
    from outbox.models import OutboxMessage

    rows = OutboxMessage.objects.filter(kind="kick_chat", community_id=_community_id())
    print(
        json.dumps(
            {
                str(r.payload.get("reply_to") or f"row-{r.pk}"): {
                    "status": r.status,
                    "attempts": r.attempts,
                    "last_error": r.last_error[:80],
                    "text": str(r.payload.get("text", ""))[:120],
                    "expires_at": r.expires_at.timestamp() if r.expires_at else None,
                }
                for r in rows
            }
        )
    )
