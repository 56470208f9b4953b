"""Cross-source, cross-process event dedupe in Redis.

An event is "seen" if any of its keys (its source id, its semantic key; see
``Event.dedupe_keys()``) is recorded. Keys are set with one script call per batch, so a duplicate
arriving through another source or process is caught by the key they share, and a batch of
thousands costs one command. The pipeline first *claims* keys for a short time, then *keeps*
them for the dedupe window once the event is handled, or *releases* them when handling failed.
"""

from __future__ import annotations

from typing import Any

# SET key 1 NX EX ttl for every key; returns 1 where the key was new, 0 where it existed.
SET_NX_MANY = """
local out = {}
for i, k in ipairs(KEYS) do
  out[i] = redis.call('SET', k, '1', 'NX', 'EX', ARGV[1]) and 1 or 0
end
return out
"""
# EXPIRE every key (handled events: the claim becomes the full dedupe window).
EXPIRE_MANY = """
for i, k in ipairs(KEYS) do
  redis.call('EXPIRE', k, ARGV[1])
end
return #KEYS
"""


class Dedupe:
    """Dedupe keys under ``prefix`` (e.g. ``"kb:dedupe:<community id>"``)."""

    def __init__(self, redis: Any, *, prefix: str) -> None:
        self.redis = redis
        self.prefix = prefix
        self._set_nx = redis.register_script(SET_NX_MANY)
        self._expire = redis.register_script(EXPIRE_MANY)

    def names(self, keys: list[str]) -> list[str]:
        return [f"{self.prefix}:{k}" for k in dict.fromkeys(keys)]

    async def claim(self, groups: list[list[str]], *, ttl_s: int) -> list[bool]:
        """Set every key of every group NX for ``ttl_s``; per group, True when all its keys were new.

        Groups are checked in order, so a duplicate inside the same batch is caught too. Not a
        transaction across groups: two processes racing on disjoint keys of one event could both
        win, which cannot happen for one event id, the key both sources share in practice.
        """
        if ttl_s <= 0:
            raise ValueError("ttl_s must be positive")
        named = [self.names(keys) for keys in groups]
        created = iter(await self._set_nx(keys=[n for names in named for n in names], args=[ttl_s]))
        return [all([next(created) for _ in names]) for names in named]

    async def keep(self, names: list[str], *, ttl_s: int) -> None:
        if names:
            await self._expire(keys=names, args=[ttl_s])

    async def release(self, names: list[str]) -> None:
        if names:
            await self.redis.delete(*names)


async def seen_before(redis: Any, *, keys: list[str], prefix: str, ttl_s: int = 600) -> bool:
    """Record ``keys`` (SET NX EX ``ttl_s`` seconds); True if ANY of them already existed."""
    if not keys:
        raise ValueError("seen_before needs at least one key")
    [fresh] = await Dedupe(redis, prefix=prefix).claim([keys], ttl_s=ttl_s)
    return not fresh
