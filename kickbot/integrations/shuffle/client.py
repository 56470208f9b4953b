"""``GET {SHUFFLE_API_BASE_URL}/stats/<affiliate id>?startTime=<unix s>&endTime=<unix s>``.

A good answer is a JSON list of rows ``{"username": ..., "campaignCode": ..., "wagerAmount": <USD>,
"weightedWagerAmount": <USD, optional>}``. Anything else is an error, including an HTTP 200
whose body is an object such as ``{"statusCode": 400, "message": "TOO_MANY_REQUEST"}``: callers
must treat an error as "no data", never as "everybody wagered nothing".

The affiliate id is part of the URL path and is a secret: no log line or exception message here
contains the URL.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

import httpx

from kickbot.integrations._http import OwnedHttpClient
from kickbot.integrations.shuffle.errors import ShuffleBadResponse, ShuffleRateLimited, ShuffleUnavailable

log = logging.getLogger(__name__)

MAX_USD = Decimal("1000000000000")  # a trillion dollars: anything above is junk, not a wager
USERNAME_MAX = 32


@dataclass(frozen=True, slots=True)
class WagerRow:
    """One referred user's wager in the asked window, in integer US cents (summed over campaigns).

    ``campaigns`` keeps the per-code parts, ``(code lower-cased, cents, weighted cents)``, so a
    community can count only its own campaign codes (:func:`only_campaigns`).
    """

    username: str
    wager_cents: int
    weighted_cents: int | None
    campaigns: tuple[tuple[str, int, int | None], ...] = field(default=(), compare=False)


def only_campaigns(rows: list[WagerRow], codes: Iterable[str] | None) -> list[WagerRow]:
    """The rows summed over the given campaign codes only (case-insensitive); None or empty: all."""
    wanted = {c.strip().lower() for c in codes or () if c.strip()}
    if not wanted:
        return rows
    out = []
    for row in rows:
        parts = [p for p in row.campaigns if p[0] in wanted]
        if not parts:
            continue
        weighted = [p[2] for p in parts if p[2] is not None]
        out.append(
            WagerRow(
                row.username, sum(p[1] for p in parts), sum(weighted) if weighted else None, tuple(parts)
            )
        )
    return out


def usd_to_cents(value: object) -> int | None:
    """``999.99`` → 99999; None for junk (bool, nan, inf, negative, huge, non-numeric)."""
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        return None
    if isinstance(value, float) and not math.isfinite(value):
        return None
    try:
        # str() first: Decimal(0.1) would carry the float's binary error into the cents.
        amount = Decimal(str(value).strip())
    except InvalidOperation:
        return None
    if not amount.is_finite() or amount < 0 or amount > MAX_USD:
        return None
    return int((amount * 100).quantize(Decimal(1), rounding=ROUND_HALF_UP))


class ShuffleClient(OwnedHttpClient):
    """Reads wager stats. ``client`` may be injected (tests: ``httpx.MockTransport``; closed only
    with ``owns_client=True``)."""

    def __init__(
        self,
        base_url: str,
        *,
        client: httpx.Client | None = None,
        owns_client: bool | None = None,
        timeout: float = 10.0,
    ) -> None:
        super().__init__(client=client, owns_client=owns_client, timeout=timeout)
        self.base_url = base_url.rstrip("/")

    def wager_stats(self, *, affiliate_id: str, start: int, end: int) -> list[WagerRow]:
        """Wagers of every referred user between ``start`` and ``end`` (unix seconds)."""
        if not affiliate_id or "/" in affiliate_id:
            raise ValueError("a Shuffle affiliate id is required")
        if type(start) is not int or type(end) is not int or not 0 <= start < end:
            raise ValueError("start and end must be unix seconds with start < end")
        try:
            response = self._client.get(
                f"{self.base_url}/stats/{affiliate_id}",
                params={"startTime": start, "endTime": end},
                timeout=self._timeout,
            )
        except httpx.TimeoutException as exc:
            raise ShuffleUnavailable(f"Shuffle stats timed out ({type(exc).__name__})") from None
        except httpx.HTTPError as exc:
            raise ShuffleUnavailable(f"Shuffle stats request failed ({type(exc).__name__})") from None
        if response.status_code == 429:
            raise ShuffleRateLimited("Shuffle stats: HTTP 429")
        if response.status_code != 200:
            raise ShuffleUnavailable(f"Shuffle stats: HTTP {response.status_code}")
        try:
            body: Any = response.json()
        except ValueError:
            raise ShuffleBadResponse("Shuffle stats: the body is not JSON") from None
        if not isinstance(body, list):
            message = body.get("message") if isinstance(body, dict) else None
            if isinstance(message, str) and "TOO_MANY" in message.upper():
                raise ShuffleRateLimited("Shuffle stats: TOO_MANY_REQUEST")
            raise ShuffleBadResponse(f"Shuffle stats: expected a list, got {type(body).__name__}")
        return _rows(body)


def _rows(body: list[Any]) -> list[WagerRow]:
    raw: dict[str, list[int | None]] = {}
    names: dict[str, str] = {}
    parts: dict[str, dict[str, list[int | None]]] = {}
    skipped = 0
    for item in body:
        if not isinstance(item, dict):
            skipped += 1
            continue
        name = item.get("username")
        cents = usd_to_cents(item.get("wagerAmount"))
        if not isinstance(name, str) or not name.strip() or len(name.strip()) > USERNAME_MAX or cents is None:
            skipped += 1
            continue
        weighted = usd_to_cents(item["weightedWagerAmount"]) if "weightedWagerAmount" in item else None
        key = name.strip().lower()
        names.setdefault(key, name.strip())
        # One user can appear once per campaign code: their wager is the sum.
        acc = raw.setdefault(key, [0, 0 if weighted is not None else None])
        acc[0] = (acc[0] or 0) + cents
        if weighted is not None:
            acc[1] = (acc[1] or 0) + weighted
        code = item.get("campaignCode")
        code = code.strip().lower() if isinstance(code, str) else ""
        part = parts.setdefault(key, {}).setdefault(code, [0, None])
        part[0] = (part[0] or 0) + cents
        if weighted is not None:
            part[1] = (part[1] or 0) + weighted
    if skipped:
        log.warning("Shuffle stats: skipped %s malformed rows", skipped)
    return [
        WagerRow(
            names[k],
            int(v[0] or 0),
            v[1],
            tuple((code, int(p[0] or 0), p[1]) for code, p in sorted(parts[k].items())),
        )
        for k, v in raw.items()
    ]
