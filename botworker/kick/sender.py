"""Kick chat out: text cleaning, an outbound rate limit, and the send with bot → user fallback."""

from __future__ import annotations

import asyncio
import logging
import re
import time
import unicodedata
from collections.abc import Callable
from datetime import UTC, datetime

from kickbot.integrations.kick import AsyncKickApi, KickError, SentMessage

log = logging.getLogger(__name__)

MAX_CHARS = 500
ELLIPSIS = "…"
_SPACES = re.compile(r"\s+")


def clean_chat_text(text: str, *, limit: int = MAX_CHARS) -> str:
    """Strip control and format characters, fold whitespace, cut at a word boundary with …."""
    kept = "".join(
        " " if ch in "\r\n\t" else ch
        for ch in text
        if ch in "\r\n\t" or unicodedata.category(ch) not in {"Cc", "Cf", "Cs", "Co", "Cn"}
    )
    folded = _SPACES.sub(" ", kept).strip()
    if len(folded) <= limit:
        return folded
    cut = folded[: limit - len(ELLIPSIS)]
    space = cut.rfind(" ")
    if space >= limit // 2:  # cut on a word boundary unless that would lose half the text
        cut = cut[:space]
    return cut.rstrip() + ELLIPSIS


class TokenBucket:
    """``rate`` tokens per second, at most ``burst`` saved up. ``acquire`` waits for one."""

    def __init__(
        self,
        *,
        rate: float = 1.0,
        burst: int = 2,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], object] = asyncio.sleep,
    ) -> None:
        if rate <= 0 or burst < 1:
            raise ValueError("rate must be > 0 and burst >= 1")
        self.rate, self.burst = rate, burst
        self.clock, self.sleep = clock, sleep
        self.tokens = float(burst)
        self.updated = clock()
        self._lock = asyncio.Lock()

    def _refill(self) -> None:
        now = self.clock()
        self.tokens = min(self.burst, self.tokens + (now - self.updated) * self.rate)
        self.updated = now

    async def acquire(self) -> None:
        async with self._lock:
            while True:
                self._refill()
                if self.tokens >= 1:
                    self.tokens -= 1
                    return
                await self.sleep((1 - self.tokens) / self.rate)  # type: ignore[misc]


class ReplyExpired(Exception):
    """The message's deadline passed while it waited for its turn: it was not sent."""


class KickChatSender:
    """Sends as the bot; if Kick refuses a bot message, sends as the connected user instead."""

    def __init__(self, *, api: AsyncKickApi, broadcaster_user_id: int | None, bucket: TokenBucket) -> None:
        self.api = api
        self.broadcaster_user_id = broadcaster_user_id
        self.bucket = bucket

    async def send(
        self, text: str, *, reply_to_message_id: str | None = None, not_after: datetime | None = None
    ) -> SentMessage | None:
        """Send ``text``; raises :class:`ReplyExpired` when ``not_after`` passed while it waited."""
        content = clean_chat_text(text)
        if not content:
            return None
        await self.bucket.acquire()
        if not_after is not None and datetime.now(UTC) >= not_after:
            raise ReplyExpired(f"expired {(datetime.now(UTC) - not_after).total_seconds():.1f} s ago")
        try:
            return await self.api.send_chat(
                content=content,
                broadcaster_user_id=self.broadcaster_user_id,
                type="bot",
                reply_to_message_id=reply_to_message_id,
            )
        except KickError as exc:
            # 401s were already refreshed and retried by the client; a 4xx here is a refusal of
            # the bot type itself (e.g. an app without bot chat), which the user type may pass.
            if self.broadcaster_user_id is None or exc.status_code not in {400, 403, 422}:
                raise
            log.info("bot-type chat refused (%s); sending as user", getattr(exc, "status_code", "?"))
            return await self.api.send_chat(
                content=content,
                broadcaster_user_id=self.broadcaster_user_id,
                type="user",
                reply_to_message_id=reply_to_message_id,
            )
