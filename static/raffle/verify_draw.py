#!/usr/bin/env python3
"""Verify a kickbot raffle draw yourself: ``python verify_draw.py proof.json``.

One file, Python 3.9+ standard library only. Download the proof document from
``/raffle/<period id>/proof.json`` and run this script on it. It re-does every step of the
published algorithm (draw proof versions 1 and 2, docs/draw-proof.md) and prints PASS or FAIL for
each check:

1. the revealed server seed matches the hash committed when the period opened;
2. the snapshot rebuilt from the listed entrants has the published snapshot hash;
3. the book closed (``frozen_at``) before the drand round was emitted, by at least the committed
   margin: nobody could know the randomness while tickets could still change;
4. the drand beacon value is SHA-256 of the drand signature, and, if the optional
   ``drand_verify`` package is installed (``pip install drand-verify``), the signature is a
   valid drand quicknet signature for that round (otherwise this check says it was skipped);
5. if the fallback round was used: the logged failures follow the published rule and the
   fallback round is the one the rule gives;
6. rerolls: each voided winner has a listed reason and there are no more than the committed cap;
7. the winners recomputed from seed, snapshot and beacon are the published winners.

Before the draw, the checks that need the draw say "not drawn yet" (never FAIL) and the ones
possible already run. Exit status 0 when every check that ran passed, 1 otherwise. ``--json``
prints the checks as JSON instead. This script is deliberately independent of the bot's own code.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import math
import re
import sys
from datetime import datetime, timezone

HEX64 = re.compile(r"^[0-9a-f]{64}$")
HEX_SIG = re.compile(r"^[0-9a-fA-F]{96}$")  # quicknet: a compressed G1 point, 48 bytes
TWO_64 = 2**64
QUICKNET_GENESIS = 1692803367  # unix time of quicknet round 1; one round every 3 s
QUICKNET_PERIOD = 3
VERSIONS = (1, 2)


class Check:
    def __init__(self, name, ok, detail):
        self.name = name
        self.ok = ok  # True, False, or None when skipped
        self.detail = detail

    def as_dict(self):
        return {"name": self.name, "ok": self.ok, "detail": self.detail}


def is_int(value):
    return isinstance(value, int) and not isinstance(value, bool)


def emitted_at(round_no):
    """Unix time at which quicknet round ``round_no`` is emitted."""
    return QUICKNET_GENESIS + (round_no - 1) * QUICKNET_PERIOD


def first_round_at(ts):
    """The first quicknet round emitted at or after unix time ``ts``."""
    if ts <= QUICKNET_GENESIS:
        return 1
    return math.ceil((ts - QUICKNET_GENESIS) / QUICKNET_PERIOD) + 1


def parse_time(text):
    """An ISO 8601 time of the proof (``...Z``) as unix seconds, or None."""
    if not isinstance(text, str):
        return None
    try:
        dt = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=timezone.utc)  # noqa: UP017
    return dt.timestamp()


def utc(ts):
    when = datetime.fromtimestamp(ts, tz=timezone.utc)  # noqa: UP017 (this script runs on Python 3.9)
    return when.strftime("%Y-%m-%d %H:%M:%S UTC")


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


def check_snapshot(proof, add):
    """Rebuild the snapshot from the published entrants and compare its hash; the rows, or None."""
    published = proof.get("snapshot_hash")
    try:
        data, rows = snapshot_bytes(proof.get("entrants") or [])
    except ValueError as exc:
        add("snapshot_hash", False, str(exc))
        return None
    got = hashlib.sha256(data).hexdigest()
    add(
        "snapshot_hash",
        got == published,
        f"rebuilt from {len(rows)} entrants, {sum(t for _, t in rows)} tickets: {got}, published {published}",
    )
    return rows


def check_close_before_round(proof, add):
    """The book closed before anyone could know the round: frozen_at + margin <= emission."""
    drand = proof.get("drand") or {}
    rules = proof.get("rules") or {}
    committed = drand.get("committed_round", drand.get("round"))
    frozen = parse_time(proof.get("frozen_at"))
    if not isinstance(committed, int) or isinstance(committed, bool) or committed < 1 or frozen is None:
        add("closed_before_round", False, "the proof has no committed round or no frozen_at")
        return
    margin = rules.get("commit_margin_s", 0) if proof.get("version") == 2 else 0
    if not is_int(margin) or margin < 0:
        add("closed_before_round", False, f"commit_margin_s {margin!r} is not a number of seconds")
        return
    at = emitted_at(committed)
    ok = frozen < at and at - frozen >= margin
    add(
        "closed_before_round",
        ok,
        f"book closed {utc(frozen)}, round {committed} emitted {utc(at)}: {at - frozen:.0f} s later "
        f"(at least {margin} s required)"
        + ("" if ok else ": the randomness could be known before the close"),
    )


def check_fallback(proof, add):
    """A fallback round follows the published rule from the logged failures."""
    drand = proof.get("drand") or {}
    rules = proof.get("rules") or {}
    fallback = proof.get("fallback") or {}
    committed = drand.get("committed_round", drand.get("round"))
    used = drand.get("round")
    if used == committed and not fallback.get("used"):
        add("fallback", True, f"not used: the draw used the committed round {committed}")
        return
    if proof.get("version") == 1:
        add("fallback", None, f"version 1 proof: round {used} replaced {committed} by an admin's choice")
        return
    attempts = [
        a for a in proof.get("draw_attempts") or [] if isinstance(a, dict) and a.get("round") == committed
    ]
    after = rules.get("fallback_after_s")
    margin = rules.get("commit_margin_s")
    switched = parse_time(fallback.get("switched_at"))
    times = [parse_time(a.get("at")) for a in attempts]
    problems = []
    if not attempts or None in times or not is_int(after) or not is_int(margin) or switched is None:
        problems.append("no failure log, rule parameters or switch time")
    else:
        first = times[0]
        if first < emitted_at(committed):
            problems.append(f"a logged failure ({utc(first)}) is before round {committed} was emitted")
        if switched not in times:
            problems.append("the switch is not one of the logged failures")
        elif switched - first < after:
            problems.append(f"failures spanned {switched - first:.0f} s, the rule needs {after} s")
        if used != fallback.get("round") or used != first_round_at(switched + margin):
            problems.append(f"round {used} is not the first one {margin} s after the switch")
    answers = "; ".join(str(a.get("answers", ""))[:120] for a in attempts[-3:])
    add(
        "fallback",
        not problems,
        (
            f"round {committed} failed {len(attempts)} times; fallback round {used} follows the rule. "
            f"drand never skips rounds: look up round {committed} yourself. Last relay answers: {answers}"
        )
        if not problems
        else "; ".join(problems),
    )


def check_rerolls(proof, winners, add):
    rules = proof.get("rules") or {}
    voids = [w for w in winners if isinstance(w, dict) and w.get("void_reason")]
    if proof.get("version") == 1:
        add("rerolls", None, f"{len(voids)} reroll(s); version 1 proofs have no reroll rules")
        return
    cap = rules.get("max_rerolls")
    reasons = rules.get("reroll_reasons") or []
    bad = [w.get("void_reason") for w in voids if w.get("void_reason") not in reasons]
    ok = isinstance(cap, int) and not isinstance(cap, bool) and len(voids) <= cap and not bad
    detail = f"{len(voids)} reroll(s) of at most {cap}" + "".join(
        f"; k={w.get('k')} void: {w.get('void_reason')}" for w in voids
    )
    if bad:
        detail += f"; reasons not in the committed list {reasons}: {bad}"
    add("rerolls", ok, detail)


def verify(proof):
    checks = []

    def add(name, ok, detail):
        checks.append(Check(name, ok, detail))

    if not isinstance(proof, dict):
        add("format", False, "the proof is not a JSON object")
        return checks
    version = proof.get("version")
    add("version", version in VERSIONS, f"version {version!r} (this script checks 1 and 2)")
    status = (proof.get("period") or {}).get("status")
    if status in ("open", "frozen"):
        add(
            "drawn",
            None,
            f"NOT DRAWN YET (the raffle is {status}): the seed and the winners come with the draw",
        )
        if status == "frozen":
            check_close_before_round(proof, add)
            check_snapshot(proof, add)
        return checks

    # 1. Server seed against its commitment.
    seed_hex = proof.get("server_seed")
    committed = proof.get("server_seed_hash")
    seed = None
    if not isinstance(seed_hex, str) or not HEX64.match(seed_hex):
        add("server_seed", False, "no revealed server_seed (64 lowercase hex) in the proof")
    else:
        seed = bytes.fromhex(seed_hex)
        got = hashlib.sha256(seed).hexdigest()
        add(
            "server_seed",
            got == committed,
            f"sha256(server_seed) = {got}, committed {committed}",
        )

    # 2. Snapshot.
    published = proof.get("snapshot_hash")
    rows = check_snapshot(proof, add)

    # 3. The close came before the round.
    check_close_before_round(proof, add)

    # 4. Beacon.
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

    # 5. Fallback, 6. rerolls.
    check_fallback(proof, add)
    published_winners = proof.get("winners") or []
    check_rerolls(proof, published_winners, add)

    # 7. Winners.
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
        expected = (proof.get("rules") or {}).get("winners")
        valid = len([w for w in published_winners if isinstance(w, dict) and not w.get("void_reason")])
        if mine != theirs:
            add("winners", False, f"recomputed {mine}, published {theirs}")
        elif isinstance(expected, int) and not isinstance(expected, bool) and valid > expected:
            add("winners", False, f"{valid} winners stand, the rules say {expected}")
        else:
            detail = "; ".join(
                f"k={w['k']}: ticket {w['ticket']} of {w['total']} -> {w['kick_user_id']}" for w in mine
            )
            add("winners", True, detail or "no winners published")
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
    pending = any(c.name == "drawn" for c in checks)
    if as_json:
        print(json.dumps({"ok": ok, "drawn": not pending, "checks": [c.as_dict() for c in checks]}, indent=2))
    else:
        for c in checks:
            label = "PASS" if c.ok else ("SKIP" if c.ok is None else "FAIL")
            print(f"{label}  {c.name}: {c.detail}")
        if not ok:
            print("RESULT: FAIL, see the lines above")
        elif pending:
            print("RESULT: NOT DRAWN YET, what is published so far checks out")
        else:
            print("RESULT: PASS, the draw checks out")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv))
