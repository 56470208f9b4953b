"""Celery tasks: thin calls into the gift services."""

from __future__ import annotations

import logging

from celery import shared_task

from gifts import selectors, services
from kickbot.integrations.kick import KickError
from kickbot.kick import kick_api

log = logging.getLogger(__name__)


@shared_task(ignore_result=True)
def gift_purchases_retry() -> int:
    """Complete parked gift purchases (their gifter chatted or was stored since) and name gifters
    known only by id. Giving a purchase up is left to the ingesting bot, which counts it as an
    ingestion error (its first tick after a start looks at what an earlier run left parked).

    Returns the purchases awarded.
    """
    report = services.gift_purchases_settle()
    for community_id, ids in selectors.gifters_without_name().items():
        try:
            with kick_api(community_id=community_id) as api:
                users = api.get_users(ids)
        except KickError as exc:
            log.info("could not name %s gifters: %s", len(ids), type(exc).__name__)
            continue
        services.gift_gifters_named(users=[(u.user_id, u.name) for u in users])
    return report.awarded
