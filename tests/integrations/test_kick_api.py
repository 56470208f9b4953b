"""Kick public API clients (sync and async): requests on the wire, parsing, auth refresh, retries, errors."""

from __future__ import annotations

import ast
import json
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest

from kickbot.integrations.kick import (
    AsyncKickApi,
    EventSubscription,
    KickApi,
    KickAuthError,
    KickBadResponse,
    KickChannelInfo,
    KickError,
    KickLivestreamInfo,
    KickNotSent,
    KickUnavailable,
    KickUserInfo,
    RateLimited,
    SentMessage,
    SubscriptionResult,
)

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "kick" / "api"
PACKAGE = Path(__file__).resolve().parents[2] / "kickbot" / "integrations" / "kick"
BASE = "https://api.kick.test"
TOKEN = "access-token-1"
FRESH = "access-token-2"

Answer = httpx.Response | Exception | Callable[[httpx.Request], httpx.Response]


def fixture(name: str) -> Any:
    return json.loads((FIXTURES / f"{name}.json").read_text())


def ok(name: str) -> httpx.Response:
    return httpx.Response(200, json=fixture(name))


class Recorder:
    """MockTransport handler (sync and async) that replays scripted answers and records every request."""

    def __init__(self, *answers: Answer) -> None:
        self.answers = list(answers)
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        answer = self.answers.pop(0)
        if isinstance(answer, Exception):
            raise answer
        if callable(answer):
            return answer(request)
        return answer


class Tokens:
    """Token provider that hands out TOKEN, then FRESH after a refresh (or raises)."""

    def __init__(self, *, refresh_error: Exception | None = None) -> None:
        self.current = TOKEN
        self.refreshes = 0
        self.refresh_error = refresh_error

    def get(self) -> str:
        return self.current

    def refresh(self) -> str:
        self.refreshes += 1
        if self.refresh_error is not None:
            raise self.refresh_error
        self.current = FRESH
        return self.current


class AsyncTokens:
    """Async twin of Tokens."""

    def __init__(self, *, refresh_error: Exception | None = None) -> None:
        self.sync = Tokens(refresh_error=refresh_error)

    async def get(self) -> str:
        return self.sync.get()

    async def refresh(self) -> str:
        return self.sync.refresh()


def make_api(recorder: Recorder, tokens: Tokens | None = None) -> tuple[KickApi, list[float], Tokens]:
    sleeps: list[float] = []
    tokens = tokens or Tokens()
    api = KickApi(
        base_url=BASE + "/",
        tokens=tokens,
        client=httpx.Client(transport=httpx.MockTransport(recorder)),
        sleep=sleeps.append,
    )
    return api, sleeps, tokens


def make_async_api(
    recorder: Recorder, tokens: AsyncTokens | None = None
) -> tuple[AsyncKickApi, list[float], AsyncTokens]:
    sleeps: list[float] = []

    async def sleep(seconds: float) -> None:
        sleeps.append(seconds)

    tokens = tokens or AsyncTokens()
    api = AsyncKickApi(
        base_url=BASE,
        tokens=tokens,
        client=httpx.AsyncClient(transport=httpx.MockTransport(recorder)),
        sleep=sleep,
    )
    return api, sleeps, tokens


def assert_request(
    request: httpx.Request,
    method: str,
    path: str,
    *,
    params: list[tuple[str, str]] | None = None,
    body: dict[str, Any] | None = None,
    token: str = TOKEN,
) -> None:
    assert request.method == method
    assert f"{request.url.scheme}://{request.url.host}{request.url.path}" == f"{BASE}{path}"
    assert request.url.params.multi_items() == (params or [])
    assert request.headers["Authorization"] == f"Bearer {token}"
    assert request.headers["Accept"] == "application/json"
    if body is None:
        assert request.content == b""
    else:
        assert request.headers["Content-Type"] == "application/json"
        assert json.loads(request.content) == body


# --- endpoints: what goes on the wire and what comes back ----------------------------------------


def test_get_users_without_ids_asks_for_the_tokens_own_user() -> None:
    recorder = Recorder(ok("users"))
    api, _, _ = make_api(recorder)
    users = api.get_users()
    assert_request(recorder.requests[0], "GET", "/public/v1/users")
    assert users == [
        KickUserInfo(
            user_id=123456,
            name="streamerbob",
            email="bob@example.com",
            profile_picture="https://files.kick.com/images/user/123456/profile_image/conversion/avatar-fullsize.webp",
        )
    ]


def test_get_users_by_ids_repeats_the_id_param() -> None:
    recorder = Recorder(ok("users"))
    api, _, _ = make_api(recorder)
    api.get_users([123456, 777])
    assert_request(recorder.requests[0], "GET", "/public/v1/users", params=[("id", "123456"), ("id", "777")])


def test_get_users_with_an_empty_list_is_refused() -> None:
    api, _, _ = make_api(Recorder())
    with pytest.raises(ValueError):
        api.get_users([])


def test_get_channels_by_slugs_reads_live_state_from_the_stream_object() -> None:
    recorder = Recorder(ok("channels"))
    api, _, _ = make_api(recorder)
    channels = api.get_channels(slugs=["streamerbob", "quietcarol"])
    assert_request(
        recorder.requests[0],
        "GET",
        "/public/v1/channels",
        params=[("slug", "streamerbob"), ("slug", "quietcarol")],
    )
    bob, carol = channels
    assert bob == KickChannelInfo(
        broadcaster_user_id=123456,
        slug="streamerbob",
        is_live=True,
        stream_title="Friday raffle night",
        raw=fixture("channels")["data"][0],
    )
    assert bob.raw["category"]["name"] == "Just Chatting"
    assert (carol.is_live, carol.stream_title) == (False, None)


def test_get_channels_by_broadcaster_ids() -> None:
    recorder = Recorder(ok("channels"))
    api, _, _ = make_api(recorder)
    api.get_channels(broadcaster_user_ids=[123456])
    assert_request(
        recorder.requests[0], "GET", "/public/v1/channels", params=[("broadcaster_user_id", "123456")]
    )


@pytest.mark.parametrize(
    "kwargs",
    [
        {"broadcaster_user_ids": [1], "slugs": ["a"]},
        {"broadcaster_user_ids": list(range(51))},
        {"slugs": []},
    ],
)
def test_get_channels_refuses_mixed_empty_or_oversized_filters(kwargs: dict[str, Any]) -> None:
    api, _, _ = make_api(Recorder())
    with pytest.raises(ValueError):
        api.get_channels(**kwargs)


def test_livestreams_page_reads_the_v2_shape_and_its_cursor() -> None:
    recorder = Recorder(ok("livestreams"))
    api, _, _ = make_api(recorder)
    page = api.get_livestreams_page()
    assert_request(recorder.requests[0], "GET", "/public/v2/livestreams", params=[("limit", "1000")])
    assert page.streams == [
        KickLivestreamInfo(
            broadcaster_user_id=123456,
            channel_id=None,
            slug="streamerbob",
            started_at=datetime(2025, 6, 6, 18, 0, tzinfo=UTC),
            viewer_count=321,
            title="Friday raffle night",
        )
    ]
    assert page.next_cursor == "eyJvZmZzZXQiOjF9"


def _page(ids: list[int], cursor: str) -> httpx.Response:
    data = [{"broadcaster_user": {"id": i}, "channel": {"slug": f"c{i}"}, "title": "t"} for i in ids]
    return httpx.Response(200, json={"data": data, "pagination": {"next_cursor": cursor}, "message": "OK"})


def test_live_streams_of_pages_until_found_with_the_cursor() -> None:
    recorder = Recorder(_page([1, 2], "c1"), _page([3, 777], "c2"), _page([9], ""))
    api, _, _ = make_api(recorder)
    scan = api.live_streams_of([777])
    assert scan.complete and [s.broadcaster_user_id for s in scan.streams] == [777]
    assert len(recorder.requests) == 2  # stopped once found
    assert recorder.requests[1].url.params.multi_items() == [("limit", "1000"), ("cursor", "c1")]


def test_live_streams_of_reads_to_the_end_to_say_offline() -> None:
    recorder = Recorder(_page([1, 2], "c1"), _page([3], ""))
    api, _, _ = make_api(recorder)
    scan = api.live_streams_of([777])
    assert (scan.complete, scan.streams) == (True, [])


def test_live_streams_of_past_the_page_cap_is_not_complete() -> None:
    recorder = Recorder(_page([1], "c1"), _page([2], "c2"), _page([777], ""))
    api, _, _ = make_api(recorder)
    scan = api.live_streams_of([777], max_pages=2)
    assert (scan.complete, scan.streams) == (False, [])
    with pytest.raises(ValueError):
        api.live_streams_of([])


@pytest.mark.parametrize(
    "body",
    [{"data": [{"broadcaster_user": None}]}, {"data": [{"broadcaster_user": {"id": "x"}}]}, {"items": []}],
)
def test_livestreams_page_refuses_a_bad_shape(body: dict[str, Any]) -> None:
    api, _, _ = make_api(Recorder(httpx.Response(200, json=body)))
    with pytest.raises(KickBadResponse):
        api.get_livestreams_page()


def test_send_chat_as_bot_omits_the_broadcaster() -> None:
    recorder = Recorder(ok("chat"))
    api, _, _ = make_api(recorder)
    sent = api.send_chat(content="raffle open, type !join", broadcaster_user_id=None)
    assert_request(
        recorder.requests[0],
        "POST",
        "/public/v1/chat",
        body={"type": "bot", "content": "raffle open, type !join"},
    )
    assert sent == SentMessage(is_sent=True, message_id="2b7d5e4c-1f3a-4c59-9a8e-6d0f2c1b7a90")


def test_send_chat_as_user_with_reply() -> None:
    recorder = Recorder(ok("chat"))
    api, _, _ = make_api(recorder)
    api.send_chat(content="x" * 500, broadcaster_user_id=123456, type="user", reply_to_message_id="m-1")
    assert_request(
        recorder.requests[0],
        "POST",
        "/public/v1/chat",
        body={
            "type": "user",
            "content": "x" * 500,
            "broadcaster_user_id": 123456,
            "reply_to_message_id": "m-1",
        },
    )


def test_send_chat_reports_a_dropped_message() -> None:
    api, _, _ = make_api(Recorder(httpx.Response(200, json={"data": {"is_sent": False}, "message": "OK"})))
    assert api.send_chat(content="hi", broadcaster_user_id=None) == SentMessage(
        is_sent=False, message_id=None
    )


@pytest.mark.parametrize(
    "kwargs",
    [
        {"content": "x" * 501, "broadcaster_user_id": None},
        {"content": "   ", "broadcaster_user_id": None},
        {"content": "hi", "broadcaster_user_id": None, "type": "user"},
        {"content": "hi", "broadcaster_user_id": 1, "type": "moderator"},
    ],
)
def test_send_chat_validates_before_calling_kick(kwargs: dict[str, Any]) -> None:
    recorder = Recorder()
    api, _, _ = make_api(recorder)
    with pytest.raises(ValueError):
        api.send_chat(**kwargs)
    assert recorder.requests == []


def test_list_subscriptions() -> None:
    recorder = Recorder(ok("subscriptions_list"))
    api, _, _ = make_api(recorder)
    subs = api.list_subscriptions()
    assert_request(recorder.requests[0], "GET", "/public/v1/events/subscriptions")
    assert subs[0] == EventSubscription(
        id="01JQA0B1C2D3E4F5G6H7J8K9MN",
        event="chat.message.sent",
        version=1,
        broadcaster_user_id=123456,
        method="webhook",
    )
    assert [s.event for s in subs] == ["chat.message.sent", "channel.subscription.gifts"]


def test_create_subscriptions_posts_webhook_events() -> None:
    recorder = Recorder(ok("subscriptions_create"))
    api, _, _ = make_api(recorder)
    results = api.create_subscriptions(
        broadcaster_user_id=123456, events=[("chat.message.sent", 1), ("channel.subscription.gifts", 1)]
    )
    assert_request(
        recorder.requests[0],
        "POST",
        "/public/v1/events/subscriptions",
        body={
            "broadcaster_user_id": 123456,
            "events": [
                {"name": "chat.message.sent", "version": 1},
                {"name": "channel.subscription.gifts", "version": 1},
            ],
            "method": "webhook",
        },
    )
    assert results[0] == SubscriptionResult(
        name="chat.message.sent", version=1, subscription_id="01JQA0B1C2D3E4F5G6H7J8K9MN", error=None
    )
    assert all(result.ok for result in results)


def test_create_subscriptions_surfaces_a_per_event_error() -> None:
    body = {"data": [{"name": "kicks.gifted", "version": 1, "subscription_id": "", "error": "not allowed"}]}
    api, _, _ = make_api(Recorder(httpx.Response(200, json=body)))
    (result,) = api.create_subscriptions(broadcaster_user_id=1, events=[("kicks.gifted", 1)])
    assert (result.ok, result.subscription_id, result.error) == (False, None, "not allowed")


def test_delete_subscriptions_sends_ids_as_query_and_accepts_204() -> None:
    recorder = Recorder(httpx.Response(204))
    api, _, _ = make_api(recorder)
    api.delete_subscriptions(["a", "b"])
    assert_request(
        recorder.requests[0], "DELETE", "/public/v1/events/subscriptions", params=[("id", "a"), ("id", "b")]
    )


def test_public_key_returns_the_pem() -> None:
    recorder = Recorder(ok("public_key"))
    api, _, _ = make_api(recorder)
    pem = api.public_key()
    assert_request(recorder.requests[0], "GET", "/public/v1/public-key")
    assert pem.startswith("-----BEGIN PUBLIC KEY-----")
    assert pem == fixture("public_key")["data"]["public_key"]


# --- auth ------------------------------------------------------------------------------------------


def test_401_refreshes_once_and_resends_with_the_new_token() -> None:
    recorder = Recorder(httpx.Response(401), ok("users"))
    api, sleeps, tokens = make_api(recorder)
    assert api.get_users()[0].user_id == 123456
    assert tokens.refreshes == 1
    assert [r.headers["Authorization"] for r in recorder.requests] == [f"Bearer {TOKEN}", f"Bearer {FRESH}"]
    assert sleeps == []


def test_401_twice_raises_auth_error_after_one_refresh() -> None:
    recorder = Recorder(httpx.Response(401), httpx.Response(401))
    api, _, tokens = make_api(recorder)
    with pytest.raises(KickAuthError) as caught:
        api.get_users()
    assert tokens.refreshes == 1
    assert len(recorder.requests) == 2
    assert caught.value.status_code == 401


def test_failed_refresh_raises_auth_error_without_resending() -> None:
    recorder = Recorder(httpx.Response(401))
    api, _, tokens = make_api(recorder, Tokens(refresh_error=KickAuthError("refresh token revoked")))
    with pytest.raises(KickAuthError):
        api.get_users()
    assert tokens.refreshes == 1
    assert len(recorder.requests) == 1


def test_403_is_an_auth_error_without_refresh() -> None:
    recorder = Recorder(httpx.Response(403, json={"message": "missing scope chat:write"}))
    api, _, tokens = make_api(recorder)
    with pytest.raises(KickAuthError, match="chat:write"):
        api.send_chat(content="hi", broadcaster_user_id=None)
    assert tokens.refreshes == 0


# --- rate limits, retries, timeouts ----------------------------------------------------------------


def test_429_raises_rate_limited_with_retry_after_and_no_retry() -> None:
    recorder = Recorder(httpx.Response(429, headers={"Retry-After": "2"}))
    api, sleeps, _ = make_api(recorder)
    with pytest.raises(RateLimited) as caught:
        api.get_users()
    assert caught.value.retry_after == 2.0
    assert len(recorder.requests) == 1
    assert sleeps == []


def test_429_without_retry_after_defaults_to_one_second() -> None:
    api, _, _ = make_api(Recorder(httpx.Response(429)))
    with pytest.raises(RateLimited) as caught:
        api.get_users()
    assert caught.value.retry_after == 1.0


def test_two_500s_then_success_backs_off_exponentially() -> None:
    recorder = Recorder(httpx.Response(500), httpx.Response(502), ok("users"))
    api, sleeps, _ = make_api(recorder)
    assert api.get_users()[0].name == "streamerbob"
    assert len(recorder.requests) == 3
    assert sleeps == [0.5, 1.0]


def test_three_500s_raise_unavailable() -> None:
    recorder = Recorder(httpx.Response(500), httpx.Response(500), httpx.Response(500))
    api, sleeps, _ = make_api(recorder)
    with pytest.raises(KickUnavailable) as caught:
        api.get_users()
    assert len(recorder.requests) == 3
    assert sleeps == [0.5, 1.0]
    assert caught.value.status_code == 500


def test_timeouts_are_retried_then_raise_unavailable() -> None:
    recorder = Recorder(
        httpx.ReadTimeout("timed out"), httpx.ConnectTimeout("timed out"), httpx.ReadTimeout("t")
    )
    api, sleeps, _ = make_api(recorder)
    with pytest.raises(KickUnavailable, match="ReadTimeout"):
        api.get_livestreams_page()
    assert len(recorder.requests) == 3
    assert sleeps == [0.5, 1.0]


def test_a_timeout_then_success_returns_the_result() -> None:
    recorder = Recorder(httpx.ReadTimeout("timed out"), ok("public_key"))
    api, sleeps, _ = make_api(recorder)
    assert api.public_key().startswith("-----BEGIN")
    assert sleeps == [0.5]


def test_chat_is_not_resent_after_an_ambiguous_500() -> None:
    recorder = Recorder(httpx.Response(500))
    api, sleeps, _ = make_api(recorder)
    with pytest.raises(KickUnavailable, match="may have gone through"):
        api.send_chat(content="you won!", broadcaster_user_id=None)
    assert len(recorder.requests) == 1
    assert sleeps == []


def test_chat_is_not_resent_after_a_read_timeout() -> None:
    recorder = Recorder(httpx.ReadTimeout("timed out"))
    api, _, _ = make_api(recorder)
    with pytest.raises(KickUnavailable):
        api.send_chat(content="you won!", broadcaster_user_id=None)
    assert len(recorder.requests) == 1


@pytest.mark.parametrize("first", [httpx.ConnectError("refused"), httpx.Response(503)])
def test_chat_is_resent_when_kick_surely_did_not_take_it(first: Answer) -> None:
    recorder = Recorder(first, ok("chat"))
    api, sleeps, _ = make_api(recorder)
    assert api.send_chat(content="you won!", broadcaster_user_id=None).is_sent
    assert len(recorder.requests) == 2
    assert sleeps == [0.5]


# --- bad answers and secrecy -----------------------------------------------------------------------


@pytest.mark.parametrize(
    "response",
    [
        httpx.Response(200, text="<html>cloudflare</html>"),
        httpx.Response(200, json={"message": "OK"}),
        httpx.Response(200, json={"data": {"not": "a list"}}),
        httpx.Response(200, json={"data": [{"name": "no id"}]}),
    ],
)
def test_junk_bodies_raise_bad_response(response: httpx.Response) -> None:
    api, _, _ = make_api(Recorder(response))
    with pytest.raises(KickBadResponse):
        api.get_users()


def test_other_4xx_raise_kick_error_with_status_and_kick_message() -> None:
    api, _, _ = make_api(Recorder(httpx.Response(400, json={"message": "invalid slug"})))
    with pytest.raises(KickError) as caught:
        api.get_channels(slugs=["nope"])
    assert type(caught.value) is KickError
    assert caught.value.status_code == 400
    assert "invalid slug" in str(caught.value)


@pytest.mark.parametrize(
    "answers",
    [
        [httpx.Response(400, json={"message": f"bad token {TOKEN}"})],
        [httpx.Response(403, json={"error": f"{TOKEN} lacks scope"})],
        [httpx.Response(429, json={"message": TOKEN})],
        [httpx.Response(401), httpx.Response(401, json={"message": FRESH})],
        [httpx.Response(500, text=TOKEN)] * 3,
        [httpx.Response(200, text=TOKEN)],
        [httpx.ReadTimeout("timed out")] * 3,
    ],
)
def test_tokens_never_appear_in_exception_text(answers: list[Answer]) -> None:
    api, _, _ = make_api(Recorder(*answers))
    with pytest.raises(KickError) as caught:
        api.get_users()
    text = str(caught.value) + repr(caught.value) + repr(api)
    assert TOKEN not in text
    assert FRESH not in text


def test_package_imports_no_django_and_no_project_app() -> None:
    forbidden = ("django", "accounts", "raffle", "botworker", "watchtime", "slots", "gtb", "dashboard")
    for source in [*PACKAGE.glob("*.py"), PACKAGE.parent / "_http.py"]:
        for node in ast.walk(ast.parse(source.read_text())):
            names = []
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names = [node.module]
            for name in names:
                root = name.split(".")[0]
                assert root not in forbidden, f"{source.name} imports {name}"
                # The Kick package itself, and the owned-HTTP-client base shared by every API client.
                assert not name.startswith("kickbot.") or name.startswith(
                    ("kickbot.integrations.kick", "kickbot.integrations._http")
                )


# --- async client ----------------------------------------------------------------------------------


async def test_async_send_chat_posts_the_same_request() -> None:
    recorder = Recorder(ok("chat"))
    api, _, _ = make_async_api(recorder)
    sent = await api.send_chat(content="gg", broadcaster_user_id=123456, type="user")
    assert_request(
        recorder.requests[0],
        "POST",
        "/public/v1/chat",
        body={"type": "user", "content": "gg", "broadcaster_user_id": 123456},
    )
    assert sent.is_sent


async def test_async_endpoints_parse_like_the_sync_ones() -> None:
    recorder = Recorder(
        ok("users"),
        ok("channels"),
        ok("livestreams"),
        ok("subscriptions_list"),
        ok("subscriptions_create"),
        httpx.Response(204),
        ok("public_key"),
    )
    api, _, _ = make_async_api(recorder)
    assert (await api.get_users([123456]))[0].user_id == 123456
    assert (await api.get_channels(broadcaster_user_ids=[123456]))[0].is_live is True
    assert (await api.get_livestreams_page()).streams[0].viewer_count == 321
    assert len(await api.list_subscriptions(broadcaster_user_id=123456)) == 2
    assert (await api.create_subscriptions(broadcaster_user_id=1, events=[("chat.message.sent", 1)]))[0].ok
    await api.delete_subscriptions(["a"])
    assert (await api.public_key()).startswith("-----BEGIN")
    assert recorder.requests[3].url.params.multi_items() == [("broadcaster_user_id", "123456")]
    assert [r.method for r in recorder.requests] == ["GET", "GET", "GET", "GET", "POST", "DELETE", "GET"]


async def test_async_401_refreshes_once_and_resends() -> None:
    recorder = Recorder(httpx.Response(401), ok("users"))
    api, _, tokens = make_async_api(recorder)
    await api.get_users()
    assert tokens.sync.refreshes == 1
    assert recorder.requests[1].headers["Authorization"] == f"Bearer {FRESH}"


async def test_async_401_twice_raises_auth_error() -> None:
    api, _, tokens = make_async_api(Recorder(httpx.Response(401), httpx.Response(401)))
    with pytest.raises(KickAuthError):
        await api.get_users()
    assert tokens.sync.refreshes == 1


async def test_async_failed_refresh_raises_auth_error() -> None:
    recorder = Recorder(httpx.Response(401))
    api, _, _ = make_async_api(recorder, AsyncTokens(refresh_error=KickAuthError("revoked")))
    with pytest.raises(KickAuthError):
        await api.get_users()
    assert len(recorder.requests) == 1


async def test_async_429_raises_rate_limited() -> None:
    api, sleeps, _ = make_async_api(Recorder(httpx.Response(429, headers={"Retry-After": "2"})))
    with pytest.raises(RateLimited) as caught:
        await api.get_users()
    assert caught.value.retry_after == 2.0
    assert sleeps == []


async def test_async_500_500_200_retries_with_backoff() -> None:
    recorder = Recorder(httpx.Response(500), httpx.Response(500), ok("users"))
    api, sleeps, _ = make_async_api(recorder)
    await api.get_users()
    assert sleeps == [0.5, 1.0]


async def test_async_three_500s_raise_unavailable() -> None:
    api, sleeps, _ = make_async_api(Recorder(*[httpx.Response(500)] * 3))
    with pytest.raises(KickUnavailable):
        await api.get_users()
    assert sleeps == [0.5, 1.0]


async def test_async_timeouts_raise_unavailable() -> None:
    recorder = Recorder(*[httpx.ReadTimeout("timed out")] * 3)
    api, _, _ = make_async_api(recorder)
    with pytest.raises(KickUnavailable):
        await api.public_key()
    assert len(recorder.requests) == 3


async def test_async_junk_body_raises_bad_response() -> None:
    api, _, _ = make_async_api(Recorder(httpx.Response(200, text="not json")))
    with pytest.raises(KickBadResponse):
        await api.get_users()


async def test_async_owned_client_is_closed_by_the_context_manager() -> None:
    async with AsyncKickApi(base_url=BASE, tokens=AsyncTokens()) as api:
        inner = api._client
    assert inner.is_closed


def test_retry_after_as_http_date_is_converted_to_seconds() -> None:
    from kickbot.integrations.kick.errors import retry_after_seconds

    response = httpx.Response(429, headers={"Retry-After": "Fri, 06 Jun 2025 18:00:05 GMT"})
    now = datetime(2025, 6, 6, 18, 0, tzinfo=UTC).timestamp()
    assert retry_after_seconds(response, now=now) == 5.0


# --- what a failed chat send says about whether it may be sent again -------------------------------


@pytest.mark.parametrize(
    "failure",
    [
        httpx.ConnectError("[Errno 111] Connection refused"),
        httpx.ConnectError("[Errno -2] Name or service not known"),  # DNS
        httpx.ConnectError("[SSL: CERTIFICATE_VERIFY_FAILED]"),  # TLS, before the request
        httpx.ConnectTimeout("timed out"),
        httpx.Response(503),
    ],
)
def test_chat_that_never_reached_kick_raises_not_sent(failure: Answer) -> None:
    recorder = Recorder(failure, failure, failure)
    api, sleeps, _ = make_api(recorder)
    with pytest.raises(KickNotSent):
        api.send_chat(content="you won!", broadcaster_user_id=None)
    assert len(recorder.requests) == 3
    assert sleeps == [0.5, 1.0]


@pytest.mark.parametrize(
    "failure",
    [httpx.ReadTimeout("timed out"), httpx.RemoteProtocolError("disconnected"), httpx.Response(500)],
)
def test_chat_that_may_have_reached_kick_is_not_called_not_sent(failure: Answer) -> None:
    recorder = Recorder(failure)
    api, _, _ = make_api(recorder)
    with pytest.raises(KickUnavailable) as caught:
        api.send_chat(content="you won!", broadcaster_user_id=None)
    assert not isinstance(caught.value, KickNotSent)


def test_a_read_that_failed_after_reaching_kick_is_not_called_not_sent() -> None:
    # An idempotent call is resent either way; whether its last error says "not sent" depends on all.
    recorder = Recorder(httpx.ReadTimeout("t"), httpx.ConnectError("refused"), httpx.ConnectError("r"))
    api, _, _ = make_api(recorder)
    with pytest.raises(KickUnavailable) as caught:
        api.get_users()
    assert not isinstance(caught.value, KickNotSent)


async def test_async_chat_refused_at_connect_raises_not_sent() -> None:
    refused = httpx.ConnectError("[Errno 111] Connection refused")
    recorder = Recorder(refused, refused, refused)
    api, sleeps, _ = make_async_api(recorder)
    with pytest.raises(KickNotSent):
        await api.send_chat(content="you won!", broadcaster_user_id=None)
    assert len(recorder.requests) == 3


async def test_chat_whose_token_refresh_found_kick_unreachable_is_not_sent() -> None:
    recorder = Recorder(httpx.Response(401))
    api, _, _ = make_async_api(recorder, AsyncTokens(refresh_error=KickUnavailable("oauth down")))
    with pytest.raises(KickNotSent):
        await api.send_chat(content="you won!", broadcaster_user_id=None)
    assert len(recorder.requests) == 1
