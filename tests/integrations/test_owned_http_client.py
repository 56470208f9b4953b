"""The one owned-HTTP-client pattern (kickbot/integrations/_http.py) as every API client uses it."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from kickbot.integrations._http import http_client
from kickbot.integrations.drand import DrandClient
from kickbot.integrations.kick.api import AsyncKickApi, KickApi
from kickbot.integrations.kick.oauth import KickOAuth
from kickbot.integrations.shuffle import ShuffleClient


class _Tokens:
    def get(self) -> str:
        return "t"

    def refresh(self) -> str:
        return "t"


class _AsyncTokens:
    async def get(self) -> str:
        return "t"

    async def refresh(self) -> str:
        return "t"


SYNC_CLIENTS: list[Any] = [
    lambda **kw: KickApi(base_url="https://api.example.test", tokens=_Tokens(), **kw),
    lambda **kw: KickOAuth(base_url="https://id.example.test", client_id="c", client_secret="s", **kw),
    lambda **kw: DrandClient(["https://drand.example.test"], **kw),
    lambda **kw: ShuffleClient("https://shuffle.example.test", **kw),
]
NAMES = ["kick-api", "kick-oauth", "drand", "shuffle"]


@pytest.mark.parametrize("make", SYNC_CLIENTS, ids=NAMES)
def test_a_client_it_made_is_closed_with_its_own_timeout(make: Any) -> None:
    with make(timeout=3.5) as api:
        inner = api._client
        assert inner.timeout == httpx.Timeout(3.5)
    assert inner.is_closed


@pytest.mark.parametrize("make", SYNC_CLIENTS, ids=NAMES)
def test_a_given_client_is_left_open_unless_handed_over(make: Any) -> None:
    given = httpx.Client()
    with make(client=given):
        pass
    assert not given.is_closed
    with make(client=given, owns_client=True):
        pass
    assert given.is_closed


async def test_async_kick_api_follows_the_same_rule() -> None:
    async with AsyncKickApi(base_url="https://api.example.test", tokens=_AsyncTokens(), timeout=2.0) as api:
        inner = api._client
        assert inner.timeout == httpx.Timeout(2.0)
    assert inner.is_closed
    given = httpx.AsyncClient()
    async with AsyncKickApi(base_url="https://api.example.test", tokens=_AsyncTokens(), client=given):
        pass
    assert not given.is_closed
    async with AsyncKickApi(
        base_url="https://api.example.test", tokens=_AsyncTokens(), client=given, owns_client=True
    ):
        pass
    assert given.is_closed


def test_http_client_helper_closes_only_what_it_made() -> None:
    given = httpx.Client()
    with http_client(given, timeout=1.0) as http:
        assert http is given
    assert not given.is_closed
    given.close()
    with http_client(None, timeout=1.0, follow_redirects=True) as http:
        made = http
        assert made.follow_redirects and made.timeout == httpx.Timeout(1.0)
    assert made.is_closed


def test_the_shuffle_poll_closes_the_client_it_makes() -> None:
    from raffle.tasks import shuffle_client_factory

    with shuffle_client_factory() as shuffle:
        inner = shuffle._client
        assert inner.timeout == httpx.Timeout(10.0)
    assert inner.is_closed
