"""Viewer text on its way into Discord: shown as typed, never as markup, mentions or links."""

from __future__ import annotations

import re
import unicodedata

from discord.utils import escape_markdown, escape_mentions

ZWSP = "\u200b"
_SPACES = re.compile(r"\s+")
# discord.py's escape_markdown leaves masked links "[text](url)" working: a viewer could show
# moderators a disguised link. A zero-width space between "]" and "(" breaks the link syntax.
_MASKED_LINK = re.compile(r"\]\s*\(")
# escape_mentions covers @everyone/@here and user mentions, not role or channel tags: those would
# still render as tags (AllowedMentions.none() already stops the ping itself).
_TAG = re.compile(r"<(@[!&]?|#)(\d+)>")


def one_line(raw: str) -> str:
    """Typed text as one line of printable text: NFC, control and format characters (NUL included)
    dropped, runs of whitespace squeezed to one space, ends stripped. Callers check the length."""
    text = "".join(ch for ch in unicodedata.normalize("NFC", raw) if unicodedata.category(ch)[0] != "C")
    return _SPACES.sub(" ", text).strip()


def discord_safe(text: str, *, limit: int | None = None) -> str:
    """Escape markdown, masked links and mentions (@everyone, @here, <@..>, <@&..>, <#..>) in ``text``."""
    if limit is not None:
        text = text[:limit]
    escaped = escape_mentions(escape_markdown(text))
    escaped = _MASKED_LINK.sub(f"]{ZWSP}(", escaped)
    return _TAG.sub(lambda m: f"<{ZWSP}{m.group(1)}{m.group(2)}>", escaped)
