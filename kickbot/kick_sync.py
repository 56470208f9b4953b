"""Periodic Kick upkeep run by Celery: webhook subscriptions and the live-status backstop."""

from __future__ import annotations

import json
import logging
import time
from dataclasses import dataclass, field
from datetime import timedelta

from django.utils import timezone

from kickbot.integrations.kick import KickError
from kickbot.integrations.kick.parsers import webhook_event_types
from kickbot.kick import kick_api
from kickbot.models import Community
from kickbot.redis_client import get_redis, key
from kickbot.services import community_live_set

log = logging.getLogger(__name__)

EVENT_VERSION = 1
# The poll may lag Kick's own events: it may end a stream only this long after the last change.
OFFLINE_GRACE = timedelta(minutes=3)


@dataclass
class SubscriptionsReport:
    community_id: int
    active: list[str] = field(default_factory=list)
    created: list[str] = field(default_factory=list)
    deleted: int = 0
    failed: list[str] = field(default_factory=list)
    error: str = ""


def _connected() -> list[Community]:
    return list(
        Community.objects.filter(kick_broadcaster_user_id__isnull=False, kick_token__isnull=False).order_by(
            "id"
        )
    )


def subscriptions_reconcile(*, community: Community) -> SubscriptionsReport:
    """Make Kick's webhook subscriptions for the channel exactly the event types we handle.

    Lists what exists, creates what is missing, deletes duplicates. The outcome is kept in
    Redis (``kb:kick-subs:<community id>``) for the health page.
    """
    report = SubscriptionsReport(community_id=community.pk)
    wanted = sorted(webhook_event_types())
    broadcaster = int(community.kick_broadcaster_user_id or 0)
    try:
        with kick_api(community_id=community.pk) as api:
            existing = [
                s for s in api.list_subscriptions(broadcaster_user_id=broadcaster) if s.method == "webhook"
            ]
            seen: set[tuple[str, int]] = set()
            duplicates: list[str] = []
            for sub in existing:
                ident = (sub.event, sub.version)
                if ident in seen:
                    duplicates.append(sub.id)
                seen.add(ident)
            if duplicates:
                api.delete_subscriptions(duplicates)
                report.deleted = len(duplicates)
            missing = [(name, EVENT_VERSION) for name in wanted if (name, EVENT_VERSION) not in seen]
            if missing:
                for result in api.create_subscriptions(broadcaster_user_id=broadcaster, events=missing):
                    (report.created if result.ok else report.failed).append(result.name)
            report.active = sorted({e for e, _ in seen} | set(report.created))
    except KickError as exc:
        report.error = f"{type(exc).__name__}: {exc}"[:200]
        log.warning(
            "webhook subscription reconcile failed for %s: %s",
            community.kick_channel_slug,
            type(exc).__name__,
        )
    get_redis().set(
        key("kick-subs", community.pk),
        json.dumps({**report.__dict__, "wanted": wanted, "checked_at": time.time()}),
        ex=24 * 3600,
    )
    return report


def subscriptions_state(*, community_id: int) -> dict[str, object] | None:
    raw = get_redis().get(key("kick-subs", community_id))
    return json.loads(raw) if raw else None


def live_status_poll() -> int:
    """Backstop for missed live/offline events; returns how many communities changed.

    Reads ``GET /public/v2/livestreams`` (v1 is deprecated), which lists all of Kick's live streams
    page by page: a broadcaster found is live; one not found after the whole list is offline; one not
    found within the page cap is left as it is. The webhook (and Pusher) stay the first signal: a
    state they set less than ``OFFLINE_GRACE`` ago is not overturned by the poll, whose list lags.
    """
    changed = 0
    for community in _connected():
        broadcaster = int(community.kick_broadcaster_user_id or 0)
        try:
            with kick_api(community_id=community.pk) as api:
                scan = api.live_streams_of([broadcaster])
        except KickError as exc:
            log.warning("live status poll failed for %s: %s", community.kick_channel_slug, type(exc).__name__)
            continue
        live = any(s.broadcaster_user_id == broadcaster for s in scan.streams)
        if not live and not scan.complete:
            log.info(
                "live status poll for %s: not in the pages read; left as it is", community.kick_channel_slug
            )
            continue
        now = timezone.now()
        recent = community.live_changed_at is not None and now - community.live_changed_at < OFFLINE_GRACE
        if recent and live != community.is_live:
            continue  # a fresh event said otherwise: it wins over a lagging list
        changed += community_live_set(community_id=community.pk, is_live=live, at=now)
    return changed


def subscriptions_reconcile_all() -> int:
    done = 0
    for community in _connected():
        subscriptions_reconcile(community=community)
        done += 1
    return done
