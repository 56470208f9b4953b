"""Beat jobs of the dashboard: the ticket rollup behind the overview's ticket chart."""

from __future__ import annotations

import logging

from celery import shared_task

from dashboard.services import ticket_days_refresh
from kickbot.models import Community

log = logging.getLogger(__name__)


@shared_task(ignore_result=True)
def dashboard_ticket_days_refresh() -> int:
    """Add new ledger entries to ``TicketDay`` for every community (idempotent per entry id)."""
    added = 0
    for community_id in Community.objects.values_list("id", flat=True):
        added += ticket_days_refresh(community_id=community_id)
    if added:
        log.info("ticket rollup: %s ledger entries summed", added)
    return added
