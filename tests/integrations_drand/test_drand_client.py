"""DrandClient against fake relays (httpx.MockTransport): no network."""

from __future__ import annotations

import hashlib
from collections.abc import Callable

import httpx
import pytest

from kickbot.integrations.drand import (
    QUICKNET_CHAIN_HASH,
    QUICKNET_GENESIS_TIME,
    Beacon,
    BeaconNotYet,
    BeaconUnavailable,
    DrandClient,
)
from kickbot.integrations.drand.client import latest_round_at

ROUND = 657413
SIGNATURE = "b713718a38ae728dfd477991af2822e08d2f305e47718cef9f7848ce4050e7be41076862b98fad56e91a6b85b89cd97b"
RANDOMNESS = "fc1873a13f3545aeade8401532ef5519920652eee6b0d2b19ca12643b87b3587"
GOOD = {"round": ROUND, "randomness": RANDOMNESS, "signature": SIGNATURE}
A, B, C = "https://relay-a.test", "https://relay-b.test", "https://relay-c.test"

Answer = Callable[[httpx.Request], httpx.Response]


def relays(answers: dict[str, Answer], calls: list[str]) -> httpx.Client:
    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(str(request.url))
        return answers[f"{request.url.scheme}://{request.url.host}"](request)

    return httpx.Client(transport=httpx.MockTransport(handler))


def ok(doc: object) -> Answer:
    return lambda request: httpx.Response(200, json=doc)


def status(code: int) -> Answer:
    return lambda request: httpx.Response(code, text="nope")


def down(request: httpx.Request) -> httpx.Response:
    raise httpx.ConnectError("connection refused", request=request)


def make(answers: dict[str, Answer], calls: list[str] | None = None, **kw: object) -> DrandClient:
    calls = [] if calls is None else calls
    return DrandClient(list(answers), client=relays(answers, calls), **kw)  # type: ignore[arg-type]


def test_good_round_is_verified() -> None:
    calls: list[str] = []
    beacon = make({A: ok(GOOD)}, calls).fetch_round(ROUND)
    assert beacon == Beacon(ROUND, SIGNATURE, RANDOMNESS, A)
    assert calls == [f"{A}/{QUICKNET_CHAIN_HASH}/public/{ROUND}"]
    assert hashlib.sha256(bytes.fromhex(beacon.signature_hex)).hexdigest() == beacon.randomness_hex


def test_uppercase_signature_and_missing_randomness_are_fine() -> None:
    beacon = make({A: ok({"round": ROUND, "signature": SIGNATURE.upper()})}).fetch_round(ROUND)
    assert beacon.signature_hex == SIGNATURE and beacon.randomness_hex == RANDOMNESS


def test_first_relay_down_second_used() -> None:
    calls: list[str] = []
    beacon = make({A: down, B: ok(GOOD)}, calls).fetch_round(ROUND)
    assert beacon.relay_url == B and len(calls) == 2


@pytest.mark.parametrize(
    "bad",
    [
        {**GOOD, "signature": SIGNATURE[:-1] + ("a" if SIGNATURE[-1] != "a" else "b")},  # wrong signature
        {**GOOD, "signature": "8" + SIGNATURE[1:]},  # not a valid point / wrong
        {**GOOD, "randomness": "00" * 32},  # relay lies about randomness
        {**GOOD, "round": ROUND + 1},  # answer for another round
        {**GOOD, "signature": "zz" * 48},  # non-hex: would panic inside drand_verify
        {**GOOD, "signature": SIGNATURE[:-2]},  # too short
        {**GOOD, "signature": 12345},
        {"round": ROUND},
        ["not", "an", "object"],
    ],
)
def test_bad_answer_is_skipped_and_next_relay_used(bad: object) -> None:
    calls: list[str] = []
    beacon = make({A: ok(bad), B: ok(GOOD)}, calls).fetch_round(ROUND)
    assert beacon.relay_url == B and len(calls) == 2


def test_wrong_signature_for_this_round_is_rejected_by_bls() -> None:
    """The known-good signature, presented as another round's, fails the BLS check."""
    doc = {"round": ROUND - 1, "signature": SIGNATURE, "randomness": RANDOMNESS}
    with pytest.raises(BeaconUnavailable) as exc:
        make({A: ok(doc)}).fetch_round(ROUND - 1)
    assert "does not verify" in exc.value.reason


def test_non_hex_signature_never_raises_a_panic() -> None:
    doc = {**GOOD, "signature": "x" * 96}
    with pytest.raises(BeaconUnavailable) as exc:
        make({A: ok(doc)}).fetch_round(ROUND)
    assert "96 hex" in exc.value.reason


def test_non_json_answer_is_skipped() -> None:
    beacon = make({A: lambda r: httpx.Response(200, text="<html>"), B: ok(GOOD)}).fetch_round(ROUND)
    assert beacon.relay_url == B


def test_all_relays_bad_is_unavailable_with_reasons() -> None:
    bad = {**GOOD, "randomness": "11" * 32}
    with pytest.raises(BeaconUnavailable) as exc:
        make({A: down, B: ok(bad), C: status(500)}).fetch_round(ROUND)
    reason = exc.value.reason
    assert A in reason and B in reason and C in reason
    assert "ConnectError" in reason and "HTTP 500" in reason and "randomness" in reason


@pytest.mark.parametrize("code", [404, 425])
def test_relay_not_yet_is_beacon_not_yet(code: int) -> None:
    with pytest.raises(BeaconNotYet) as exc:
        make({A: status(code), B: down}).fetch_round(ROUND)
    assert exc.value.round == ROUND


def test_a_later_relay_can_still_answer_after_a_404() -> None:
    assert make({A: status(404), B: ok(GOOD)}).fetch_round(ROUND).relay_url == B


def test_future_round_by_clock_asks_no_relay() -> None:
    calls: list[str] = []
    now = QUICKNET_GENESIS_TIME + 3 * 100  # round 101 is being emitted
    client = make({A: ok(GOOD)}, calls, clock=lambda: now)
    with pytest.raises(BeaconNotYet):
        client.fetch_round(102)
    assert calls == []
    assert latest_round_at(now) == 101
    assert latest_round_at(QUICKNET_GENESIS_TIME - 1) == 0


def test_fetch_latest() -> None:
    calls: list[str] = []
    beacon = make({A: status(503), B: ok(GOOD)}, calls).fetch_latest()
    assert beacon.round == ROUND and beacon.relay_url == B
    assert calls[-1] == f"{B}/{QUICKNET_CHAIN_HASH}/public/latest"


def test_latest_with_all_relays_404_is_unavailable() -> None:
    with pytest.raises(BeaconUnavailable):
        make({A: status(404)}).fetch_latest()


def test_constructor_validation_and_trailing_slash() -> None:
    with pytest.raises(ValueError):
        DrandClient([])
    with pytest.raises(TypeError):
        DrandClient("https://api.drand.sh")  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        make({A: ok(GOOD)}).fetch_round(0)
    calls: list[str] = []
    client = DrandClient([A + "/"], client=relays({A: ok(GOOD)}, calls))
    client.fetch_round(ROUND)
    assert calls == [f"{A}/{QUICKNET_CHAIN_HASH}/public/{ROUND}"]


def test_owned_client_closes() -> None:
    with DrandClient([A]) as client:
        assert client.urls == [A]
