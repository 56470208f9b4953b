"""Kick emote markup out of a chat line, for the command parser only (stored chat keeps it).

Kick writes emotes inline as ``[emote:<id>:<name>]`` on Pusher and in webhooks; webhooks also
carry an ``emotes`` array of ``{"emote_id", "positions": [{"s", "e"}]}`` (inclusive character
offsets of those tokens). Both are handled: a webhook span is cut when the text there is an emote
token; a span that points elsewhere (offsets counted in another unit, say UTF-16 after an emoji,
or past the end) is ignored rather than trusted to cut into the command's arguments, and any
inline token left is cut by the pattern.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

EMOTE_TOKEN = re.compile(r"\[emote:\d+:[^\[\]\s]*\]")
_MARK = "[emote:"


def _span_ok(text: str, start: int, end: int) -> bool:
    """Whether ``text[start:end + 1]`` is an emote token a span may cut."""
    if start < 0 or end < start or end >= len(text):
        return False
    return EMOTE_TOKEN.fullmatch(text, start, end + 1) is not None


def strip_emotes(text: str, spans: Sequence[tuple[int, int]] = ()) -> str:
    """``"!sr sweet bonanza [emote:37226:KEKW]"`` → ``"!sr sweet bonanza"``; other text unchanged.

    Cheap for the common line: without spans and without ``[emote:`` nothing is scanned twice.
    """
    cut = False
    if spans:
        parts: list[str] = []
        pos = 0
        for start, end in sorted(spans):
            if start < pos or not _span_ok(text, start, end):
                continue
            parts.append(text[pos:start])
            parts.append(" ")
            pos = end + 1
        if pos:
            parts.append(text[pos:])
            text, cut = "".join(parts), True
    if _MARK in text:
        text, n = EMOTE_TOKEN.subn(" ", text)
        cut = cut or n > 0
    return " ".join(text.split()) if cut else text
