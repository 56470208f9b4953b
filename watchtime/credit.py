"""Watchtime crediting: minute ticks into the month totals, the month fold into all-time, the rank
mirror's database side, and the community's watchtime settings (tracking switch, thresholds).

Celery tasks (``watchtime.tasks``) call in here; nothing here imports the tasks.
"""

from __future__ import annotations

import json
import logging
import math
import time
from dataclasses import dataclass, field
from datetime import date, datetime

from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from kickbot.errors import InvalidInput
from kickbot.models import Community
from kickbot.months import local_month_start, month_before
from kickbot.services import audit_record
from watchtime import mirror
from watchtime.activity import active_viewers, distinct_chatters, snapshot_drop, snapshot_get, snapshot_put
from watchtime.models import WatchAllTime, WatchMonthly, WatchSettings, WatchTick, WatchTotal

log = logging.getLogger(__name__)

CHATTER_WINDOW_S = 300  # "at least min_active_chatters distinct chatters in the last 5 minutes"


@dataclass(frozen=True)
class CreditResult:
    credited: bool
    reason: str  # credited | duplicate | tracking_off | offline | quiet | no_viewers
    viewers: int = 0
    minutes: int = 0
    tick_id: int | None = None
    prev_tick_id: int | None = None  # the community's previous credited tick (mirror chain)
    month: date | None = None
    # New month values as "id:minutes,..." for the rank mirror (all-time grows by ``minutes``).
    month_pairs: str = field(default="", repr=False)


def community_month(*, community: Community, when: datetime) -> date:
    """First day of ``when``'s month in the community's time zone."""
    return local_month_start(when, community.timezone or "UTC")


def watch_settings_get(*, community_id: int) -> WatchSettings:
    settings, _ = WatchSettings.objects.get_or_create(community_id=community_id)
    return settings


# --- crediting ---------------------------------------------------------------------------


# Known viewers (95 %+ of a tick) take a plain UPDATE: ``kick_user_id = ANY(<array literal>)`` is
# planned as one scan with a hashed array lookup, ~40 % cheaper than INSERT ... ON CONFLICT, which
# makes a speculative insertion attempt and an index probe per row. Only the ids the UPDATE did not
# find go to the upsert (ON CONFLICT still covers a row inserted by someone else meanwhile).
_PG_MONTH = """
WITH ids AS (SELECT u FROM unnest(%(ids)s::bigint[]) AS t(u)),
um AS (
    UPDATE {monthly} w SET minutes = w.minutes + %(minutes)s
    WHERE w.community_id = %(community)s AND w.month = %(month)s
      AND w.kick_user_id = ANY(%(ids)s::bigint[])
    RETURNING w.kick_user_id, w.minutes),
im AS (
    INSERT INTO {monthly} (community_id, kick_user_id, month, minutes)
    SELECT %(community)s, u, %(month)s, %(minutes)s FROM ids
    WHERE NOT EXISTS (SELECT 1 FROM um WHERE um.kick_user_id = ids.u)
    ON CONFLICT (community_id, kick_user_id, month)
    DO UPDATE SET minutes = {monthly}.minutes + excluded.minutes
    RETURNING kick_user_id, minutes)
SELECT string_agg(kick_user_id || ':' || minutes, ',') FROM (SELECT * FROM um UNION ALL SELECT * FROM im) AS b
"""

# SQLite: plain upserts (no UPDATE ... RETURNING inside WITH). ``WHERE true`` lets SQLite parse
# INSERT ... SELECT ... ON CONFLICT.
_SQLITE_MONTH = """
INSERT INTO {monthly} (community_id, kick_user_id, month, minutes)
SELECT %s, value, %s, %s FROM json_each(%s) WHERE true
ON CONFLICT (community_id, kick_user_id, month) DO UPDATE SET minutes = {monthly}.minutes + excluded.minutes
RETURNING kick_user_id, minutes
"""

# Only for a tick of a month already folded into WatchTotal (a late tick): that month's minutes
# must reach the all-time table too.
_CLOSED_TOTAL = {
    "postgresql": "SELECT %s, u, %s FROM unnest(%s::bigint[]) AS t(u) WHERE true",
    "sqlite": "SELECT %s, value, %s FROM json_each(%s) WHERE true",
}
_UPSERT_TOTAL = """
INSERT INTO {total} (community_id, kick_user_id, minutes)
{select}
ON CONFLICT (community_id, kick_user_id) DO UPDATE SET minutes = {total}.minutes + excluded.minutes
"""

_FOLD = """
INSERT INTO {total} (community_id, kick_user_id, minutes)
SELECT community_id, kick_user_id, SUM(minutes) FROM {monthly}
WHERE community_id = %s AND month <= %s AND month > %s
GROUP BY community_id, kick_user_id
ON CONFLICT (community_id, kick_user_id) DO UPDATE SET minutes = {total}.minutes + excluded.minutes
"""


def _tables() -> dict[str, str]:
    qn = connection.ops.quote_name
    return {"total": qn(WatchTotal._meta.db_table), "monthly": qn(WatchMonthly._meta.db_table)}


def _ids_param(ids: list[int]) -> str:
    if connection.vendor == "postgresql":
        # An array literal: psycopg adapting a 100k-item list costs ~50 ms more than this join.
        return "{" + ",".join(map(str, ids)) + "}"
    return json.dumps(ids)


def _credit_month(*, community_id: int, ids: list[int], minutes: int, month: date) -> str:
    """Add ``minutes`` to the ``month`` row of every id, set-based; returns ``"id:minutes,..."``.

    One statement on Postgres whatever the number of viewers; the new month values go to the
    rank mirror.
    """
    with connection.cursor() as cur:
        if connection.vendor == "postgresql":
            cur.execute(
                _PG_MONTH.format(**_tables()),
                {"ids": _ids_param(ids), "community": community_id, "minutes": minutes, "month": month},
            )
            return str(cur.fetchone()[0] or "")
        cur.execute(
            _SQLITE_MONTH.format(**_tables()),
            [community_id, connection.ops.adapt_datefield_value(month), minutes, _ids_param(ids)],
        )
        return ",".join(f"{u}:{m}" for u, m in cur.fetchall())


def _credit_closed_total(*, community_id: int, ids: list[int], minutes: int) -> None:
    select = _CLOSED_TOTAL["postgresql" if connection.vendor == "postgresql" else "sqlite"]
    with connection.cursor() as cur:
        cur.execute(
            _UPSERT_TOTAL.format(select=select, **_tables()), [community_id, minutes, _ids_param(ids)]
        )


def watchtime_credit(
    *, community_id: int, bucket: datetime, minutes: int, now: float | None = None
) -> CreditResult:
    """Credit ``minutes`` to every viewer active now, once for ``bucket`` (interval start, aware).

    Eligible when the community is live (or counts offline chat) and at least
    ``min_active_chatters`` distinct users chatted in the last 5 minutes; the viewers are those
    whose last line falls in the last ``active_window`` seconds before ``now`` (epoch seconds,
    default the clock), so one line earns exactly the ticks that run inside its window. The viewer
    list is snapshotted per bucket in Redis: a retry of a killed tick credits the same viewers.

    Idempotency key: ``WatchTick(community, bucket)``, inserted in the same transaction as the
    minutes, so a repeated or late tick for the bucket credits nothing. The minutes go to the
    bucket's month in ``WatchMonthly`` (all-time is derived, see ``WatchAllTime``); only a bucket of
    a month already folded into ``WatchTotal`` writes that table as well. The community's
    ``WatchSettings`` row is locked for the transaction (ticks and the month fold of one community
    run one at a time). Then call :func:`watchtime_mirror_update` with the result (the tick task does).
    """
    if minutes <= 0:
        raise ValueError("minutes must be positive")
    community = Community.objects.only("is_live", "timezone", "kick_bot_user_id").get(pk=community_id)
    settings = watch_settings_get(community_id=community_id)
    if not settings.tracking_enabled:
        return CreditResult(credited=False, reason="tracking_off")
    bucket_ts = int(bucket.timestamp())
    # A snapshot means an earlier run of this bucket passed the live and chatter gates and was
    # killed before it committed: the retry credits what that run saw, even if the stream ended.
    snapshot = snapshot_get(community_id=community_id, bucket_ts=bucket_ts)
    if snapshot is None and not (community.is_live or settings.count_offline_chat):
        return CreditResult(credited=False, reason="offline")
    if snapshot is None:
        ref = time.time() if now is None else now
        # No upper bound: a line stamped slightly ahead of this worker's clock still counts.
        since = ref - CHATTER_WINDOW_S
        chatters = distinct_chatters(community_id=community_id, since_ts=since, until_ts=math.inf)
        if chatters < settings.min_active_chatters:
            return CreditResult(credited=False, reason="quiet")
        viewers = active_viewers(
            community_id=community_id, since_ts=ref - settings.active_window_s, until_ts=math.inf
        )
        if community.kick_bot_user_id is not None:  # filtered upstream too; never credit the bot
            viewers = [v for v in viewers if v != community.kick_bot_user_id]
        viewers.sort()  # index order: neighbouring keys share pages
        if viewers:
            snapshot_put(community_id=community_id, bucket_ts=bucket_ts, viewers=viewers)
    else:
        viewers = snapshot
    if not viewers:
        return CreditResult(credited=False, reason="no_viewers")
    month = community_month(community=community, when=bucket)

    with transaction.atomic():
        if connection.vendor == "postgresql":
            # Losing the last tick in a crash is fine (tick row and minutes go together).
            with connection.cursor() as cur:
                cur.execute("SET LOCAL synchronous_commit TO OFF")
        locked = WatchSettings.objects.select_for_update().get(pk=settings.pk)
        try:
            with transaction.atomic():
                tick = WatchTick.objects.create(
                    community_id=community_id, bucket=bucket, viewers=len(viewers), minutes=minutes
                )
        except IntegrityError:
            snapshot_drop(community_id=community_id, bucket_ts=bucket_ts)
            return CreditResult(credited=False, reason="duplicate")
        month_new = _credit_month(community_id=community_id, ids=viewers, minutes=minutes, month=month)
        if locked.closed_through is not None and month <= locked.closed_through:
            _credit_closed_total(community_id=community_id, ids=viewers, minutes=minutes)
        WatchSettings.objects.filter(pk=locked.pk).update(last_tick_id=tick.pk)
    snapshot_drop(community_id=community_id, bucket_ts=bucket_ts)

    log.info("credited %s minutes to %s viewers in community %s", minutes, len(viewers), community_id)
    return CreditResult(
        credited=True,
        reason="credited",
        viewers=len(viewers),
        minutes=minutes,
        tick_id=tick.pk,
        prev_tick_id=locked.last_tick_id,
        month=month,
        month_pairs=month_new,
    )


def watchtime_months_close(*, community_id: int, now: datetime | None = None) -> date | None:
    """Fold every month before the current one (community time zone) into ``WatchTotal``, once.

    Under the ``WatchSettings`` lock, in one transaction with the ``closed_through`` move, so the
    ``WatchAllTime`` view counts each month exactly once before, during and after. A tick of a
    folded month that arrives later adds to both tables (see :func:`watchtime_credit`). Returns
    the new ``closed_through``.
    """
    community = Community.objects.only("timezone").get(pk=community_id)
    this_month = community_month(community=community, when=now or timezone.now())
    target = month_before(this_month)
    settings = watch_settings_get(community_id=community_id)
    with transaction.atomic():
        locked = WatchSettings.objects.select_for_update().get(pk=settings.pk)
        if locked.closed_through is not None and locked.closed_through >= target:
            return locked.closed_through
        since = locked.closed_through or date(1, 1, 1)
        adapt = connection.ops.adapt_datefield_value
        with connection.cursor() as cur:
            cur.execute(_FOLD.format(**_tables()), [community_id, adapt(target), adapt(since)])
            folded = cur.rowcount
        WatchSettings.objects.filter(pk=locked.pk).update(closed_through=target)
    log.info(
        "folded watchtime through %s into all-time totals for community %s (%s viewers)",
        target,
        community_id,
        folded,
    )
    return target


def watchtime_mirror_update(*, community_id: int, result: CreditResult) -> bool:
    """After a credit commits: write the new totals into the rank mirror (a cache, never fatal).

    Returns whether it was written; False for a credited tick means the mirror is stale or the write
    failed, and the caller schedules a rebuild (``watchtime.tasks.mirror_rebuild_soon``).
    """
    if not result.credited or result.month is None:
        return False
    try:
        fresh = mirror.mirror_apply(
            community_id=community_id,
            month=result.month,
            tick_id=result.tick_id,
            prev_tick_id=result.prev_tick_id,
            minutes=result.minutes,
            month_pairs=result.month_pairs,
        )
    except Exception:
        log.exception("could not update the watchtime mirror of community %s", community_id)
        fresh = False
    return fresh


def watchtime_mirror_rebuild(*, community_id: int) -> int:
    """Copy the totals (all-time and this month) into the rank mirror; returns the all-time row count.

    Holds the community's ``WatchSettings`` row lock while copying, so no credit commits in
    between; the mirror swaps the copy in at once (``mirror.mirror_replace``).
    """
    watch_settings_get(community_id=community_id)
    with transaction.atomic():
        settings = WatchSettings.objects.select_for_update().get(community_id=community_id)
        community = Community.objects.only("timezone").get(pk=community_id)
        month = community_month(community=community, when=timezone.now())
        totals = WatchAllTime.objects.filter(community_id=community_id).values_list("kick_user_id", "minutes")
        month_totals = WatchMonthly.objects.filter(community_id=community_id, month=month).values_list(
            "kick_user_id", "minutes"
        )
        n, m = mirror.mirror_replace(
            community_id=community_id,
            month=month,
            last_tick_id=settings.last_tick_id,
            totals=totals.iterator(chunk_size=20_000),
            month_totals=month_totals.iterator(chunk_size=20_000),
        )
    log.info("rebuilt the watchtime mirror of community %s: %s viewers, %s this month", community_id, n, m)
    return n


# --- settings ----------------------------------------------------------------------------


def tracking_set(*, community_id: int, enabled: bool, actor_label: str) -> WatchSettings:
    """Pause or resume crediting for a community (audited)."""
    with transaction.atomic():
        settings = watch_settings_get(community_id=community_id)
        if settings.tracking_enabled != enabled:
            WatchSettings.objects.filter(pk=settings.pk).update(tracking_enabled=enabled)
            settings.tracking_enabled = enabled
            audit_record(
                action="watchtime.tracking_on" if enabled else "watchtime.tracking_off",
                community=settings.community,
                actor_label=actor_label,
                target=settings,
            )
    return settings


WATCH_SETTING_LIMITS = {"min_active_chatters": (1, 1000), "active_window_s": (10, 3600)}


def watch_settings_update(*, community_id: int, actor_label: str, **fields: object) -> WatchSettings:
    """Change watchtime settings (tracking, offline chat, thresholds, role mode); audited, applied
    from the next tick (the tick reads the row every time)."""
    allowed = {"tracking_enabled", "count_offline_chat", "role_mode", *WATCH_SETTING_LIMITS}
    unknown = set(fields) - allowed
    if unknown:
        raise TypeError(f"not editable: {sorted(unknown)}")
    for name, value in fields.items():
        if name in WATCH_SETTING_LIMITS:
            low, high = WATCH_SETTING_LIMITS[name]
            if type(value) is not int or not low <= value <= high:
                raise InvalidInput(f"{name.replace('_', ' ')} must be a whole number from {low} to {high}.")
        elif name == "role_mode" and value not in WatchSettings.RoleMode.values:
            raise InvalidInput("Role mode is 'all' or 'highest'.")
        elif name in ("tracking_enabled", "count_offline_chat") and type(value) is not bool:
            raise InvalidInput(f"{name.replace('_', ' ')} is on or off.")
    with transaction.atomic():
        watch_settings_get(community_id=community_id)
        row = WatchSettings.objects.select_for_update().get(community_id=community_id)
        before = {k: getattr(row, k) for k in fields}
        for name, value in fields.items():
            setattr(row, name, value)
        row.save()
        changed = {k: [before[k], v] for k, v in fields.items() if before[k] != v}
        if changed:
            audit_record(
                action="watchtime.settings",
                community=row.community,
                actor_label=actor_label,
                target=row,
                data={k: [str(a), str(b)] for k, (a, b) in changed.items()},
            )
    return row
