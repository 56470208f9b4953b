"""Celery tasks: thin calls into the services, idempotent per time bucket.

Dependencies point one way: the tasks call ``watchtime.credit`` and ``watchtime.roles``, which never
import this module. What must schedule a task (a stale rank mirror found by a read or a tick) calls
:func:`mirror_rebuild_soon` here.
"""

from __future__ import annotations

import logging
import time
from datetime import UTC, datetime

from celery import shared_task
from django.conf import settings

from kickbot.models import Community
from watchtime import credit, mirror
from watchtime.models import WatchSettings
from watchtime.roles import roles_sync

log = logging.getLogger(__name__)


def tick_bucket(now: float, interval: int) -> tuple[datetime, int]:
    """``(bucket start, minutes to credit)`` for the clock ``now`` (epoch seconds).

    The bucket is ``floor(now / interval)``, so every replica of beat or worker computes the
    same one. Minutes are the whole minutes the interval completes (an interval that is not a
    multiple of 60 s credits 0 or 1 minutes by turns, never a fraction).
    """
    start = int(now // interval) * interval
    minutes = (start + interval) // 60 - start // 60
    return datetime.fromtimestamp(start, UTC), minutes


@shared_task(ignore_result=True)
def watchtime_tick(bucket_ts: float | None = None) -> int:
    """Credit one bucket in every community; returns how many were credited.

    Beat calls it bare: it stamps the current bucket and queues itself with it. A worker killed
    mid-credit gets the message back (acks_late, the broker's visibility timeout) with the same
    bucket — not whatever the clock says by then, which would be a bucket already credited and the
    killed one lost — and the credit's per-bucket snapshot gives it the same viewers.
    """
    interval = settings.WATCH_INTERVAL_SECONDS
    if bucket_ts is None:
        bucket, minutes = tick_bucket(time.time(), interval)
        if minutes > 0:
            watchtime_tick.delay(bucket.timestamp())
        return 0
    bucket, minutes = tick_bucket(bucket_ts, interval)
    if minutes <= 0:
        return 0
    credited = 0
    ids = Community.objects.exclude(watch_settings__tracking_enabled=False).values_list("pk", flat=True)
    for community_id in ids:
        try:
            result = credit.watchtime_credit(community_id=community_id, bucket=bucket, minutes=minutes)
            # After commit, outside the transaction: the rank mirror is a cache of the tables, and
            # a stale one (or a failed write) is rebuilt from them.
            fresh = credit.watchtime_mirror_update(community_id=community_id, result=result)
            if result.credited and not fresh:
                mirror_rebuild_soon(community_id=community_id)
            credited += result.credited
        except Exception:  # one community's failure must not stop the others
            log.exception("watchtime credit failed for community %s", community_id)
    return credited


@shared_task(ignore_result=True)
def watchtime_roles_sync() -> int:
    """Role sync for every community bound to a guild; returns the number of changes enqueued."""
    changes = 0
    for community_id in Community.objects.filter(discord_guild_id__isnull=False).values_list("pk", flat=True):
        try:
            changes += len(roles_sync(community_id=community_id))
        except Exception:
            log.exception("role sync failed for community %s", community_id)
    return changes


@shared_task(ignore_result=True)
def watchtime_mirror_rebuild(community_id: int) -> int:
    return credit.watchtime_mirror_rebuild(community_id=community_id)


def mirror_rebuild_soon(*, community_id: int) -> None:
    """Schedule one rank mirror rebuild (at most one queued per community per two minutes)."""
    try:
        if mirror.mirror_rebuild_claim(community_id=community_id):
            watchtime_mirror_rebuild.delay(community_id)
    except Exception:  # Redis or the broker down: the daily rebuild catches up
        log.warning("could not schedule a watchtime mirror rebuild for community %s", community_id)


@shared_task(ignore_result=True)
def watchtime_mirror_rebuild_all() -> None:
    """Daily: rebuild every community's rank mirror from the tables (repairs any drift)."""
    for community_id in Community.objects.values_list("pk", flat=True):
        credit.watchtime_mirror_rebuild(community_id=community_id)


@shared_task(ignore_result=True)
def watchtime_months_close_all() -> int:
    """Hourly: fold ended months into all-time totals (a no-op until a month ends); returns folds."""
    folded = 0
    for community_id in Community.objects.values_list("pk", flat=True):
        try:
            before = (
                WatchSettings.objects.filter(community_id=community_id)
                .values_list("closed_through", flat=True)
                .first()
            )
            folded += credit.watchtime_months_close(community_id=community_id) != before
        except Exception:
            log.exception("closing watchtime months failed for community %s", community_id)
    return folded
