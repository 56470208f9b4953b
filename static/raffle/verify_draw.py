#!/usr/bin/env python3
"""Verify a kickbot raffle draw yourself: ``python verify_draw.py proof.json``.

One file, Python 3.9+ standard library only. Download the proof document from
``/raffle/<period id>/proof.json`` and run this script on it. It re-does every step of the
published algorithm (draw proof version 1) and prints PASS or FAIL for each check:

1. the revealed server seed matches the hash committed when the period opened;
2. the snapshot rebuilt from the listed entrants has the published snapshot hash;
3. the drand beacon value is SHA-256 of the drand signature, and, if the optional
   ``drand_verify`` package is installed (``pip install drand-verify``), the signature is a
   valid drand quicknet signature for that round (otherwise this check says it was skipped);
4. the winners recomputed from seed, snapshot and beacon are the published winners.

Exit status 0 when every check that ran passed, 1 otherwise. ``--json`` prints the checks as
JSON instead. This script is deliberately independent of the bot's own code.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
import sys

HEX64 = re.compile(r"^[0-9a-f]{64}$")
HEX_SIG = re.compile(r"^[0-9a-fA-F]{96}$")  # quicknet: a compressed G1 point, 48 bytes
TWO_64 = 2**64


class Check:
    def __init__(self, name, ok, detail):
        self.name = name
        self.ok = ok  # True, False, or None when skipped
        self.detail = detail

    def as_dict(self):
        return {"name": self.name, "ok": self.ok, "detail": self.detail}


def is_int(value):
    return isinstance(value, int) and not isinstance(value, bool)


def snapshot_bytes(entrants):
    """Entrants with tickets > 0, sorted by user id, one "id,tickets\\n" line each."""
    rows = []
    seen = set()
    for item in entrants:
        if not isinstance(item, (list, tuple)) or len(item) != 2:
            raise ValueError(f"entrant {item!r} is not a [kick_user_id, tickets] pair")
        uid, tickets = item
        if not is_int(uid) or not is_int(tickets) or uid < 0 or tickets < 0:
            raise ValueError(f"entrant {item!r} does not hold non-negative integers")
        if uid in seen:
            raise ValueError(f"kick_user_id {uid} is listed twice")
        seen.add(uid)
        if tickets > 0:
            rows.append((uid, tickets))
    rows.sort()
    return "".join(f"{uid},{tickets}\n" for uid, tickets in rows).encode("ascii"), rows


def pick_ticket(seed, snapshot_hash, beacon, k, total):
    """Ticket for winner k: HMAC-SHA256 with rejection sampling (no modulo bias)."""
    limit = (TWO_64 // total) * total
    c = 0
    while True:
        msg = f"{snapshot_hash}:{beacon}:{k}:{c}".encode()
        x = int.from_bytes(hmac.new(seed, msg, hashlib.sha256).digest()[:8], "big")
        if x < limit:
            return x % total
        c += 1


def recompute_winners(seed, snapshot_hash, beacon, rows, count):
    remaining = list(rows)
    winners = []
    for k in range(count):
        if not remaining:
            break
        total = sum(t for _, t in remaining)
        ticket = pick_ticket(seed, snapshot_hash, beacon, k, total)
        start = 0
        for i, (uid, tickets) in enumerate(remaining):
            if ticket < start + tickets:
                winners.append({"k": k, "ticket": ticket, "total": total, "kick_user_id": uid})
                del remaining[i]
                break
            start += tickets
    return winners


def verify(proof):
    checks = []

    def add(name, ok, detail):
        checks.append(Check(name, ok, detail))

    if not isinstance(proof, dict):
        add("format", False, "the proof is not a JSON object")
        return checks
    add("version", proof.get("version") == 1, f"version {proof.get('version')!r} (this script checks 1)")

    # 1. Server seed against its commitment.
    seed_hex = proof.get("server_seed")
    committed = proof.get("server_seed_hash")
    seed = None
    if not isinstance(seed_hex, str) or not HEX64.match(seed_hex):
        add("server_seed", False, "no revealed server_seed (64 lowercase hex) in the proof: not drawn yet?")
    else:
        seed = bytes.fromhex(seed_hex)
        got = hashlib.sha256(seed).hexdigest()
        add(
            "server_seed",
            got == committed,
            f"sha256(server_seed) = {got}, committed {committed}",
        )

    # 2. Snapshot.
    rows = None
    published = proof.get("snapshot_hash")
    try:
        data, rows = snapshot_bytes(proof.get("entrants") or [])
    except ValueError as exc:
        add("snapshot_hash", False, str(exc))
    else:
        got = hashlib.sha256(data).hexdigest()
        add(
            "snapshot_hash",
            got == published,
            f"rebuilt from {len(rows)} entrants, {sum(t for _, t in rows)} tickets: "
            f"{got}, published {published}",
        )

    # 3. Beacon.
    drand = proof.get("drand") or {}
    signature = drand.get("signature")
    randomness = drand.get("randomness")
    drand_round = drand.get("round")
    beacon = None
    if not isinstance(signature, str) or not HEX_SIG.match(signature):
        add("beacon_randomness", False, "drand signature is missing or not 96 hex characters")
        add("beacon_signature_bls", False, "no usable drand signature")
    else:
        beacon = hashlib.sha256(bytes.fromhex(signature)).hexdigest()
        add(
            "beacon_randomness",
            beacon == randomness,
            f"sha256(signature) = {beacon}, published randomness {randomness}",
        )
        try:
            import drand_verify
        except ImportError:
            add(
                "beacon_signature_bls",
                None,
                "SKIPPED: drand_verify is not installed (pip install drand-verify), the BLS signature "
                "was NOT verified; compare the round with https://api.drand.sh",
            )
        else:
            if drand.get("chain") != "quicknet" or not is_int(drand_round) or int(drand_round or 0) < 1:
                add("beacon_signature_bls", False, f"expected chain quicknet and a round, got {drand!r}")
            else:
                try:
                    verified = drand_verify.verify_quicknet(drand_round, signature.lower())
                except ValueError as exc:
                    add("beacon_signature_bls", False, f"drand_verify rejected round {drand_round}: {exc}")
                else:
                    add(
                        "beacon_signature_bls",
                        verified == beacon,
                        f"verified with drand_verify: quicknet round {drand_round}",
                    )

    # 4. Winners.
    published_winners = proof.get("winners") or []
    if seed is None or rows is None or beacon is None or not isinstance(published, str):
        add("winners", False, "cannot recompute winners without seed, snapshot and beacon")
    elif not HEX64.match(published):
        add("winners", False, "snapshot_hash is not 64 lowercase hex")
    else:
        # The winners follow the published snapshot hash; if it was wrong the check above failed.
        mine = recompute_winners(seed, published, beacon, rows, len(published_winners))
        theirs = [
            {key: w.get(key) for key in ("k", "ticket", "total", "kick_user_id")}
            for w in published_winners
            if isinstance(w, dict)
        ]
        if mine == theirs:
            detail = "; ".join(
                f"k={w['k']}: ticket {w['ticket']} of {w['total']} -> {w['kick_user_id']}" for w in mine
            )
            add("winners", True, detail or "no winners published")
        else:
            add("winners", False, f"recomputed {mine}, published {theirs}")
    return checks


def main(argv):
    args = [a for a in argv[1:] if a != "--json"]
    as_json = "--json" in argv[1:]
    if len(args) != 1:
        print("usage: python verify_draw.py [--json] proof.json", file=sys.stderr)
        return 1
    try:
        with open(args[0], encoding="utf-8") as fh:
            proof = json.load(fh)
    except (OSError, ValueError) as exc:
        print(f"FAIL  cannot read {args[0]}: {exc}")
        return 1
    checks = verify(proof)
    ok = all(c.ok is not False for c in checks)
    if as_json:
        print(json.dumps({"ok": ok, "checks": [c.as_dict() for c in checks]}, indent=2))
    else:
        for c in checks:
            label = "PASS" if c.ok else ("SKIP" if c.ok is None else "FAIL")
            print(f"{label}  {c.name}: {c.detail}")
        print("RESULT: PASS, the draw checks out" if ok else "RESULT: FAIL, see the lines above")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv))
