"""Cross-source, cross-process event dedupe in Redis.

An event is "seen" if any of its keys (its source id, its semantic key; see
``Event.dedupe_keys()``) is recorded. Keys are set with one script call per batch, so a duplicate
arriving through another source or process is caught by the key they share, and a batch of
thousands costs one command. The pipeline first *claims* keys for a short time, then *keeps*
them for the dedupe window once the event is handled, or *releases* them when handling failed.

A claim carries a token (one per batch): a claim retried with the same token (redis-py retries a
command whose answer was lost; the pipeline retries a batch after a Redis outage) gets its own keys
back instead of taking its own events for duplicates.
"""

from __future__ import annotations

import uuid
from typing import Any

# SET key token NX EX ttl for every key; returns 1 where the key was new or already held by this
# token, 0 where it existed (or came earlier in this same call: a duplicate inside one batch).
SET_NX_MANY = """
local out, seen = {}, {}
for i, k in ipairs(KEYS) do
  if seen[k] then
    out[i] = 0
  else
    seen[k] = true
    if redis.call('SET', k, ARGV[2], 'NX', 'EX', ARGV[1]) then
      out[i] = 1
    elseif redis.call('GET', k) == ARGV[2] then
      out[i] = 1
    else
      out[i] = 0
    end
  end
end
return out
"""
# SET every key for the dedupe window (handled events). SET, not EXPIRE: a key that a Redis restart
# wiped between the claim and now is written again, so a later copy of the event is still caught.
KEEP_MANY = """
for i, k in ipairs(KEYS) do
  redis.call('SET', k, '1', 'EX', ARGV[1])
end
return #KEYS
"""

# DEL every key that still holds this claim's token (a failed or abandoned event): a claim that
# expired meanwhile may have been taken, or the event handled and kept, by another process.
RELEASE_MANY = """
local n = 0
for i, k in ipairs(KEYS) do
  if redis.call('GET', k) == ARGV[1] then
    n = n + redis.call('DEL', k)
  end
end
return n
"""


def claim_token() -> str:
    """A claim's own value: unique, and never ``"1"`` (the value of a kept key)."""
    return f"c:{uuid.uuid4().hex}"


class Dedupe:
    """Dedupe keys under ``prefix`` (e.g. ``"kb:dedupe:<community id>"``)."""

    def __init__(self, redis: Any, *, prefix: str) -> None:
        self.redis = redis
        self.prefix = prefix
        self._set_nx = redis.register_script(SET_NX_MANY)
        self._keep = redis.register_script(KEEP_MANY)
        self._release = redis.register_script(RELEASE_MANY)

    def names(self, keys: list[str]) -> list[str]:
        return [f"{self.prefix}:{k}" for k in dict.fromkeys(keys)]

    async def claim(self, groups: list[list[str]], *, ttl_s: int, token: str | None = None) -> list[bool]:
        """Set every key of every group NX for ``ttl_s``; per group, True when all its keys were new.

        Groups are checked in order, so a duplicate inside the same batch is caught too. A key that
        holds ``token`` already counts as new (a retry of the same claim): pass the same token when
        retrying a batch (:func:`claim_token`); without one, every call is its own claim. Not a
        transaction across groups: two processes racing on disjoint keys of one event could both
        win, which cannot happen for one event id, the key both sources share in practice.
        """
        return await self.claim_names([self.names(keys) for keys in groups], ttl_s=ttl_s, token=token)

    async def claim_names(
        self, named: list[list[str]], *, ttl_s: int, token: str | None = None
    ) -> list[bool]:
        """:meth:`claim` for groups already turned into key names (:meth:`names`)."""
        if ttl_s <= 0:
            raise ValueError("ttl_s must be positive")
        token = token or claim_token()
        created = iter(await self._set_nx(keys=[n for names in named for n in names], args=[ttl_s, token]))
        return [all([next(created) for _ in names]) for names in named]

    async def keep(self, names: list[str], *, ttl_s: int) -> None:
        if names:
            await self._keep(keys=names, args=[ttl_s])

    async def release(self, names: list[str], *, token: str) -> None:
        """Free the keys this claim (``token``) still holds; keys someone else holds now stay."""
        if names:
            await self._release(keys=names, args=[token])
