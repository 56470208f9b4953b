"""Reads for gift purchases."""

from __future__ import annotations

from datetime import datetime

from django.db.models import Count

from accounts.models import KickUser
from gifts.models import GiftPurchase


def gift_purchases_unattributed(*, since: datetime) -> dict[int, int]:
    """Community id → purchases given up for want of a gifter id since ``since`` (ingestion errors)."""
    rows = (
        GiftPurchase.objects.filter(status=GiftPurchase.Status.UNATTRIBUTED, settled_at__gte=since)
        .values("community_id")
        .annotate(n=Count("id"))
        .values_list("community_id", "n")
    )
    return dict(rows)


def gifters_without_name(*, limit: int = 100) -> dict[int, list[int]]:
    """Community id → gifter ids of attributed purchases whose Kick user is not stored (webhook gifts
    without a name): the retry job asks the Kick API for their names."""
    known = KickUser.objects.values("user_id")
    rows = (
        GiftPurchase.objects.filter(gifter_id__isnull=False)
        .exclude(gifter_id__in=known)
        .values_list("community_id", "gifter_id")
        .distinct()[:limit]
    )
    out: dict[int, list[int]] = {}
    for cid, uid in rows:
        if uid is not None:
            out.setdefault(cid, []).append(uid)
    return out
