"""Fetch drand *quicknet* rounds from HTTP relays and verify them with ``drand_verify``.

API (drand HTTP relays): ``GET {relay}/{chain_hash}/public/{round}`` and
``GET {relay}/{chain_hash}/public/latest`` answer ``{"round": R, "randomness": "<hex>",
"signature": "<hex>"}``; a round not emitted yet answers 404 (older relays) or 425 Too Early.

Relays are untrusted transport: every answer is checked against the quicknet public key with
``drand_verify.verify_quicknet(round, signature)``, and the relay's ``randomness`` (when given)
must equal the verified value. A relay with a bad answer is skipped and the next one tried.

This module imports no Django app; it only needs httpx and drand_verify.
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import drand_verify
import httpx

from kickbot.integrations._http import OwnedHttpClient
from kickbot.integrations.drand.errors import BeaconNotYet, BeaconUnavailable

logger = logging.getLogger(__name__)

QUICKNET_CHAIN_HASH = "52db9ba70e0cc0f6eaf7803dd07447a1f5477735fd3f661792ba94600c84e971"
QUICKNET_GENESIS_TIME = 1692803367
QUICKNET_PERIOD_S = 3
# quicknet signs on G1: a compressed G1 point is 48 bytes = 96 hex characters.
_SIGNATURE_RE = re.compile(r"[0-9a-fA-F]{96}")
_RANDOMNESS_RE = re.compile(r"[0-9a-fA-F]{64}")
_NOT_YET_STATUS = frozenset({404, 425})


@dataclass(frozen=True, slots=True)
class Beacon:
    round: int
    signature_hex: str
    randomness_hex: str
    relay_url: str


class _Skip(Exception):
    """One relay's answer is unusable; the reason goes into the final error."""


def latest_round_at(ts: float) -> int:
    """The last quicknet round emitted at or before ``ts`` (0 before genesis)."""
    if ts < QUICKNET_GENESIS_TIME:
        return 0
    return int((ts - QUICKNET_GENESIS_TIME) // QUICKNET_PERIOD_S) + 1


def verify_beacon(round: int, signature: object, randomness: object = None) -> tuple[str, str]:
    """Check one relay answer; return ``(signature_hex, randomness_hex)``, lowercase.

    Raises ``_Skip`` with a reason. The signature is validated as 96 hex characters *before*
    ``drand_verify`` sees it: a non-hex string makes the Rust extension panic with
    ``pyo3_runtime.PanicException``, a ``BaseException`` that ``except Exception`` misses.
    """
    if not isinstance(signature, str) or not _SIGNATURE_RE.fullmatch(signature):
        raise _Skip("signature is not 96 hex characters")
    signature = signature.lower()
    try:
        verified = drand_verify.verify_quicknet(round, signature)
    except ValueError as exc:
        raise _Skip(f"signature does not verify for round {round} ({exc})") from exc
    except BaseException as exc:  # a pyo3 panic despite the checks above: never let it escape
        if isinstance(exc, KeyboardInterrupt | SystemExit | GeneratorExit):
            raise
        raise _Skip(f"verifier failed: {type(exc).__name__}") from None
    verified = str(verified).lower()
    if randomness is not None:
        if not isinstance(randomness, str) or not _RANDOMNESS_RE.fullmatch(randomness):
            raise _Skip("randomness is not 64 hex characters")
        if randomness.lower() != verified:
            raise _Skip("randomness does not match the verified signature")
    return signature, verified


class DrandClient(OwnedHttpClient):
    """Fetch verified quicknet beacons, trying each relay in order.

    ``client`` may be supplied (tests pass one with ``httpx.MockTransport``; closed only with
    ``owns_client=True``); otherwise the client makes and owns one. ``clock`` is only used to
    refuse rounds that cannot exist yet without asking any relay.
    """

    def __init__(
        self,
        urls: Sequence[str],
        *,
        client: httpx.Client | None = None,
        owns_client: bool | None = None,
        timeout: float = 5.0,
        chain_hash: str = QUICKNET_CHAIN_HASH,
        clock: Callable[[], float] = time.time,
    ) -> None:
        if isinstance(urls, str):
            raise TypeError("urls must be a list of relay URLs, not a string")
        self.urls = [u.rstrip("/") for u in urls if u and u.strip()]
        if not self.urls:
            raise ValueError("at least one drand relay URL is required")
        super().__init__(client=client, owns_client=owns_client, timeout=timeout)
        self.chain_hash = chain_hash
        self._clock = clock

    def fetch_round(self, round: int) -> Beacon:
        """The verified beacon of ``round``.

        Raises ``BeaconNotYet`` if the round is in the future (by the clock, or a relay answered
        404/425 and none had it), ``BeaconUnavailable`` if no relay gave a verified answer.
        """
        if type(round) is not int or round < 1:
            raise ValueError("round must be an int >= 1")
        if round > latest_round_at(self._clock()):
            raise BeaconNotYet(round, "the round is in the future")
        return self._fetch(str(round), expected_round=round)

    def fetch_latest(self) -> Beacon:
        """The newest verified beacon any relay has (the first relay that answers well)."""
        return self._fetch("latest", expected_round=None)

    def _fetch(self, which: str, *, expected_round: int | None) -> Beacon:
        problems: list[str] = []
        not_yet = False
        for base in self.urls:
            url = f"{base}/{self.chain_hash}/public/{which}"
            try:
                response = self._client.get(url, timeout=self._timeout)
            except httpx.HTTPError as exc:
                problems.append(f"{base}: {type(exc).__name__}")
                continue
            if response.status_code in _NOT_YET_STATUS:
                not_yet = True
                problems.append(f"{base}: HTTP {response.status_code} (not yet)")
                continue
            if response.status_code != 200:
                problems.append(f"{base}: HTTP {response.status_code}")
                continue
            try:
                beacon = self._parse(base, response, expected_round)
            except _Skip as exc:
                logger.warning("drand relay %s skipped: %s", base, exc)
                problems.append(f"{base}: {exc}")
                continue
            return beacon
        reason = "; ".join(problems)
        if not_yet and expected_round is not None:
            raise BeaconNotYet(expected_round, reason)
        raise BeaconUnavailable(f"no drand relay gave a verified beacon for round {which}: {reason}")

    def _parse(self, base: str, response: httpx.Response, expected_round: int | None) -> Beacon:
        try:
            doc: Any = response.json()
        except ValueError as exc:
            raise _Skip("answer is not JSON") from exc
        if not isinstance(doc, dict):
            raise _Skip("answer is not a JSON object")
        got_round = doc.get("round")
        if type(got_round) is not int or got_round < 1:
            raise _Skip("answer has no valid round")
        if expected_round is not None and got_round != expected_round:
            raise _Skip(f"answer is for round {got_round}, not {expected_round}")
        signature, randomness = verify_beacon(got_round, doc.get("signature"), doc.get("randomness"))
        return Beacon(round=got_round, signature_hex=signature, randomness_hex=randomness, relay_url=base)
