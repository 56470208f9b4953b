"""The viewer verifiers (static/raffle/verify_draw.py and .js) against raffle.draw."""

from __future__ import annotations

import copy
import hashlib
import importlib.util
import json
import shutil
import subprocess
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from raffle.draw import build_snapshot, draw_winners, new_server_seed, seed_hash

ROOT = Path(__file__).resolve().parents[2]
VERIFY_PY = ROOT / "static" / "raffle" / "verify_draw.py"
VERIFY_JS = ROOT / "static" / "raffle" / "verify_draw.js"

SEED = "11c4e7c42ccc1eb2fa6a8575b796c303ed2f78b81524f59159a0571ed3e7d1f4"
SIGNATURE = "b713718a38ae728dfd477991af2822e08d2f305e47718cef9f7848ce4050e7be41076862b98fad56e91a6b85b89cd97b"
BEACON = "fc1873a13f3545aeade8401532ef5519920652eee6b0d2b19ca12643b87b3587"
ENTRANTS = [(404, 64), (101, 10), (303, 1), (202, 25), (505, 0)]


def good_proof() -> dict[str, Any]:
    snap = build_snapshot(ENTRANTS)
    winners = draw_winners(SEED, snap, BEACON, 3)
    # Round 657413 was emitted at 2023-09-15T11:00:03Z: the book closed 33 s before it.
    return {
        "version": 2,
        "community": "demo",
        "period": {
            "id": 7,
            "starts_at": "2023-08-15T00:00:00Z",
            "ends_at": "2023-09-15T10:59:30Z",
            "status": "drawn",
        },
        "rules": {
            "tickets_per_hour": 10,
            "tickets_per_gifted_sub": 15,
            "tickets_per_1000_usd": 20,
            "winners": 3,
            "commit_margin_s": 30,
            "max_rerolls": 3,
            "reroll_reasons": ["declined", "ineligible", "unreachable"],
            "fallback_after_s": 600,
        },
        "server_seed_hash": seed_hash(SEED),
        "committed_at": "2023-08-15T00:00:01Z",
        "frozen_at": "2023-09-15T10:59:30Z",
        "drand": {
            "chain": "quicknet",
            "round": 657413,
            "committed_round": 657413,
            "signature": SIGNATURE,
            "randomness": BEACON,
        },
        "fallback": {"used": False, "round": None},
        "draw_attempts": [],
        "snapshot_hash": snap.snapshot_hash,
        "entrants": snap.entrants(),
        "server_seed": SEED,
        "winners": [
            {
                "k": w.k,
                "ticket": w.ticket,
                "total": w.total,
                "kick_user_id": w.kick_user_id,
                "username": f"u{w.k}",
            }
            for w in winners
        ],
    }


def run_py(
    proof: dict[str, Any], tmp_path: Path, *extra: str, hide_drand: bool = False
) -> subprocess.CompletedProcess:
    path = tmp_path / "proof.json"
    path.write_text(json.dumps(proof))
    if hide_drand:
        code = (
            "import runpy, sys; sys.modules['drand_verify'] = None; "
            f"sys.argv = {[str(VERIFY_PY), *extra, str(path)]!r}; "
            f"runpy.run_path({str(VERIFY_PY)!r}, run_name='__main__')"
        )
        cmd = [sys.executable, "-c", code]
    else:
        cmd = [sys.executable, str(VERIFY_PY), *extra, str(path)]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=60, cwd=tmp_path)


def checks_of(result: subprocess.CompletedProcess) -> dict[str, bool | None]:
    return {c["name"]: c["ok"] for c in json.loads(result.stdout)["checks"]}


def load_verifier() -> ModuleType:
    spec = importlib.util.spec_from_file_location("verify_draw_standalone", VERIFY_PY)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_good_proof_passes(tmp_path: Path) -> None:
    result = run_py(good_proof(), tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    out = result.stdout
    for name in (
        "version",
        "server_seed",
        "snapshot_hash",
        "beacon_randomness",
        "beacon_signature_bls",
        "winners",
    ):
        assert f"PASS  {name}:" in out
    assert "verified with drand_verify: quicknet round 657413" in out
    assert "k=0: ticket 46 of 100 -> 404; k=1: ticket 16 of 36 -> 202; k=2: ticket 6 of 11 -> 101" in out
    assert "RESULT: PASS" in out


def test_without_drand_verify_the_bls_check_says_skipped(tmp_path: Path) -> None:
    result = run_py(good_proof(), tmp_path, hide_drand=True)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "SKIP  beacon_signature_bls: SKIPPED: drand_verify is not installed" in result.stdout
    assert "BLS signature was NOT verified" in result.stdout


def tamper_ticket(p: dict[str, Any]) -> None:
    p["entrants"][3][1] = 63


def tamper_winner(p: dict[str, Any]) -> None:
    p["winners"][1]["kick_user_id"] = 303


def tamper_seed(p: dict[str, Any]) -> None:
    p["server_seed"] = new_server_seed()


def tamper_randomness(p: dict[str, Any]) -> None:
    p["drand"]["randomness"] = hashlib.sha256(b"x").hexdigest()


def tamper_beacon(p: dict[str, Any]) -> None:
    """A different signature with matching randomness: only BLS (and the winners) can tell."""
    sig = SIGNATURE[:-2] + "00"
    p["drand"]["signature"] = sig
    p["drand"]["randomness"] = hashlib.sha256(bytes.fromhex(sig)).hexdigest()


def tamper_round(p: dict[str, Any]) -> None:
    p["drand"]["round"] = 657414


def tamper_unrevealed(p: dict[str, Any]) -> None:
    del p["server_seed"]


def tamper_duplicate(p: dict[str, Any]) -> None:
    p["entrants"].append([101, 1])


TAMPERS = {
    "ticket": (tamper_ticket, {"snapshot_hash": False}),
    "winner": (tamper_winner, {"winners": False}),
    "seed": (tamper_seed, {"server_seed": False, "winners": False}),
    "randomness": (tamper_randomness, {"beacon_randomness": False}),
    "beacon": (tamper_beacon, {"beacon_randomness": True, "beacon_signature_bls": False, "winners": False}),
    "round": (tamper_round, {"beacon_signature_bls": False}),
    "unrevealed": (tamper_unrevealed, {"server_seed": False, "winners": False}),
    "duplicate": (tamper_duplicate, {"snapshot_hash": False}),
}


@pytest.mark.parametrize("name", list(TAMPERS))
def test_tampered_proof_fails(name: str, tmp_path: Path) -> None:
    tamper, expected = TAMPERS[name]
    proof = good_proof()
    tamper(proof)
    result = run_py(proof, tmp_path)
    assert result.returncode == 1, result.stdout
    assert "RESULT: FAIL" in result.stdout
    checks = checks_of(run_py(proof, tmp_path, "--json"))
    for check, ok in expected.items():
        assert checks[check] is ok, (check, checks)


def test_changing_one_ticket_changes_the_hash_and_fails_even_with_a_matching_hash(tmp_path: Path) -> None:
    """Republishing a consistent snapshot hash for altered tickets still fails: the winners differ."""
    proof = good_proof()
    proof["entrants"][0][1] = 11
    new_hash = build_snapshot([tuple(e) for e in proof["entrants"]]).snapshot_hash
    assert new_hash != proof["snapshot_hash"]
    proof["snapshot_hash"] = new_hash
    checks = checks_of(run_py(proof, tmp_path, "--json"))
    assert checks["snapshot_hash"] is True and checks["winners"] is False


def test_unreadable_file_fails(tmp_path: Path) -> None:
    (tmp_path / "proof.json").write_text("{not json")
    result = subprocess.run(
        [sys.executable, str(VERIFY_PY), str(tmp_path / "proof.json")],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 1 and "FAIL" in result.stdout


def test_standalone_verifier_agrees_with_raffle_draw_on_random_draws() -> None:
    verifier = load_verifier()
    import random

    rng = random.Random(5)
    for _ in range(25):
        entrants = [(u, rng.randint(0, 40)) for u in rng.sample(range(1, 10**9), rng.randint(1, 40))]
        snap = build_snapshot(entrants)
        if not len(snap):
            continue
        seed = new_server_seed()
        beacon = hashlib.sha256(seed.encode()).hexdigest()
        data, rows = verifier.snapshot_bytes([list(e) for e in entrants])
        assert data == snap.data
        mine = draw_winners(seed, snap, beacon, len(snap))
        theirs = verifier.recompute_winners(bytes.fromhex(seed), snap.snapshot_hash, beacon, rows, len(snap))
        assert [(w.k, w.ticket, w.total, w.kick_user_id) for w in mine] == [
            (w["k"], w["ticket"], w["total"], w["kick_user_id"]) for w in theirs
        ]


def test_standalone_verifier_does_not_import_the_project() -> None:
    text = VERIFY_PY.read_text()
    assert "raffle" not in {
        line.split()[1].split(".")[0] for line in text.splitlines() if line.startswith(("import ", "from "))
    }


# --- JavaScript -----------------------------------------------------------------------------

NODE = shutil.which("node")
RUNNER = """
import { readFileSync } from "node:fs";
import { verifyProof } from "./verify_draw.mjs";
const proofs = JSON.parse(readFileSync(process.argv[2], "utf8"));
const out = [];
for (const p of proofs) out.push(await verifyProof(p));
console.log(JSON.stringify(out));
"""


def run_js(proofs: list[dict[str, Any]], tmp_path: Path) -> list[dict[str, Any]]:
    shutil.copy(VERIFY_JS, tmp_path / "verify_draw.mjs")
    (tmp_path / "run.mjs").write_text(RUNNER)
    (tmp_path / "proofs.json").write_text(json.dumps(proofs))
    assert NODE
    result = subprocess.run(
        [NODE, str(tmp_path / "run.mjs"), str(tmp_path / "proofs.json")],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=tmp_path,
    )
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


@pytest.mark.skipif(NODE is None, reason="node is not on PATH: the JavaScript verifier cannot be run")
def test_js_verifier_agrees_with_python_verifier(tmp_path: Path) -> None:
    proofs = [good_proof()]
    for tamper, _expected in TAMPERS.values():
        p = copy.deepcopy(good_proof())
        tamper(p)
        proofs.append(p)
    js_results = run_js(proofs, tmp_path)

    good = js_results[0]
    assert good["ok"] is True and good["blsVerified"] is False
    by_name = {c["name"]: c for c in good["checks"]}
    assert by_name["beacon_signature_bls"]["ok"] is None
    assert "does not check the drand BLS signature" in by_name["beacon_signature_bls"]["detail"]
    assert by_name["winners"]["detail"] == (
        "k=0: ticket 46 of 100 -> 404; k=1: ticket 16 of 36 -> 202; k=2: ticket 6 of 11 -> 101"
    )

    for proof, js in zip(proofs, js_results, strict=True):
        py = checks_of(run_py(proof, tmp_path, "--json"))
        js_checks = {c["name"]: c["ok"] for c in js["checks"]}
        assert set(py) == set(js_checks)
        for name, ok in py.items():
            if name == "beacon_signature_bls":
                continue  # BLS is only checked by the Python verifier
            assert js_checks[name] is ok, (name, proof, js)
        bls_only = py["beacon_signature_bls"] is False and all(
            v is not False for k, v in py.items() if k != "beacon_signature_bls"
        )
        assert js["ok"] is (all(v is not False for v in py.values()) or bls_only)
