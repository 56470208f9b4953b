"""raffle.draw against docs/draw-proof.md (the picking of versions 1 and 2) and its test vector."""

from __future__ import annotations

import hashlib
import hmac
import random

import pytest

from raffle import draw
from raffle.draw import (
    ALGORITHM_VERSION,
    Winner,
    build_snapshot,
    build_snapshot_columns,
    draw_winners,
    new_server_seed,
    pick_ticket,
    quicknet_round_at,
    round_time,
    seed_hash,
)

SEED = "11c4e7c42ccc1eb2fa6a8575b796c303ed2f78b81524f59159a0571ed3e7d1f4"
SEED_HASH = "6533c07e7902bbfdf364aeb481bbef4d39e9d5af7052bf42c691d3e541ad4d7c"
ENTRANTS = [(404, 64), (101, 10), (303, 1), (202, 25), (505, 0)]
SNAPSHOT = b"101,10\n202,25\n303,1\n404,64\n"
SNAPSHOT_HASH = "08b643ae8e2edac6c8648a30d0f99c043133e1c64fe4b818647c8b62f4645c84"
BEACON = "fc1873a13f3545aeade8401532ef5519920652eee6b0d2b19ca12643b87b3587"


def reference_winners(seed: str, entrants: list[tuple[int, int]], beacon: str, n: int) -> list[Winner]:
    """A literal, slow reading of docs/draw-proof.md to compare the fast code against."""
    rows = sorted((u, t) for u, t in entrants if t > 0)
    text = "".join(f"{u},{t}\n" for u, t in rows)
    snapshot_hash = hashlib.sha256(text.encode()).hexdigest()
    remaining = list(rows)
    out = []
    for k in range(n):
        total = sum(t for _, t in remaining)
        c = 0
        while True:
            h = hmac.new(bytes.fromhex(seed), f"{snapshot_hash}:{beacon}:{k}:{c}".encode(), "sha256").digest()
            x = int.from_bytes(h[:8], "big")
            if x < (2**64 // total) * total:
                ticket = x % total
                break
            c += 1
        start = 0
        for i, (u, t) in enumerate(remaining):
            if start <= ticket < start + t:
                out.append(Winner(k, ticket, total, u, t))
                del remaining[i]
                break
            start += t
    return out


def test_algorithm_version() -> None:
    assert ALGORITHM_VERSION == 2


def test_seed_hash_vector() -> None:
    assert seed_hash(SEED) == SEED_HASH


def test_new_server_seed_is_64_lowercase_hex_and_fresh() -> None:
    a, b = new_server_seed(), new_server_seed()
    assert len(a) == 64 and a == a.lower() and bytes.fromhex(a)
    assert a != b
    assert len(seed_hash(a)) == 64


@pytest.mark.parametrize("bad", ["", "ab", SEED.upper(), SEED[:-1] + "g", SEED + "00", 123])
def test_seed_hash_rejects_non_canonical_seed(bad: object) -> None:
    with pytest.raises(ValueError):
        seed_hash(bad)  # type: ignore[arg-type]


def test_snapshot_vector() -> None:
    snap = build_snapshot(ENTRANTS)
    assert snap.data == SNAPSHOT
    assert snap.snapshot_hash == SNAPSHOT_HASH
    assert snap.user_ids == [101, 202, 303, 404]
    assert snap.tickets == [10, 25, 1, 64]
    assert snap.cumulative == [10, 35, 36, 100]
    assert snap.total == 100 and len(snap) == 4
    assert list(snap.rows()) == [(101, 10, 0, 9), (202, 25, 10, 34), (303, 1, 35, 35), (404, 64, 36, 99)]
    assert snap.entrants() == [[101, 10], [202, 25], [303, 1], [404, 64]]
    assert snap.index_of_ticket(46) == 3 and snap.index_of_ticket(35) == 2


def test_snapshot_sorts_ids_as_integers_not_strings() -> None:
    snap = build_snapshot([(1000, 1), (99, 2), (5, 3)])
    assert snap.data == b"5,3\n99,2\n1000,1\n"


def test_snapshot_from_generator_columns_and_any_order_agree() -> None:
    shuffled = ENTRANTS[:]
    random.Random(3).shuffle(shuffled)
    a = build_snapshot(iter(shuffled))
    b = build_snapshot_columns([u for u, _ in ENTRANTS], [t for _, t in ENTRANTS])
    assert a.data == b.data == SNAPSHOT


def test_large_ticket_counts_and_ids_are_formatted_exactly() -> None:
    rows = [(2**40 + 7, 123_456_789), (3, 20_000), (17, 16_383), (18, 16_384)]
    snap = build_snapshot(rows)
    assert snap.data == b"3,20000\n17,16383\n18,16384\n1099511627783,123456789\n"


def test_empty_and_all_zero_snapshots() -> None:
    empty_hash = hashlib.sha256(b"").hexdigest()
    for entrants in ([], [(1, 0), (2, 0)]):
        snap = build_snapshot(entrants)
        assert snap.data == b"" and snap.snapshot_hash == empty_hash and snap.total == 0
        assert draw_winners(SEED, snap, BEACON, 0) == []
        with pytest.raises(ValueError):
            draw_winners(SEED, snap, BEACON, 1)


@pytest.mark.parametrize(
    "entrants",
    [
        [(1, 5), (1, 6)],  # duplicate user id
        [(2, 5), (1, 1), (2, 7)],  # duplicate, unsorted
        [(1, -1)],  # negative tickets
        [(-1, 3)],  # negative id
        [(1.0, 3)],  # float id
        [(1, 2.5)],  # float tickets
        [("7", 3)],  # string id
        [(True, 3)],  # bool id
        [(1, True)],  # bool tickets
        [(1, 2, 3)],  # not a pair
        [(1,)],  # not a pair
        [7],  # not a pair at all
    ],
)
def test_snapshot_rejects_bad_input(entrants: list) -> None:
    with pytest.raises(ValueError):
        build_snapshot(entrants)


def test_changing_one_ticket_changes_the_snapshot_hash() -> None:
    changed = [(404, 63), (101, 10), (303, 1), (202, 25)]
    assert build_snapshot(changed).snapshot_hash != SNAPSHOT_HASH


def test_pick_ticket_vector() -> None:
    assert pick_ticket(SEED, SNAPSHOT_HASH, BEACON, 0, 100) == (46, 0)
    assert pick_ticket(SEED, SNAPSHOT_HASH, BEACON, 1, 36)[0] == 16
    assert pick_ticket(SEED, SNAPSHOT_HASH, BEACON, 2, 11)[0] == 6


def test_winners_vector() -> None:
    winners = draw_winners(SEED, build_snapshot(ENTRANTS), BEACON, 3)
    assert winners == [
        Winner(k=0, ticket=46, total=100, kick_user_id=404, tickets=64),
        Winner(k=1, ticket=16, total=36, kick_user_id=202, tickets=25),
        Winner(k=2, ticket=6, total=11, kick_user_id=101, tickets=10),
    ]


def test_a_reroll_is_the_next_k() -> None:
    snap = build_snapshot(ENTRANTS)
    assert draw_winners(SEED, snap, BEACON, 4)[:3] == draw_winners(SEED, snap, BEACON, 3)
    assert draw_winners(SEED, snap, BEACON, 4)[3] == Winner(3, 0, 1, 303, 1)
    with pytest.raises(ValueError):
        draw_winners(SEED, snap, BEACON, 5)


def test_changing_the_beacon_changes_the_draw() -> None:
    snap = build_snapshot(ENTRANTS)
    other = hashlib.sha256(b"another beacon").hexdigest()
    tickets = [pick_ticket(SEED, SNAPSHOT_HASH, b, 0, 100)[0] for b in (BEACON, other)]
    assert tickets[0] == 46 and tickets[1] != 46
    assert draw_winners(SEED, snap, other, 3) == reference_winners(SEED, ENTRANTS, other, 3)


def test_rejection_sampling_with_real_hmac() -> None:
    """With T = 2**63 + 1 about half of all x are >= limit, so some k needs c >= 1."""
    total = 2**63 + 1
    limit = (2**64 // total) * total
    assert limit == total  # x in [T, 2**64) is rejected
    key = bytes.fromhex(SEED)

    def x_of(k: int, c: int) -> int:
        msg = f"{SNAPSHOT_HASH}:{BEACON}:{k}:{c}".encode()
        return int.from_bytes(hmac.new(key, msg, "sha256").digest()[:8], "big")

    k = next(k for k in range(200) if x_of(k, 0) >= limit)
    ticket, c = pick_ticket(SEED, SNAPSHOT_HASH, BEACON, k, total)
    assert c >= 1
    assert all(x_of(k, i) >= limit for i in range(c)) and x_of(k, c) < limit
    assert ticket == x_of(k, c) % total
    # A k accepted at once reports c == 0.
    k0 = next(k for k in range(200) if x_of(k, 0) < limit)
    assert pick_ticket(SEED, SNAPSHOT_HASH, BEACON, k0, total) == (x_of(k0, 0) % total, 0)


def test_rejection_sampling_loop_with_injected_hmac() -> None:
    messages: list[bytes] = []

    def fake(key: bytes, msg: bytes) -> bytes:
        messages.append(msg)
        if msg.endswith(b":0"):
            return b"\xff" * 32  # x = 2**64 - 1 >= (2**64 // 3) * 3: rejected
        return (5).to_bytes(8, "big") + b"\x00" * 24

    assert pick_ticket(SEED, SNAPSHOT_HASH, BEACON, 2, 3, hmac_fn=fake) == (2, 1)
    assert messages == [f"{SNAPSHOT_HASH}:{BEACON}:2:0".encode(), f"{SNAPSHOT_HASH}:{BEACON}:2:1".encode()]
    # The bound itself: x == limit - 1 is accepted, x == limit is not.
    limit = (2**64 // 3) * 3
    seq = iter([limit, limit - 1])
    assert pick_ticket(
        SEED, SNAPSHOT_HASH, BEACON, 0, 3, hmac_fn=lambda k, m: next(seq).to_bytes(8, "big")
    ) == ((limit - 1) % 3, 1)


def test_pick_ticket_rejects_bad_arguments() -> None:
    for args in [
        (SEED, SNAPSHOT_HASH, BEACON, 0, 0),
        (SEED, SNAPSHOT_HASH, BEACON, 0, 2**64 + 1),
        (SEED, SNAPSHOT_HASH, BEACON, -1, 10),
        (SEED, SNAPSHOT_HASH.upper(), BEACON, 0, 10),
        (SEED, SNAPSHOT_HASH, BEACON[:-2], 0, 10),
    ]:
        with pytest.raises(ValueError):
            pick_ticket(*args)


def test_fast_winner_removal_matches_the_literal_algorithm() -> None:
    rng = random.Random(11)
    for _ in range(40):
        n = rng.randint(1, 30)
        ids = rng.sample(range(1, 10_000), n)
        entrants = [(u, rng.choice([0, 1, 1, 2, 5, 50, 1000])) for u in ids]
        snap = build_snapshot(entrants)
        seed = new_server_seed()
        beacon = hashlib.sha256(seed.encode()).hexdigest()
        count = len(snap)
        assert draw_winners(seed, snap, beacon, count) == reference_winners(seed, entrants, beacon, count)


def test_quicknet_rounds() -> None:
    g = draw.QUICKNET_GENESIS_TIME
    assert quicknet_round_at(g) == 1
    assert quicknet_round_at(g - 1000) == 1
    assert quicknet_round_at(g + 0.001) == 2
    assert quicknet_round_at(g + 3) == 2
    assert quicknet_round_at(g + 3.5) == 3
    assert quicknet_round_at(g + 6) == 3
    assert round_time(1) == g
    assert round_time(657413) == g + 657412 * 3
    for r in (1, 2, 657413, 10_000_000):
        assert quicknet_round_at(round_time(r)) == r
        assert quicknet_round_at(round_time(r) - 0.25) == r
        assert quicknet_round_at(round_time(r) + 0.25) == r + 1
    with pytest.raises(ValueError):
        round_time(0)
    with pytest.raises(ValueError):
        quicknet_round_at(float("nan"))
