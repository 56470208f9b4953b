"""Cross-source, cross-process event dedupe in Redis.

An event is "seen" if any of its keys (its source id, its semantic key; see
``Event.dedupe_keys()``) was recorded within ``ttl_s``. All keys are set in one pipeline, so
a duplicate arriving through another source or process is caught by the key they share.
"""

from __future__ import annotations

from typing import Any


async def seen_before(redis: Any, *, keys: list[str], prefix: str, ttl_s: int = 600) -> bool:
    """Record ``keys`` (SET NX EX ``ttl_s`` seconds); True if ANY of them already existed.

    ``prefix`` namespaces the keys per community, e.g. ``"kb:dedupe:<community id>"``. Not a
    transaction: two processes racing on disjoint keys of the same event can both see False,
    which cannot happen for one event id, the key both sources share in practice.
    """
    if not keys:
        raise ValueError("seen_before needs at least one key")
    if ttl_s <= 0:
        raise ValueError("ttl_s must be positive")
    unique = list(dict.fromkeys(keys))
    pipe = redis.pipeline(transaction=False)
    for key in unique:
        pipe.set(f"{prefix}:{key}", b"1", nx=True, ex=ttl_s)
    results = await pipe.execute()
    return any(not created for created in results)
