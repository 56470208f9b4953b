"""The public proof document of a period, exactly as ``DRAW-PROOF.md`` specifies.

Before the draw it holds only what is committed so far: never the server seed, and the
snapshot (entrants) only once the period is frozen.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from raffle.draw import Snapshot, build_snapshot
from raffle.models import RafflePeriod
from raffle.selectors import snapshot_rows


def _iso(dt: datetime | None) -> str | None:
    return dt.isoformat().replace("+00:00", "Z") if dt else None


def proof_document(period: RafflePeriod, *, snapshot: Snapshot | None = None) -> dict[str, Any]:
    """The proof dict of ``period`` (``select_related("community")`` it)."""
    doc: dict[str, Any] = {
        "version": period.algorithm_version,
        "community": period.community.kick_channel_slug,
        "period": {
            "id": period.pk,
            "starts_at": _iso(period.starts_at),
            "ends_at": _iso(period.ends_at),
            "status": period.status,
        },
        "rules": period.rules,
        "server_seed_hash": period.server_seed_hash,
        "committed_at": _iso(period.committed_at),
        "drand": {"chain": "quicknet", "round": period.fallback_round or period.drand_round},
        "fallback": period.fallback,
    }
    if period.fallback_round is not None:
        doc["drand"]["committed_round"] = period.drand_round
        doc["drand"]["fallback_chosen_at"] = _iso(period.fallback_chosen_at)
    if period.amendments:
        doc["amendments"] = period.amendments
    if period.status == RafflePeriod.Status.OPEN:
        return doc
    snap = snapshot or build_snapshot(snapshot_rows(period_id=period.pk))
    doc["snapshot_hash"] = period.snapshot_hash
    doc["frozen_at"] = _iso(period.frozen_at)
    doc["entrants"] = snap.entrants()
    if period.status != RafflePeriod.Status.DRAWN:
        return doc
    doc["drand"].update(
        {
            "round": period.beacon_round,
            "signature": period.beacon_signature,
            "randomness": period.beacon_randomness,
        }
    )
    doc["server_seed"] = period.server_seed
    doc["drawn_at"] = _iso(period.drawn_at)
    doc["winners"] = [
        {
            "k": w.k,
            "ticket": w.ticket,
            "total": w.total,
            "kick_user_id": w.kick_user_id,
            "username": w.username,
            **({"void_reason": w.void_reason} if w.void_reason else {}),
        }
        for w in period.winners.order_by("k")
    ]
    return doc
