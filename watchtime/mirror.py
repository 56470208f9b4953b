"""The Redis rank mirror: sorted sets of Kick user id → minutes, for the all-time and current month.

Why: ``WatchTotal.minutes`` is deliberately not indexed (HOT updates keep the per-minute upsert
of 100k rows fast), and even with an index a rank is a ``count(*)`` over every higher row (35 ms
at 1M). In a sorted set, top-N is ``ZREVRANGE`` and a rank is ``ZCOUNT (score +inf`` — both
O(log N). The database stays the truth:

* ``watchtime_credit`` applies each committed tick with one ``EVAL`` (all viewers, both sets).
  Ticks form a chain (``WatchSettings.last_tick_id``, written under a row lock in the credit
  transaction); the script applies a tick only when the mirror's last tick is its predecessor,
  is a no-op for a tick already in, and otherwise drops the mirror's meta (= stale).
* A stale or missing mirror makes the selectors answer from the database and schedules
  ``mirror_rebuild``, which copies the tables under the same row lock, so it never interleaves
  with a credit.

Keys: ``wt:<community>:meta`` (hash: last_tick, month), ``wt:<community>:total``,
``wt:<community>:month:<YYYY-MM>`` (expires 40 days after last written).
"""

from __future__ import annotations

import logging
from datetime import date
from typing import Any

from django.db import transaction
from django.utils import timezone

from kickbot.redis_client import get_redis, key

log = logging.getLogger(__name__)

MONTH_TTL_S = 40 * 86400
_CHUNK = 10_000

# KEYS: total, month, meta. ARGV: minutes, tick_id, prev_tick_id ('' = none), month label, ids...
_APPLY = """
local last = redis.call('HGET', KEYS[3], 'last_tick')
if last == ARGV[2] then return 1 end
if (not last) or last ~= ARGV[3] then
  redis.call('DEL', KEYS[3])
  return 0
end
if redis.call('HGET', KEYS[3], 'month') ~= ARGV[4] then
  redis.call('DEL', KEYS[2])
end
local m = tonumber(ARGV[1])
for i = 5, #ARGV do
  redis.call('ZINCRBY', KEYS[1], m, ARGV[i])
  redis.call('ZINCRBY', KEYS[2], m, ARGV[i])
end
redis.call('HSET', KEYS[3], 'last_tick', ARGV[2], 'month', ARGV[4])
redis.call('EXPIRE', KEYS[2], 3456000)  -- MONTH_TTL_S
return 1
"""

# KEYS: meta, zset. ARGV: expected month label ('' = all-time), member.
# Returns {ok, score or false, cardinality, count strictly above}.
_RANK = """
local month = redis.call('HGET', KEYS[1], 'month')
if (not month) or (ARGV[1] ~= '' and month ~= ARGV[1]) then return {0, false, 0, 0} end
local card = redis.call('ZCARD', KEYS[2])
local score = redis.call('ZSCORE', KEYS[2], ARGV[2])
if not score then return {1, false, card, 0} end
return {1, score, card, redis.call('ZCOUNT', KEYS[2], '(' .. score, '+inf')}
"""

# KEYS: meta, zset. ARGV: expected month label ('' = all-time), limit.
_TOP = """
local month = redis.call('HGET', KEYS[1], 'month')
if (not month) or (ARGV[1] ~= '' and month ~= ARGV[1]) then return {0, {}} end
return {1, redis.call('ZREVRANGE', KEYS[2], 0, tonumber(ARGV[2]) - 1, 'WITHSCORES')}
"""


def month_label(month: date) -> str:
    return f"{month:%Y-%m}"


def meta_key(community_id: int) -> str:
    return key("wt", community_id, "meta")


def total_key(community_id: int) -> str:
    return key("wt", community_id, "total")


def month_key(community_id: int, month: date) -> str:
    return key("wt", community_id, "month", month_label(month))


def _script(source: str) -> Any:
    return get_redis().register_script(source)


def mirror_apply(
    *, community_id: int, tick_id: int, prev_tick_id: int | None, month: date, minutes: int, ids: list[int]
) -> bool:
    """Add one committed tick to the mirror; False (and the mirror marked stale) when out of chain."""
    ok = _script(_APPLY)(
        keys=[total_key(community_id), month_key(community_id, month), meta_key(community_id)],
        args=[minutes, tick_id, "" if prev_tick_id is None else prev_tick_id, month_label(month), *ids],
    )
    return bool(ok)


def mirror_top(*, community_id: int, limit: int, month: date | None) -> list[tuple[int, int]] | None:
    """``[(kick_user_id, minutes)]`` best first, or None when the mirror cannot answer."""
    zset = total_key(community_id) if month is None else month_key(community_id, month)
    ok, flat = _script(_TOP)(
        keys=[meta_key(community_id), zset], args=["" if month is None else month_label(month), limit]
    )
    if not ok:
        return None
    return [(int(flat[i]), int(float(flat[i + 1]))) for i in range(0, len(flat), 2)]


def mirror_rank(*, community_id: int, kick_user_id: int, month: date | None) -> tuple[int, int, int] | None:
    """``(minutes, viewers above, total viewers)``; minutes 0 when unranked; None when stale."""
    zset = total_key(community_id) if month is None else month_key(community_id, month)
    ok, score, card, above = _script(_RANK)(
        keys=[meta_key(community_id), zset], args=["" if month is None else month_label(month), kick_user_id]
    )
    if not ok:
        return None
    if not score:
        return 0, int(card), int(card)
    return int(float(score)), int(above), int(card)


def mirror_rebuild_soon(*, community_id: int) -> None:
    """Schedule one rebuild (at most one queued per community per two minutes)."""
    if get_redis().set(key("wt", community_id, "rebuilding"), 1, nx=True, ex=120):
        from watchtime.tasks import watchtime_mirror_rebuild

        watchtime_mirror_rebuild.delay(community_id)


def _load(pipe_target: str, rows: Any) -> int:
    r = get_redis()
    r.delete(pipe_target)
    count = 0
    batch: dict[str, int] = {}
    for kick_user_id, minutes in rows:
        batch[str(kick_user_id)] = minutes
        if len(batch) >= _CHUNK:
            r.zadd(pipe_target, batch)
            count += len(batch)
            batch = {}
    if batch:
        r.zadd(pipe_target, batch)
        count += len(batch)
    return count


def mirror_rebuild(*, community_id: int) -> int:
    """Copy the totals (all-time and this month) into the mirror; returns the all-time row count.

    Holds the community's ``WatchSettings`` row lock while copying, so no credit commits in
    between; the copy goes to temporary keys that replace the live ones in one ``MULTI``.
    """
    from kickbot.models import Community
    from watchtime.models import WatchMonthly, WatchTotal
    from watchtime.services import community_month, watch_settings_get

    watch_settings_get(community_id=community_id)
    r = get_redis()
    tmp_total = key("wt", community_id, "tmp", "total")
    tmp_month = key("wt", community_id, "tmp", "month")
    with transaction.atomic():
        from watchtime.models import WatchSettings

        settings = WatchSettings.objects.select_for_update().get(community_id=community_id)
        community = Community.objects.only("timezone").get(pk=community_id)
        month = community_month(community=community, when=timezone.now())
        total_rows = WatchTotal.objects.filter(community_id=community_id).values_list(
            "kick_user_id", "minutes"
        )
        n = _load(tmp_total, total_rows.iterator(chunk_size=20_000))
        month_rows = WatchMonthly.objects.filter(community_id=community_id, month=month).values_list(
            "kick_user_id", "minutes"
        )
        m = _load(tmp_month, month_rows.iterator(chunk_size=20_000))
        pipe = r.pipeline(transaction=True)
        pipe.delete(meta_key(community_id), total_key(community_id), month_key(community_id, month))
        if n:
            pipe.rename(tmp_total, total_key(community_id))
        if m:
            pipe.rename(tmp_month, month_key(community_id, month))
            pipe.expire(month_key(community_id, month), MONTH_TTL_S)
        pipe.hset(
            meta_key(community_id),
            mapping={
                "last_tick": "" if settings.last_tick_id is None else str(settings.last_tick_id),
                "month": month_label(month),
            },
        )
        pipe.delete(key("wt", community_id, "rebuilding"))
        pipe.execute()
    log.info("rebuilt the watchtime mirror of community %s: %s viewers, %s this month", community_id, n, m)
    return n


def mirror_drop(*, community_id: int) -> None:
    """Forget the mirror (tests, and after bulk edits of the tables); the next read rebuilds it."""
    r = get_redis()
    r.delete(meta_key(community_id), total_key(community_id))
