"""The public proof document of a period, exactly as ``docs/draw-proof.md`` specifies (version 2).

Before the draw it holds only what is committed so far: never the server seed, and the
snapshot (entrants) only once the period is frozen. Periods committed under version 1 keep
their version number; the fields added by version 2 are present for them too.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from raffle.draw import Snapshot, build_snapshot, round_time
from raffle.models import RafflePeriod
from raffle.selectors import snapshot_rows, usernames_for


def proof_time(dt: datetime | None) -> str | None:
    """A time as the proof writes it (ISO 8601 in UTC with ``Z``): here and in the period's logs."""
    return dt.isoformat().replace("+00:00", "Z") if dt else None


def _emitted_at(round_no: int) -> str | None:
    return proof_time(datetime.fromtimestamp(round_time(round_no), tz=UTC))


def proof_document(period: RafflePeriod, *, snapshot: Snapshot | None = None) -> dict[str, Any]:
    """The proof dict of ``period`` (``select_related("community")`` it)."""
    used = period.fallback_round or period.drand_round
    doc: dict[str, Any] = {
        "version": period.algorithm_version,
        "community": period.community.kick_channel_slug,
        "period": {
            "id": period.pk,
            "starts_at": proof_time(period.starts_at),
            "ends_at": proof_time(period.ends_at),
            "status": period.status,
        },
        "rules": period.rules,
        "server_seed_hash": period.server_seed_hash,
        "committed_at": proof_time(period.committed_at),
        "drand": {
            "chain": "quicknet",
            "round": used,
            "committed_round": period.drand_round,
            "emitted_at": _emitted_at(used),
        },
        "fallback": {
            **period.fallback,
            "used": period.fallback_round is not None,
            "round": period.fallback_round,
            "switched_at": proof_time(period.fallback_chosen_at),
        },
        "draw_attempts": period.draw_attempts,
        "amendments": period.amendments,
    }
    if period.status == RafflePeriod.Status.OPEN:
        return doc
    snap = snapshot or build_snapshot(snapshot_rows(period_id=period.pk))
    doc["snapshot_hash"] = period.snapshot_hash
    doc["frozen_at"] = proof_time(period.frozen_at)
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
    doc["drawn_at"] = proof_time(period.drawn_at)
    winners = list(period.winners.order_by("k"))
    # The name is derived from the drawn Kick user id (the account's current name), never a
    # stored free text: what the draw picked is the id, and the id is what the verifiers check.
    names = usernames_for([w.kick_user_id for w in winners])
    doc["winners"] = [
        {
            "k": w.k,
            "ticket": w.ticket,
            "total": w.total,
            "kick_user_id": w.kick_user_id,
            "username": names.get(w.kick_user_id, ""),
            **({"void_reason": w.void_reason} if w.void_reason else {}),
        }
        for w in winners
    ]
    doc["rerolls"] = sum(1 for w in winners if w.void_reason)
    return doc
