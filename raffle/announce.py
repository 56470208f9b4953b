"""Raffle announcements through the outbox (call inside the transaction of the change they announce).

Discord: the community's announce channel, if set (content escaped, no pings: the sender uses
``AllowedMentions.none()``). Kick chat: the community's chat. Each message has a dedupe key, so a
retried task never announces twice.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from kickbot.text import discord_safe
from outbox.services import outbox_enqueue
from raffle.models import RafflePeriod, RaffleSettings, RaffleWinner
from raffle.selectors import period_url


def safe(text: str) -> str:
    """Viewer text for Discord: no markdown tricks, no mentions."""
    return discord_safe(text)


def _discord(
    period: RafflePeriod, settings: RaffleSettings, key: str, content: str, embed: dict[str, Any]
) -> None:
    if settings.announce_channel_id:
        outbox_enqueue(
            community=period.community,
            kind="discord_message",
            target=settings.announce_channel_id,
            payload={"content": content, "embeds": [embed]},
            dedupe_key=f"raffle:{period.pk}:{key}:discord",
        )


def _kick(period: RafflePeriod, key: str, text: str) -> None:
    outbox_enqueue(
        community=period.community,
        kind="kick_chat",
        target=str(period.community_id),
        payload={"text": text, "reply_to": None},
        dedupe_key=f"raffle:{period.pk}:{key}:kick",
    )


def period_opened(*, period: RafflePeriod, settings: RaffleSettings) -> None:
    url = period_url(period.pk)
    _discord(
        period,
        settings,
        "open",
        f"Raffle #{period.pk} is open.",
        {
            "title": f"Raffle #{period.pk} is open",
            "url": url,
            "description": (
                f"Runs <t:{int(period.starts_at.timestamp())}:f> "
                f"to <t:{int(period.ends_at.timestamp())}:f>.\n"
                f"Commitment (SHA-256 of the secret seed): `{period.server_seed_hash}`\n"
                f"Randomness: drand quicknet round {period.drand_round}.\n"
                "Anyone can check the draw afterwards on the raffle page."
            ),
        },
    )


def period_frozen(*, period: RafflePeriod, settings: RaffleSettings) -> None:
    _discord(
        period,
        settings,
        "frozen",
        f"Raffle #{period.pk} is closed.",
        {
            "title": f"Raffle #{period.pk} is closed",
            "url": period_url(period.pk),
            "description": (
                f"{period.entrants_count} viewers hold {period.total_tickets} tickets.\n"
                f"Snapshot hash: `{period.snapshot_hash}`\n"
                f"The draw uses drand quicknet round {period.fallback_round or period.drand_round}."
            ),
        },
    )


def winners_drawn(*, period: RafflePeriod, winners: Sequence[RaffleWinner], settings: RaffleSettings) -> None:
    url = period_url(period.pk)
    if not winners:
        _kick(period, "nowinner", f"Raffle #{period.pk} ended with no tickets, so no winner. {url}")
        return
    names = [w.username or f"Kick user {w.kick_user_id}" for w in winners]
    key = "winners" if winners[0].k == 0 else f"reroll{winners[0].k}"
    lines = [
        f"k={w.k}: **{safe(n)}** (ticket {w.ticket} of {w.total})"
        for w, n in zip(winners, names, strict=True)
    ]
    _discord(
        period,
        settings,
        key,
        f"Raffle #{period.pk} winner{'s' if len(winners) > 1 else ''}!",
        {
            "title": f"Raffle #{period.pk}: {'reroll' if winners[0].k else 'winners'}",
            "url": url,
            "description": "\n".join(lines) + f"\nCheck the draw yourself: {url}",
        },
    )
    _kick(period, key, f"Raffle #{period.pk} winner: {', '.join(names)}! Proof: {url}")
