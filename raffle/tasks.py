"""Celery tasks: thin calls into the services. Every one is idempotent for its time bucket."""

from __future__ import annotations

import logging
from dataclasses import dataclass

import httpx
from celery import shared_task
from django.conf import settings
from django.utils import timezone

from kickbot.integrations.shuffle import ShuffleClient, ShuffleError, only_campaigns
from kickbot.redis_client import get_redis, key
from raffle.errors import DrawWaiting
from raffle.models import RafflePeriod, RaffleSettings, ShuffleAccount
from raffle.services import drawing, rollover, shuffle, tickets

log = logging.getLogger(__name__)

SHUFFLE_MIN_INTERVAL_S = 60
SHUFFLE_MAX_BACKOFF_S = 1800


def shuffle_client_factory() -> ShuffleClient:
    """The Shuffle client the poll uses (tests replace it with one over httpx.MockTransport)."""
    return ShuffleClient(settings.SHUFFLE_API_BASE_URL, client=httpx.Client(timeout=10.0), owns_client=True)


@dataclass(frozen=True)
class PollOutcome:
    status: str  # "skipped", "too_soon", "backoff", "error", "ok"
    detail: str = ""
    awarded: int = 0


def shuffle_poll_once() -> PollOutcome:
    """Poll the affiliate stats at most once a minute (a Redis slot), with backoff after errors.

    One request per run: the open period whose wagers were polled longest ago picks the window
    (its start → now); every open period with the same start gets the same rows. A failed
    request changes nothing in the database.
    """
    affiliate_id = settings.SHUFFLE_AFFILIATE_ID
    if not affiliate_id:
        return PollOutcome("skipped", "SHUFFLE_AFFILIATE_ID is not set")
    r = get_redis()
    if r.exists(key("shuffle", "backoff")):
        return PollOutcome("backoff", "waiting after an error")
    if not r.set(key("shuffle", "slot"), "1", nx=True, ex=SHUFFLE_MIN_INTERVAL_S):
        return PollOutcome("too_soon", "polled less than a minute ago")
    communities = ShuffleAccount.objects.filter(verified=True).values("community_id")
    period = (
        RafflePeriod.objects.filter(status=RafflePeriod.Status.OPEN, community_id__in=communities)
        .order_by("wager_polled_at", "id")
        .defer("server_seed")
        .first()
    )
    now = timezone.now()
    if period is None or period.starts_at >= now:
        return PollOutcome("skipped", "no open raffle with verified Shuffle names")
    try:
        with shuffle_client_factory() as client:
            rows = client.wager_stats(
                affiliate_id=affiliate_id, start=int(period.starts_at.timestamp()), end=int(now.timestamp())
            )
    except ShuffleError as exc:
        failures = int(r.incr(key("shuffle", "failures")))
        delay = min(SHUFFLE_MIN_INTERVAL_S * 2 ** min(failures, 10), SHUFFLE_MAX_BACKOFF_S)
        r.set(key("shuffle", "backoff"), "1", ex=delay)
        log.warning("Shuffle poll failed (%s); next try in %s s", exc, delay)
        return PollOutcome("error", str(exc))
    r.delete(key("shuffle", "failures"))
    same_window = RafflePeriod.objects.filter(status=RafflePeriod.Status.OPEN, starts_at=period.starts_at)
    awarded = 0
    for pid, rules in same_window.values_list("id", "rules"):
        # The campaign codes and the wager mode are the period's committed rules (empty codes: all).
        counted = only_campaigns(rows, rules.get("shuffle_campaign_codes") or None)
        if pid == period.pk:
            shuffle.shuffle_remember(
                starts_at=period.starts_at, amounts={row.username.lower(): row.wager_cents for row in counted}
            )
        if rules.get("wager_mode") == RaffleSettings.WagerMode.WEIGHTED:
            amounts = {
                row.username.lower(): row.weighted_cents for row in counted if row.weighted_cents is not None
            }
        else:
            amounts = {row.username.lower(): row.wager_cents for row in counted}
        awarded += shuffle.tickets_apply_wagers(period_id=pid, amounts=amounts)
    same_window.update(wager_polled_at=now)
    return PollOutcome("ok", f"{len(rows)} rows", awarded)


@shared_task(ignore_result=True)
def raffle_shuffle_poll() -> str:
    return shuffle_poll_once().status


@shared_task(ignore_result=True)
def raffle_watchtime_convert() -> int:
    """Convert watched minutes into tickets for every open period (re-runs award nothing)."""
    total = 0
    for community_id in RafflePeriod.objects.filter(status=RafflePeriod.Status.OPEN).values_list(
        "community_id", flat=True
    ):
        total += tickets.tickets_convert_watchtime(community_id=community_id)
    return total


@shared_task(ignore_result=True)
def raffle_rollover() -> int:
    """The monthly rollover for every community with a raffle (once per month each), then due draws."""
    ran = 0
    for community_id in RafflePeriod.objects.values_list("community_id", flat=True).distinct():
        if rollover.raffle_rollover(community_id=community_id).ran:
            ran += 1
    drawing.raffle_draw_due()
    return ran


@shared_task(ignore_result=True)
def raffle_draw_due() -> int:
    return len(drawing.raffle_draw_due())


@shared_task(ignore_result=True)
def raffle_draw_period(period_id: int) -> str:
    """Draw one frozen period as soon as its round exists (scheduled by the freeze for that round).

    A draw still waiting (round not out, relays failing) leaves it to the every-minute
    ``raffle_draw_due``, which logs the attempts and applies the fallback rule.
    """
    try:
        result = drawing.period_draw(period_id=period_id, actor_label="system:auto-draw")
    except DrawWaiting as exc:
        return f"waiting: {exc}"
    return "already" if result.already else "drawn"
