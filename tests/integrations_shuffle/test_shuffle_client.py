"""ShuffleClient over httpx.MockTransport: good lists parse, everything else is a typed error."""

from __future__ import annotations

import httpx
import pytest

from kickbot.integrations.shuffle import (
    ShuffleBadResponse,
    ShuffleClient,
    ShuffleRateLimited,
    ShuffleUnavailable,
    WagerRow,
)
from kickbot.integrations.shuffle.client import usd_to_cents

AFFILIATE = "aff-secret-1234-5678"
BASE = "https://affiliate.shuffle.test"


def client(handler: object, calls: list[httpx.Request] | None = None) -> ShuffleClient:
    seen = calls if calls is not None else []

    def wrapped(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return handler(request)  # type: ignore[operator]

    return ShuffleClient(BASE, client=httpx.Client(transport=httpx.MockTransport(wrapped)))


def test_request_asks_for_the_window_in_unix_seconds() -> None:
    calls: list[httpx.Request] = []
    client(lambda r: httpx.Response(200, json=[]), calls).wager_stats(
        affiliate_id=AFFILIATE, start=100, end=200
    )
    [req] = calls
    assert req.method == "GET"
    assert req.url.path == f"/stats/{AFFILIATE}"
    assert dict(req.url.params) == {"startTime": "100", "endTime": "200"}


def test_rows_become_cents_summed_per_lowercased_name() -> None:
    body = [
        {"username": "Alice", "campaignCode": "a", "wagerAmount": 999.99},
        {"username": "alice", "campaignCode": "b", "wagerAmount": "0.01"},
        {"username": "Bob", "wagerAmount": 10, "weightedWagerAmount": 2.5},
    ]
    rows = client(lambda r: httpx.Response(200, json=body)).wager_stats(
        affiliate_id=AFFILIATE, start=1, end=2
    )
    assert rows == [WagerRow("Alice", 100_000, None), WagerRow("Bob", 1000, 250)]


def test_junk_rows_are_skipped_not_counted() -> None:
    body = [
        "x",
        {"username": "", "wagerAmount": 5},
        {"username": "a", "wagerAmount": "nan"},
        {"username": "b", "wagerAmount": -1},
        {"username": "c", "wagerAmount": True},
        {"username": "d" * 40, "wagerAmount": 1},
        {"username": "ok", "wagerAmount": 1},
    ]
    rows = client(lambda r: httpx.Response(200, json=body)).wager_stats(
        affiliate_id=AFFILIATE, start=1, end=2
    )
    assert rows == [WagerRow("ok", 100, None)]


@pytest.mark.parametrize(
    ("value", "cents"),
    [
        (999.99, 99999),
        ("0.01", 1),
        (0, 0),
        (0.1 + 0.2, 30),
        ("1e2", 10000),
        (float("inf"), None),
        ("abc", None),
        (None, None),
    ],
)
def test_usd_to_cents(value: object, cents: int | None) -> None:
    assert usd_to_cents(value) == cents


def test_too_many_request_body_with_http_200_is_rate_limited() -> None:
    c = client(lambda r: httpx.Response(200, json={"statusCode": 400, "message": "TOO_MANY_REQUEST"}))
    with pytest.raises(ShuffleRateLimited):
        c.wager_stats(affiliate_id=AFFILIATE, start=1, end=2)


@pytest.mark.parametrize("body", [{"data": []}, "text", 5, None])
def test_non_list_body_is_an_error(body: object) -> None:
    with pytest.raises(ShuffleBadResponse):
        client(lambda r: httpx.Response(200, json=body)).wager_stats(affiliate_id=AFFILIATE, start=1, end=2)


def test_non_json_body_is_an_error() -> None:
    with pytest.raises(ShuffleBadResponse):
        client(lambda r: httpx.Response(200, text="<html>")).wager_stats(
            affiliate_id=AFFILIATE, start=1, end=2
        )


@pytest.mark.parametrize(
    ("status", "error"), [(429, ShuffleRateLimited), (500, ShuffleUnavailable), (403, ShuffleUnavailable)]
)
def test_http_errors_are_typed(status: int, error: type[Exception]) -> None:
    with pytest.raises(error):
        client(lambda r: httpx.Response(status, json=[])).wager_stats(affiliate_id=AFFILIATE, start=1, end=2)


def test_timeout_is_unavailable_and_the_message_hides_the_affiliate_id() -> None:
    def slow(request: httpx.Request) -> httpx.Response:
        raise httpx.ReadTimeout(f"timed out reading {request.url}", request=request)

    with pytest.raises(ShuffleUnavailable) as info:
        client(slow).wager_stats(affiliate_id=AFFILIATE, start=1, end=2)
    assert AFFILIATE not in str(info.value)


def test_bad_window_is_refused_before_any_request() -> None:
    calls: list[httpx.Request] = []
    with pytest.raises(ValueError):
        client(lambda r: httpx.Response(200, json=[]), calls).wager_stats(
            affiliate_id=AFFILIATE, start=5, end=5
        )
    assert calls == []
