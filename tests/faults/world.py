"""The database side of the fault scenarios, run inside the bot's own settings via ``manage.py shell``.

``setup``: one community with the fake Kick channel's ids, a stored Kick token (issued by the
fake Kick API of the harness) and an open raffle period. ``report``: what the checks need, as
one JSON line.
"""

from __future__ import annotations

import json
import os
from datetime import timedelta
from typing import Any

from django.db import models
from django.db.models import Count
from django.utils import timezone

from tests.fakes.kick_chat import BROADCASTER, CHANNEL, CHATROOM

BOT_USER_ID = 5001


def setup() -> None:
    from kickbot import kick
    from kickbot.integrations.kick import TokenSet
    from kickbot.models import Community
    from raffle.services.periods import period_open

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
        period_open(
            community=community,
            starts_at=now - timedelta(days=1),
            ends_at=now + timedelta(days=20),
            actor_label="t",
        )
    print(json.dumps({"community_id": community.pk}))


def gift_ledger() -> dict[str, Any]:
    """Gifts that reached the ledger, named by their reports (webhook message ids): ``gift_keys``;
    ``doubled_gift_keys``: a ledger key written twice, or a report that awarded two purchases."""
    from collections import Counter

    from gifts.models import GiftPurchase
    from raffle.models import TicketEntry

    gifts = TicketEntry.objects.filter(source="gift")
    by_key = gifts.values("source_key").annotate(n=Count("id"))
    doubled = list(by_key.filter(n__gt=1).values_list("source_key", flat=True))
    ledger_keys = set(gifts.values_list("source_key", flat=True))
    refs = [
        ref
        for pk, purchase_refs in GiftPurchase.objects.values_list("pk", "refs")
        if f"gift-purchase:{pk}" in ledger_keys
        for ref in purchase_refs
    ]
    doubled += [ref for ref, n in Counter(refs).items() if n > 1]
    return {
        "gift_keys": sorted(set(refs)),
        "gift_tickets": sum(gifts.values_list("amount", flat=True)),
        "doubled_gift_keys": doubled,
    }


def report() -> None:
    from accounts.models import KickUser
    from outbox.models import OutboxMessage
    from raffle.models import TicketEntry

    replies = OutboxMessage.objects.filter(kind="kick_chat")
    per_reply_to: dict[str, int] = {}
    for payload in replies.values_list("payload", flat=True):
        rid = str(payload.get("reply_to") or "")
        per_reply_to[rid] = per_reply_to.get(rid, 0) + 1
    print(
        json.dumps(
            {
                "reply_to": per_reply_to,
                "replies_sent": replies.filter(status="sent").count(),
                **gift_ledger(),
                "kick_users": KickUser.objects.count(),
                # When the last of these was written (unix seconds): recovery without polling delay.
                "last_write_at": max(
                    (
                        t.timestamp()
                        for t in (
                            replies.aggregate(t=models.Max("created_at"))["t"],
                            TicketEntry.objects.filter(source="gift").aggregate(t=models.Max("created_at"))[
                                "t"
                            ],
                        )
                        if t is not None
                    ),
                    default=None,
                ),
            }
        )
    )


# --- watchtime -----------------------------------------------------------------------------------

ACTIVE_BASE, IDLE_BASE = 1_000_000, 2_000_000
IDLE_AGE_S = 200  # inside the 5-minute chatter window, outside the 120 s active window


def _community_id() -> int:
    from kickbot.models import Community

    return int(Community.objects.values_list("pk", flat=True).get(kick_channel_slug="streamer"))


def _all_time() -> Any:
    """The model to read all-time minutes from: ``WatchAllTime`` (WatchTotal plus the open months)
    where the watchtime app has it, else ``WatchTotal``."""
    from watchtime import models as watch_models

    return getattr(watch_models, "WatchAllTime", watch_models.WatchTotal)


def seed_activity(n_active: int, n_idle: int) -> None:
    """``n_active`` viewers who chatted a second ago, ``n_idle`` who chatted ``IDLE_AGE_S`` ago.

    Written the way the Kick pipeline writes activity (``activity_record_many``). The community's
    watchtime settings row is created here, so a tick's only write transaction is its credit.
    """
    import asyncio
    import time

    from kickbot.redis_client import get_async_redis
    from watchtime.activity import activity_record_many
    from watchtime.models import WatchSettings

    cid = _community_id()
    WatchSettings.objects.get_or_create(community_id=cid)
    now = time.time()
    seen = {IDLE_BASE + i: now - IDLE_AGE_S for i in range(n_idle)}
    seen.update({ACTIVE_BASE + i: now - 1 for i in range(n_active)})

    async def write() -> None:
        r = get_async_redis()
        try:
            await activity_record_many(r, community_id=cid, seen=seen)
        finally:
            await r.aclose()

    asyncio.run(write())
    print(json.dumps({"seeded_at": now}))


def watch_report(n_active: int, n_idle: int) -> None:
    """Ticks, and how many active viewers hold each all-time / monthly total; rows of idle viewers."""
    from watchtime.models import WatchMonthly, WatchTick

    cid = _community_id()
    active = (ACTIVE_BASE, ACTIVE_BASE + n_active - 1)
    idle = (IDLE_BASE, IDLE_BASE + n_idle - 1)

    def histogram(model: Any) -> dict[str, int]:
        rows = (
            model.objects.filter(community_id=cid, kick_user_id__range=active)
            .values("minutes")
            .annotate(n=Count("kick_user_id"))
            .values_list("minutes", "n")
        )
        return {str(m): n for m, n in rows}

    print(
        json.dumps(
            {
                "ticks": [
                    [b.timestamp(), v, m]
                    for b, v, m in WatchTick.objects.filter(community_id=cid)
                    .order_by("bucket")
                    .values_list("bucket", "viewers", "minutes")
                ],
                "total": histogram(_all_time()),
                "monthly": histogram(WatchMonthly),
                "idle_rows": _all_time().objects.filter(community_id=cid, kick_user_id__range=idle).count()
                + WatchMonthly.objects.filter(community_id=cid, kick_user_id__range=idle).count(),
            }
        )
    )


def credit_again(bucket_ts: float, minutes: int) -> None:
    """The same bucket credited once more (another replica's late tick): what did it do?"""
    from datetime import UTC, datetime

    from watchtime.credit import watchtime_credit

    result = watchtime_credit(
        community_id=_community_id(), bucket=datetime.fromtimestamp(bucket_ts, UTC), minutes=minutes
    )
    print(json.dumps({"credited": bool(result.credited), "reason": str(getattr(result, "reason", ""))}))


# --- raffle rollover -----------------------------------------------------------------------------

VIEWER_BASE = 3_000_000


def seed_rollover(n_viewers: int, minutes: int, more: int) -> None:
    """The open period becomes last month's and has ended; nobody rolled it over yet.

    ``n_viewers`` watched ``minutes`` last month, converted into tickets by the real service, then
    ``more`` minutes each since that conversion. Auto-draw is off (no beacon on loopback).
    """
    from kickbot.months import local_month_start, month_before, month_starts_at
    from raffle.models import RafflePeriod, RolloverRun
    from raffle.services.periods import raffle_settings_update
    from raffle.services.tickets import tickets_convert_watchtime
    from watchtime.models import WatchMonthly

    cid = _community_id()
    raffle_settings_update(community_id=cid, actor_label="faults", auto_draw=False)
    period = RafflePeriod.objects.select_related("community").get(community_id=cid, status="open")
    tz = period.community.timezone
    this_month = local_month_start(timezone.now(), tz)
    last_month = month_before(this_month)

    def start(month: Any) -> Any:
        return month_starts_at(month, tz)

    RafflePeriod.objects.filter(pk=period.pk).update(
        starts_at=start(last_month), ends_at=start(this_month), month=last_month
    )
    RolloverRun.objects.filter(community_id=cid).delete()
    WatchMonthly.objects.bulk_create(
        [
            WatchMonthly(community_id=cid, kick_user_id=VIEWER_BASE + i, month=last_month, minutes=minutes)
            for i in range(n_viewers)
        ],
        batch_size=5000,
    )
    awarded = tickets_convert_watchtime(community_id=cid)
    if more:
        WatchMonthly.objects.filter(community_id=cid, month=last_month).update(
            minutes=models.F("minutes") + more
        )
    print(json.dumps({"period_id": period.pk, "awarded": awarded, "rate": period.rules["tickets_per_hour"]}))


def _ledger_state(cid: int) -> dict[str, Any]:
    """Duplicate ledger keys and balances that differ from their ledger sums (per source), over every
    period of the community."""
    from collections import Counter, defaultdict

    from raffle.models import TicketBalance, TicketEntry

    entries = TicketEntry.objects.filter(period__community_id=cid)
    duplicates = (
        entries.values("period_id", "source", "source_key").annotate(n=Count("id")).filter(n__gt=1).count()
    )
    sums: dict[tuple[int, int], Counter[str]] = defaultdict(Counter)
    for pid, uid, source, amount in entries.values_list("period_id", "kick_user_id", "source", "amount"):
        sums[(pid, uid)][source] += amount
        sums[(pid, uid)]["total"] += amount
    fields = ("total", "watchtime", "gift", "wager", "admin")
    balances = {
        (row[0], row[1]): dict(zip(fields, row[2:], strict=True))
        for row in TicketBalance.objects.filter(period__community_id=cid).values_list(
            "period_id", "kick_user_id", *fields
        )
    }
    mismatched = sum(
        1
        for k in sums.keys() | balances.keys()
        if any(sums.get(k, Counter())[f] != balances.get(k, {}).get(f, 0) for f in fields)
    )
    return {"entries": entries.count(), "duplicate_keys": duplicates, "balance_mismatches": mismatched}


def rollover_report() -> None:
    """Periods, rollover markers, the ledger check, the frozen snapshot recomputed, and a histogram of
    watchtime tickets per seeded viewer."""
    from collections import Counter

    from raffle.models import RafflePeriod, RolloverRun, TicketEntry
    from raffle.selectors import snapshot_build

    cid = _community_id()
    periods = list(
        RafflePeriod.objects.filter(community_id=cid)
        .order_by("id")
        .values("id", "status", "month", "starts_at", "ends_at", "snapshot_hash", "entrants_count")
    )
    snapshots = {
        str(p["id"]): snapshot_build(period_id=p["id"]).snapshot_hash == p["snapshot_hash"]
        for p in periods
        if p["status"] != "open"
    }
    watch = Counter(
        TicketEntry.objects.filter(
            period__community_id=cid, source="watchtime", kick_user_id__gte=VIEWER_BASE
        )
        .values("period_id", "kick_user_id")
        .annotate(t=models.Sum("amount"))
        .values_list("t", flat=True)
    )
    print(
        json.dumps(
            {
                "periods": periods,
                "runs": list(RolloverRun.objects.filter(community_id=cid).values_list("month", flat=True)),
                **_ledger_state(cid),
                "snapshot_ok": snapshots,
                "watch_tickets": {str(t): n for t, n in watch.items()},
            },
            default=str,
        )
    )


# --- Postgres connections terminated under load --------------------------------------------------

OWNER = ("faults-owner", "faults-owner-password-1")


def seed_load(viewer_ids: list[int], minutes: int) -> None:
    """A dashboard owner, and ``minutes`` watched this month by each of ``viewer_ids`` (so that the
    ticket conversion has work and the ticks push some of them over the next ticket)."""
    from django.contrib.auth import get_user_model
    from django.contrib.auth.models import Group

    from kickbot.models import Community
    from kickbot.months import local_month_start
    from raffle.models import RafflePeriod
    from watchtime.models import WatchMonthly

    community = Community.objects.get(pk=_community_id())
    user = get_user_model().objects.create_superuser(OWNER[0], "", OWNER[1])
    owners = Group.objects.filter(name="owner").first()
    if owners is not None:
        user.groups.add(owners)
    month = local_month_start(timezone.now(), community.timezone)
    WatchMonthly.objects.bulk_create(
        [WatchMonthly(community=community, kick_user_id=u, month=month, minutes=minutes) for u in viewer_ids],
        batch_size=5000,
    )
    period = RafflePeriod.objects.get(community=community, status="open")
    print(json.dumps({"period_id": period.pk, "seeded_minutes": minutes * len(viewer_ids)}))


def load_report() -> None:
    """What must hold after the database connections were cut: every tick with its credits, the
    ledger, the outbox, and the replies and gifts (``report``'s)."""
    from outbox.models import OutboxMessage
    from watchtime.models import WatchMonthly, WatchTick

    cid = _community_id()
    ticks = list(WatchTick.objects.filter(community_id=cid).values_list("viewers", "minutes"))

    def minutes(model: Any) -> int:
        return int(model.objects.filter(community_id=cid).aggregate(s=models.Sum("minutes"))["s"] or 0)

    outbox = dict(
        OutboxMessage.objects.filter(kind="kick_chat")
        .values("status")
        .annotate(n=Count("id"))
        .values_list("status", "n")
    )
    print(
        json.dumps(
            {
                "ticks": len(ticks),
                "tick_minutes": sum(v * m for v, m in ticks),
                "total_minutes": minutes(_all_time()),
                "monthly_minutes": minutes(WatchMonthly),
                **_ledger_state(cid),
                "outbox": outbox,
            }
        )
    )


# --- the dashboard's live feed ---------------------------------------------------------------------


def dashboard_session(username: str, role: str) -> None:
    """A dashboard account with ``role`` and a logged-in session: prints its id and session cookie."""
    from django.conf import settings
    from django.contrib.auth import get_user_model
    from django.test import Client

    from dashboard.services import dashboard_user_role_set

    user, _ = get_user_model().objects.get_or_create(username=username)
    dashboard_user_role_set(target=user, role=role, actor=user)
    client = Client()
    client.force_login(user)
    cookie = f"{settings.SESSION_COOKIE_NAME}={client.cookies[settings.SESSION_COOKIE_NAME].value}"
    print(json.dumps({"user_id": user.pk, "cookie": cookie}))


def dashboard_role_remove(username: str) -> None:
    """Take every dashboard role from ``username`` (the owner's page does the same); prints when
    that committed (unix seconds)."""
    import time

    from django.contrib.auth import get_user_model
    from django.contrib.auth.models import AnonymousUser

    from dashboard.services import dashboard_user_role_set

    user = get_user_model().objects.get(username=username)
    dashboard_user_role_set(target=user, role="", actor=AnonymousUser())
    print(json.dumps({"committed_at": time.time()}))


def live_event(text: str) -> None:
    """One live feed event for the community, published like a service does (on commit)."""
    from django.db import transaction

    from kickbot.live import live_publish

    with transaction.atomic():
        live_publish(community_id=_community_id(), kind="faults.probe", data={"text": text})
    print(json.dumps({"text": text}))
