"""The database side of the runbot gift test, run in the bot's own settings through ``manage.py shell``."""

from __future__ import annotations

import json


def report(*gifter_ids: int) -> None:
    """Gift tickets in the ledger per gifter (each award), the gift rate of the open raffle, the names
    stored for the gifters."""
    from accounts.models import KickUser
    from raffle.models import RafflePeriod, TicketEntry

    tickets: dict[str, list[int]] = {str(uid): [] for uid in gifter_ids}
    for uid, amount in (
        TicketEntry.objects.filter(source="gift").order_by("id").values_list("kick_user_id", "amount")
    ):
        tickets.setdefault(str(uid), []).append(amount)
    period = RafflePeriod.objects.get(status="open")
    names = dict(KickUser.objects.filter(user_id__in=gifter_ids).values_list("user_id", "username"))
    print(
        json.dumps(
            {
                "tickets": tickets,
                "rate": int(period.rules["tickets_per_gifted_sub"]),
                "names": {str(k): v for k, v in names.items()},
            }
        )
    )
