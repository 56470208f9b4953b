from __future__ import annotations

import json

import pytest

from botworker.kick.sender import ELLIPSIS, KickChatSender, TokenBucket, clean_chat_text
from kickbot.integrations.kick import AsyncKickApi, KickError
from tests.fakes.kick_api import FakeKick


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("hello", "hello"),
        ("  two   spaces\n\nnewline\ttab ", "two spaces newline tab"),
        ("bell\x07 and nul\x00 and esc\x1b[31m", "bell and nul and esc[31m"),
        ("zero\u200bwidth rtl\u202eoverride", "zerowidth rtloverride"),
        ("emoji 🎰 stays, ünïcödé stays", "emoji 🎰 stays, ünïcödé stays"),
        ("", ""),
        ("\n\t ", ""),
    ],
)
def test_clean_chat_text(raw: str, expected: str) -> None:
    assert clean_chat_text(raw) == expected


def test_long_text_is_cut_on_a_word_boundary_with_ellipsis() -> None:
    text = " ".join(["word"] * 200)  # 999 chars
    out = clean_chat_text(text)
    assert len(out) <= 500
    assert out.endswith("word" + ELLIPSIS)


def test_one_long_word_is_cut_hard() -> None:
    out = clean_chat_text("x" * 1000)
    assert len(out) == 500 and out.endswith(ELLIPSIS)


async def test_token_bucket_limits_rate() -> None:
    now = [0.0]
    slept: list[float] = []

    async def sleep(s: float) -> None:
        slept.append(s)
        now[0] += s

    bucket = TokenBucket(rate=1.0, burst=2, clock=lambda: now[0], sleep=sleep)
    for _ in range(5):
        await bucket.acquire()
    # two from the burst, then one per second
    assert now[0] == pytest.approx(3.0)
    assert len(slept) == 3


def _sender(fake: FakeKick, broadcaster: int | None = 77) -> KickChatSender:
    tokens = fake.issue_tokens()

    class Tok:
        async def get(self) -> str:
            return tokens["access_token"]

        async def refresh(self) -> str:
            raise KickError("no")

    api = AsyncKickApi(base_url="http://kick.test", tokens=Tok(), client=fake.async_client())
    return KickChatSender(api=api, broadcaster_user_id=broadcaster, bucket=TokenBucket(rate=1000, burst=100))


async def test_send_posts_bot_message_with_reply_id() -> None:
    fake = FakeKick()
    sent = await _sender(fake).send("hi\x00 there", reply_to_message_id="msg-1")
    assert sent is not None and sent.is_sent
    body = json.loads(fake.requests[-1].content)
    assert body["type"] == "bot" and body["content"] == "hi there" and body["reply_to_message_id"] == "msg-1"


async def test_refused_bot_message_falls_back_to_user_type() -> None:
    fake = FakeKick()
    fake.fail_chat = [403]
    await _sender(fake).send("hello")
    assert [json.loads(r.content)["type"] for r in fake.requests] == ["bot", "user"]
    assert fake.chat[0]["broadcaster_user_id"] == 77


async def test_server_error_is_not_resent_as_user() -> None:
    fake = FakeKick()
    fake.fail_chat = [500]
    with pytest.raises(KickError):
        await _sender(fake).send("hello")
    assert fake.chat == []


async def test_empty_text_sends_nothing() -> None:
    fake = FakeKick()
    assert await _sender(fake).send("\x00\n ") is None
    assert fake.requests == []
