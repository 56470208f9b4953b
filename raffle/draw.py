"""Verifiable draw: exactly the algorithm of ``docs/draw-proof.md`` (a public interface).

Pure code, no Django: the raffle service, ``manage.py verifydraw`` and the tests call it.
The standalone viewer verifier (``static/raffle/verify_draw.py``) re-implements the same steps
independently on purpose; the tests check that both agree.

Summary of the algorithm:

- ``server_seed``: 32 random bytes as 64 lowercase hex; committed as
  ``server_seed_hash = sha256(bytes.fromhex(server_seed))``.
- snapshot: entrants with tickets > 0 sorted by ``kick_user_id`` (as integers), one
  ``"{kick_user_id},{tickets}\\n"`` line each; ``snapshot_hash = sha256(snapshot_bytes)``.
  Entrant i holds the tickets ``[sum of earlier tickets, that + its own)``.
- winner k: ``remaining`` = the snapshot without the earlier winners, ``T`` = their total;
  for c = 0, 1, ...: ``h = HMAC_SHA256(seed, f"{snapshot_hash}:{beacon}:{k}:{c}")``,
  ``x = int(h[:8], big endian)``, accept ``ticket = x % T`` when ``x < (2**64 // T) * T``.
"""

from __future__ import annotations

import hashlib
import hmac
import math
import re
import secrets
from bisect import bisect_right, insort
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from fractions import Fraction
from itertools import accumulate, compress, islice
from operator import itemgetter, lt

# 2: the same picking as 1, with the commitment rules of docs/draw-proof.md (book closed by time,
# round emitted at least the margin after the close, capped rerolls, rule-based fallback).
ALGORITHM_VERSION = 2

QUICKNET_CHAIN_HASH = "52db9ba70e0cc0f6eaf7803dd07447a1f5477735fd3f661792ba94600c84e971"
QUICKNET_GENESIS_TIME = 1692803367
QUICKNET_PERIOD_S = 3

_TWO_64 = 1 << 64
_HEX64 = re.compile(r"[0-9a-f]{64}")
# Rejection sampling stops at the first c with x < limit; each try fails with probability < 1/2,
# so this bound is never reached by HMAC-SHA256 (it only stops a broken injected function).
_MAX_ATTEMPTS = 256

HmacFn = Callable[[bytes, bytes], bytes]


def _hmac_sha256(key: bytes, msg: bytes) -> bytes:
    return hmac.digest(key, msg, "sha256")


def _check_hex64(name: str, value: object) -> str:
    if not isinstance(value, str) or not _HEX64.fullmatch(value):
        raise ValueError(f"{name} must be 64 lowercase hex characters")
    return value


def new_server_seed() -> str:
    """A fresh server seed: 32 bytes from ``secrets`` as 64 lowercase hex characters."""
    return secrets.token_hex(32)


def seed_hash(server_seed_hex: str) -> str:
    """The commitment published at period open: ``sha256(bytes.fromhex(server_seed))`` (hex)."""
    return hashlib.sha256(bytes.fromhex(_check_hex64("server_seed", server_seed_hex))).hexdigest()


@dataclass(frozen=True, slots=True, eq=False)
class Snapshot:
    """The canonical snapshot. Lists are parallel and sorted by ``user_ids`` ascending.

    ``cumulative[i]`` is the end (exclusive) of entrant i's ticket range, so entrant i holds
    ``[cumulative[i] - tickets[i], cumulative[i])``.
    """

    user_ids: list[int]
    tickets: list[int]
    cumulative: list[int]
    data: bytes
    snapshot_hash: str

    @property
    def total(self) -> int:
        return self.cumulative[-1] if self.cumulative else 0

    def __len__(self) -> int:
        return len(self.user_ids)

    def first_ticket(self, i: int) -> int:
        return self.cumulative[i] - self.tickets[i]

    def index_of_ticket(self, ticket: int) -> int:
        """Index of the entrant whose range holds ``ticket`` (all entrants, none removed)."""
        if not 0 <= ticket < self.total:
            raise ValueError("ticket out of range")
        return bisect_right(self.cumulative, ticket)

    def rows(self) -> Iterator[tuple[int, int, int, int]]:
        """``(user_id, tickets, first_ticket, last_ticket)`` rows, last_ticket inclusive."""
        for uid, n, end in zip(self.user_ids, self.tickets, self.cumulative, strict=True):
            yield uid, n, end - n, end - 1

    def entrants(self) -> list[list[int]]:
        """The proof document's ``entrants`` list: ``[[kick_user_id, tickets], ...]``."""
        return [[uid, n] for uid, n in zip(self.user_ids, self.tickets, strict=True)]


@dataclass(frozen=True, slots=True)
class Winner:
    k: int
    ticket: int
    total: int
    kick_user_id: int
    tickets: int


_EMPTY_HASH = hashlib.sha256(b"").hexdigest()


def build_snapshot(entrants: Iterable[tuple[int, int]]) -> Snapshot:
    """Build the canonical snapshot from ``(kick_user_id, tickets)`` pairs.

    Entrants with 0 tickets are dropped. Duplicate user ids, negative values, values that are
    not ``int`` (floats, strings, bools) and items that are not pairs raise ``ValueError``.
    Cost: the two columns, then :func:`build_snapshot_columns`.
    """
    items = entrants if isinstance(entrants, list) else list(entrants)
    try:
        if items and set(map(len, items)) != {2}:
            raise ValueError("not a pair")
        ids = list(map(itemgetter(0), items))
        tix = list(map(itemgetter(1), items))
    except (TypeError, ValueError, LookupError) as exc:
        raise ValueError("each entrant must be a (kick_user_id, tickets) pair") from exc
    return _build_columns(ids, tix)


def _snapshot(ids: list[int], tix: list[int], text: str) -> Snapshot:
    data = text.encode("ascii")
    return Snapshot(
        user_ids=ids,
        tickets=tix,
        cumulative=list(accumulate(tix)),
        data=data,
        snapshot_hash=hashlib.sha256(data).hexdigest(),
    )


def build_snapshot_columns(user_ids: Sequence[int], tickets: Sequence[int]) -> Snapshot:
    """The same as :func:`build_snapshot` from two parallel columns.

    Cost: a few C-level passes over the columns (type, sign and order checks, one ``%``
    format of all the lines at once, one SHA-256, one ``accumulate``); no Python-level loop per
    entrant. Input that is already sorted by user id skips the sort.
    """
    return _build_columns(list(user_ids), list(tickets))


def _build_columns(ids: list[int], tix: list[int]) -> Snapshot:
    """:func:`build_snapshot_columns` on lists of its own (it may replace them, never mutates them)."""
    if len(ids) != len(tix):
        raise ValueError("user_ids and tickets differ in length")
    if not ids:
        return Snapshot([], [], [], b"", _EMPTY_HASH)
    # Exact ints only: bool, float, str, Decimal... are rejected (bool would print "True").
    if set(map(type, ids)) != {int} or set(map(type, tix)) != {int}:
        raise ValueError("kick_user_id and tickets must be int")
    # Strictly increasing means sorted and free of duplicates in one pass (then min is the first).
    increasing = all(map(lt, ids, islice(ids, 1, None)))
    if (ids[0] if increasing else min(ids)) < 0:
        raise ValueError("kick_user_id must not be negative")
    low = min(tix)
    if low < 0:
        raise ValueError("tickets must not be negative")
    if low == 0:
        ids = list(compress(ids, tix))
        tix = list(filter(None, tix))
        if not ids:
            return Snapshot([], [], [], b"", _EMPTY_HASH)
    if not increasing and not all(map(lt, ids, islice(ids, 1, None))):
        order = sorted(range(len(ids)), key=ids.__getitem__)
        ids = list(map(ids.__getitem__, order))
        tix = list(map(tix.__getitem__, order))
        if not all(map(lt, ids, islice(ids, 1, None))):
            raise ValueError("duplicate kick_user_id in entrants")

    # Every line in one ``%`` call over the interleaved columns: C formats the numbers straight
    # into one string, where a line per entrant (f-string, str(), join) made a million objects.
    # ``%d`` of an exact non-negative int is its decimal string, the same as ``str``.
    n = len(ids)
    flat: list[int] = [0] * (2 * n)
    flat[0::2] = ids
    flat[1::2] = tix
    return _snapshot(ids, tix, ("%d,%d\n" * n) % tuple(flat))


def pick_ticket(
    server_seed_hex: str,
    snapshot_hash: str,
    beacon_hex: str,
    k: int,
    total: int,
    *,
    hmac_fn: HmacFn | None = None,
) -> tuple[int, int]:
    """Pick the ticket for winner ``k`` out of ``total``: returns ``(ticket, c)``.

    ``c`` is the attempt counter that was accepted (0 unless rejection sampling rejected
    earlier tries). ``hmac_fn(key, msg)`` can be injected by tests; it defaults to HMAC-SHA256.
    """
    key = bytes.fromhex(_check_hex64("server_seed", server_seed_hex))
    _check_hex64("snapshot_hash", snapshot_hash)
    _check_hex64("beacon", beacon_hex)
    if type(k) is not int or k < 0:
        raise ValueError("k must be a non-negative int")
    if type(total) is not int or not 0 < total <= _TWO_64:
        raise ValueError("total must be an int in 1..2**64")
    digest = hmac_fn or _hmac_sha256
    limit = (_TWO_64 // total) * total
    prefix = f"{snapshot_hash}:{beacon_hex}:{k}:"
    for c in range(_MAX_ATTEMPTS):
        x = int.from_bytes(digest(key, f"{prefix}{c}".encode("ascii"))[:8], "big")
        if x < limit:
            return x % total, c
    raise RuntimeError("rejection sampling did not terminate")


def _locate(snapshot: Snapshot, removed: list[int], ticket: int) -> int:
    """Index (in the full snapshot) of the entrant of ``remaining`` holding ``ticket``.

    ``removed`` holds the sorted indices of earlier winners. Walking them in order shifts the
    remaining-space ticket back into full-snapshot space, so no cumulative list is rebuilt.
    """
    cum, tix = snapshot.cumulative, snapshot.tickets
    pos = ticket
    for j in removed:
        if cum[j] - tix[j] <= pos:
            pos += tix[j]
        else:
            break
    return bisect_right(cum, pos)


def draw_winners(
    server_seed_hex: str,
    snapshot: Snapshot,
    beacon_hex: str,
    n_winners: int,
    *,
    hmac_fn: HmacFn | None = None,
) -> list[Winner]:
    """Winners k = 0 .. n_winners-1; each later k is drawn without the earlier winners.

    A reroll is the next k: call again with ``n_winners + 1`` and take the last winner.
    Asking for more winners than entrants raises ``ValueError``.
    """
    if type(n_winners) is not int or n_winners < 0:
        raise ValueError("n_winners must be a non-negative int")
    if n_winners > len(snapshot):
        raise ValueError(f"cannot draw {n_winners} winners from {len(snapshot)} entrants")
    removed: list[int] = []
    removed_total = 0
    winners: list[Winner] = []
    for k in range(n_winners):
        total = snapshot.total - removed_total
        ticket, _c = pick_ticket(
            server_seed_hex, snapshot.snapshot_hash, beacon_hex, k, total, hmac_fn=hmac_fn
        )
        idx = _locate(snapshot, removed, ticket)
        insort(removed, idx)
        removed_total += snapshot.tickets[idx]
        winners.append(
            Winner(
                k=k,
                ticket=ticket,
                total=total,
                kick_user_id=snapshot.user_ids[idx],
                tickets=snapshot.tickets[idx],
            )
        )
    return winners


def quicknet_round_at(ts: float) -> int:
    """The first quicknet round emitted at or after unix time ``ts``.

    Round r is emitted at ``genesis + (r - 1) * 3``; times before genesis give round 1.
    """
    if isinstance(ts, bool) or not isinstance(ts, int | float) or not math.isfinite(ts):
        raise ValueError("ts must be a finite number")
    offset = Fraction(ts) - QUICKNET_GENESIS_TIME
    if offset <= 0:
        return 1
    return math.ceil(offset / QUICKNET_PERIOD_S) + 1


def round_time(round: int) -> float:
    """Unix time at which quicknet ``round`` (>= 1) is emitted."""
    if type(round) is not int or round < 1:
        raise ValueError("round must be an int >= 1")
    return float(QUICKNET_GENESIS_TIME + (round - 1) * QUICKNET_PERIOD_S)
