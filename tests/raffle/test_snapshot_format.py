"""The snapshot's one-call ``%`` formatting writes exactly the lines docs/draw-proof.md defines."""

from __future__ import annotations

import hashlib
import random

import pytest

from raffle.draw import build_snapshot, build_snapshot_columns


def _reference(pairs: list[tuple[int, int]]) -> bytes:
    """The definition, written the plain way: sorted by id, zero tickets dropped, one line each."""
    return "".join(f"{uid},{n}\n" for uid, n in sorted(pairs) if n).encode()


@pytest.mark.parametrize("seed", range(6))
def test_snapshot_bytes_match_the_definition_for_any_sizes_and_order(seed: int) -> None:
    rng = random.Random(seed)
    ids = list(
        {rng.getrandbits(rng.choice([8, 32, 63, 70])) for _ in range(400)} | {0, 1, 9, 10, 2**63 - 1, 2**64}
    )
    pairs = [(uid, rng.choice([0, 1, 9, 10, 99, 16_383, 16_384, 2**31, 2**64 + 5])) for uid in ids]
    rng.shuffle(pairs)
    expected = _reference(pairs)
    for snap in (
        build_snapshot(pairs),
        build_snapshot(iter(pairs)),
        build_snapshot(sorted(pairs)),
        build_snapshot_columns([u for u, _ in pairs], [n for _, n in pairs]),
    ):
        assert snap.data == expected
        assert snap.snapshot_hash == hashlib.sha256(expected).hexdigest()
        kept = [(u, n) for u, n in sorted(pairs) if n]
        assert snap.user_ids == [u for u, _ in kept] and snap.tickets == [n for _, n in kept]


def test_snapshot_columns_are_lists_of_their_own() -> None:
    ids, tickets = [3, 1, 2], [1, 1, 1]
    snap = build_snapshot_columns(ids, tickets)
    assert (ids, tickets) == ([3, 1, 2], [1, 1, 1])  # the caller's lists are not reordered
    assert snap.user_ids == [1, 2, 3] and type(snap.user_ids) is list and type(snap.tickets) is list


@pytest.mark.parametrize(
    "entrants",
    [
        [(1, 5), {2: 3, 4: 5}],  # a mapping of two keys is not a pair
        [(1, 5), "ab"],  # a two-character string is not a pair of ints
        [(-1, 0), (2, 3)],  # a negative id is refused even with zero tickets
    ],
)
def test_snapshot_rejects_near_pairs(entrants: list) -> None:
    with pytest.raises(ValueError):
        build_snapshot(entrants)
