"""The Redis rank mirror: sorted sets of Kick user id → minutes, for all-time and each month.

Why: minutes are deliberately not indexed (HOT updates keep the per-minute write of 100k rows
fast), and even with an index a rank is a ``count(*)`` over every higher row (35 ms at 1M). In a
sorted set, top-N is ``ZREVRANGE`` and a rank is ``ZCOUNT (score +inf`` — both O(log N). The
database stays the truth:

* ``watchtime_credit`` gets the new month values back from its write (``RETURNING``);
  ``watchtime_mirror_update`` writes them after commit with ``ZADD GT`` (absolute values: a
  repeated or out-of-order write changes nothing) and adds the tick's minutes to each viewer's
  all-time score with ``ZINCRBY``. Increments are applied exactly once, in tick order: the meta
  hash holds the last tick applied in full (``last_tick``) and how many chunks of the tick in
  progress are in (``partial``); a chunk applies only if it is the next one of the tick that
  follows ``last_tick``. A repeated chunk is skipped; a gap (a tick whose write was lost, or two
  workers applying out of order) makes the script answer "stale" and the caller schedules a
  rebuild.
* The mirror is valid while ``wt:<community>:meta`` exists (written by a rebuild, with the month
  the rebuild loaded and the last tick it contains). Without it the selectors answer from the
  database and schedule a rebuild (``watchtime.tasks.mirror_rebuild_soon``):
  ``watchtime.credit.watchtime_mirror_rebuild`` reads the tables under the community's
  ``WatchSettings`` row lock (credits wait) and ``mirror_replace`` loads them into temporary keys
  that replace the live ones in one ``MULTI``.
* Month sets exist for the rebuild's month and every later month (written by credits from
  their first minute), so they are complete; earlier months come from the database.
* Anything that lowers minutes (a manual correction) must call ``mirror_drop``.

This module only talks to Redis: it is given the values to write and imports no other part of the
app (the database side is ``watchtime.credit``, the scheduling ``watchtime.tasks``).

Keys: ``wt:<community>:meta`` (hash: month, last_tick, partial), ``wt:<community>:total``,
``wt:<community>:month:<YYYY-MM>`` (expires 40 days after last written).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from datetime import date
from typing import Any

from redis.exceptions import RedisError

from kickbot.months import month_label
from kickbot.redis_client import get_redis, key

log = logging.getLogger(__name__)

MONTH_TTL_S = 40 * 86400
_CHUNK = 1_000  # viewers per script: ≤ 10 ms of Redis time (a ZINCRBY and a ZADD GT each)

# KEYS: meta, total, month. ARGV: tick id, previous tick id ('' = none), chunk index, chunk count,
# all-time increment, "id:minutes,..." month values of the chunk.
# Returns 1 when applied (or already applied), 0 when stale (no meta, or not the next chunk).
_APPLY = """
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
local last = redis.call('HGET', KEYS[1], 'last_tick') or ''
if last == ARGV[1] then return 1 end
if last ~= ARGV[2] then return 0 end
local done = 0
local partial = redis.call('HGET', KEYS[1], 'partial') or ''
if partial ~= '' then
  local tick, count = string.match(partial, '^(%d+):(%d+)$')
  if tick ~= ARGV[1] then return 0 end
  done = tonumber(count)
end
local chunk = tonumber(ARGV[3])
if chunk < done then return 1 end
if chunk > done then return 0 end
local batch, n = {}, 0
for id, minutes in string.gmatch(ARGV[6], '(%d+):(%d+)') do
  redis.call('ZINCRBY', KEYS[2], ARGV[5], id)
  batch[n + 1] = minutes
  batch[n + 2] = id
  n = n + 2
  if n >= 4000 then  -- unpack() is limited to a few thousand values
    redis.call('ZADD', KEYS[3], 'GT', unpack(batch, 1, n))
    n = 0
  end
end
if n > 0 then redis.call('ZADD', KEYS[3], 'GT', unpack(batch, 1, n)) end
redis.call('EXPIRE', KEYS[3], 3456000)  -- MONTH_TTL_S
if chunk + 1 >= tonumber(ARGV[4]) then
  redis.call('HSET', KEYS[1], 'last_tick', ARGV[1], 'partial', '')
else
  redis.call('HSET', KEYS[1], 'partial', ARGV[1] .. ':' .. (chunk + 1))
end
return 1
"""

# KEYS: meta, zset. ARGV: expected month label ('' = all-time), member.
# Returns {ok, score or false, cardinality, count strictly above}.
_RANK = """
local month = redis.call('HGET', KEYS[1], 'month')
if (not month) or (ARGV[1] ~= '' and ARGV[1] < month) then return {0, false, 0, 0} end
local card = redis.call('ZCARD', KEYS[2])
local score = redis.call('ZSCORE', KEYS[2], ARGV[2])
if not score then return {1, false, card, 0} end
return {1, score, card, redis.call('ZCOUNT', KEYS[2], '(' .. score, '+inf')}
"""

# KEYS: meta, zset. ARGV: expected month label ('' = all-time), limit.
_TOP = """
local month = redis.call('HGET', KEYS[1], 'month')
if (not month) or (ARGV[1] ~= '' and ARGV[1] < month) then return {0, {}} end
return {1, redis.call('ZREVRANGE', KEYS[2], 0, tonumber(ARGV[2]) - 1, 'WITHSCORES')}
"""


def meta_key(community_id: int) -> str:
    return key("wt", community_id, "meta")


def total_key(community_id: int) -> str:
    return key("wt", community_id, "total")


def month_key(community_id: int, month: date) -> str:
    return key("wt", community_id, "month", month_label(month))


def _script(source: str) -> Any:
    return get_redis().register_script(source)


def _chunks(packed: str, size: int) -> list[str]:
    items = packed.split(",") if packed else []
    return [",".join(items[i : i + size]) for i in range(0, len(items), size)] or [""]


def mirror_apply(
    *,
    community_id: int,
    month: date,
    tick_id: int | None,
    prev_tick_id: int | None,
    minutes: int,
    month_pairs: str,
) -> bool:
    """Apply one credited tick: month values (``"id:minutes,..."``) and ``minutes`` more all-time.

    False when the mirror is stale (no meta, or this tick does not follow the last one applied).
    Sent in scripts of ``_CHUNK`` viewers so Redis is never blocked for more than a few ms.
    """
    if tick_id is None:
        return False
    script = _script(_APPLY)
    keys = [meta_key(community_id), total_key(community_id), month_key(community_id, month)]
    chunks = _chunks(month_pairs, _CHUNK)
    prev = "" if prev_tick_id is None else str(prev_tick_id)
    for i, part in enumerate(chunks):
        if not script(keys=keys, args=[str(tick_id), prev, i, len(chunks), minutes, part]):
            return False
    return True


def mirror_top(*, community_id: int, limit: int, month: date | None) -> list[tuple[int, int]] | None:
    """``[(kick_user_id, minutes)]`` best first, or None when the mirror cannot answer."""
    zset = total_key(community_id) if month is None else month_key(community_id, month)
    try:
        ok, flat = _script(_TOP)(
            keys=[meta_key(community_id), zset], args=["" if month is None else month_label(month), limit]
        )
    except RedisError:  # Redis down: the caller answers from the database
        log.warning("watchtime mirror unavailable for community %s", community_id)
        return None
    if not ok:
        return None
    return [(int(flat[i]), int(float(flat[i + 1]))) for i in range(0, len(flat), 2)]


def mirror_rank(*, community_id: int, kick_user_id: int, month: date | None) -> tuple[int, int, int] | None:
    """``(minutes, viewers above, total viewers)``; minutes 0 when unranked; None when stale."""
    zset = total_key(community_id) if month is None else month_key(community_id, month)
    try:
        label = "" if month is None else month_label(month)
        keys = [meta_key(community_id), zset]
        ok, score, card, above = _script(_RANK)(keys=keys, args=[label, kick_user_id])
    except RedisError:
        log.warning("watchtime mirror unavailable for community %s", community_id)
        return None
    if not ok:
        return None
    if not score:
        return 0, int(card), int(card)
    return int(float(score)), int(above), int(card)


def mirror_rebuild_claim(*, community_id: int) -> bool:
    """Claim the one rebuild a community may have queued in the next two minutes (True: queue it).

    The claim goes when the rebuild swaps its copy in (``mirror_replace``) or after 120 s.
    """
    return bool(get_redis().set(key("wt", community_id, "rebuilding"), 1, nx=True, ex=120))


def _load(target: str, rows: Iterable[tuple[int, int]]) -> int:
    r = get_redis()
    r.delete(target)
    count = 0
    batch: dict[str, int] = {}
    for kick_user_id, minutes in rows:
        batch[str(kick_user_id)] = minutes
        if len(batch) >= _CHUNK:
            r.zadd(target, batch)
            count += len(batch)
            batch = {}
    if batch:
        r.zadd(target, batch)
        count += len(batch)
    return count


def mirror_replace(
    *,
    community_id: int,
    month: date,
    last_tick_id: int | None,
    totals: Iterable[tuple[int, int]],
    month_totals: Iterable[tuple[int, int]],
) -> tuple[int, int]:
    """Replace the mirror with ``totals`` (all-time) and ``month_totals`` (``month``), as of ``last_tick_id``.

    The caller reads them under the community's ``WatchSettings`` row lock, so no credit commits in
    between. The rows go to temporary keys that replace the live ones in one ``MULTI``, so a
    reader sees the old mirror or the new one. Returns the ``(all-time, month)`` row counts.
    """
    r = get_redis()
    tmp_total = key("wt", community_id, "tmp", "total")
    tmp_month = key("wt", community_id, "tmp", "month")
    n = _load(tmp_total, totals)
    m = _load(tmp_month, month_totals)
    pipe = r.pipeline(transaction=True)
    pipe.delete(meta_key(community_id), total_key(community_id), month_key(community_id, month))
    # A later month's set (credits after a month change) stays: it was complete already.
    if n:
        pipe.rename(tmp_total, total_key(community_id))
    if m:
        pipe.rename(tmp_month, month_key(community_id, month))
        pipe.expire(month_key(community_id, month), MONTH_TTL_S)
    pipe.hset(
        meta_key(community_id),
        mapping={
            "last_tick": "" if last_tick_id is None else str(last_tick_id),
            "partial": "",
            "month": month_label(month),
        },
    )
    pipe.delete(key("wt", community_id, "rebuilding"))
    pipe.execute()
    return n, m


def mirror_drop(*, community_id: int) -> None:
    """Forget the mirror (tests, and after bulk edits of the tables); the next read rebuilds it."""
    r = get_redis()
    r.delete(meta_key(community_id), total_key(community_id))
