from __future__ import annotations

import pytest

from kickbot.text import discord_safe


@pytest.mark.parametrize(
    ("raw", "must_not_contain"),
    [
        ("[free spins](https://evil.example)", "](https://"),
        ("@everyone gates", "@everyone"),
        ("@here now", "@here"),
        ("<@&123456> role ping", "<@&123456>"),
        ("**bold** and __under__", "**bold**"),
        ("`code` ||spoiler||", "||spoiler||"),
    ],
)
def test_viewer_text_cannot_become_markup_links_or_pings(raw: str, must_not_contain: str) -> None:
    assert must_not_contain not in discord_safe(raw)


def test_plain_text_and_unicode_survive() -> None:
    assert discord_safe("Book of Dead 🎰 ünïcödé") == "Book of Dead 🎰 ünïcödé"


def test_limit_cuts_before_escaping() -> None:
    assert discord_safe("x" * 50, limit=10) == "x" * 10
