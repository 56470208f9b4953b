"""Command and form text → typed values for the raffle services (pure functions).

The adapters that receive text (the Discord cog, the dashboard's forms) parse here and hand the
services dates, whole numbers and words; the services check what those values may be. A parse
error's message is the reply (``InvalidInput``, ``BadDate``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from typing import Literal

from kickbot.errors import InvalidInput
from raffle.errors import BadDate
from raffle.rules import REROLL_REASONS

DATE_RE = re.compile(
    r"([0-9]{4})-([0-9]{2})-([0-9]{2})"
)  # ASCII digits only (\\d also matches full-width digits)
BOARD_DEFAULT, BOARD_MAX = 10, 25
AMOUNT_HINT = "The amount must be a whole number of tickets, like 25."
CAMPAIGN_CODE_RE = re.compile(r"[a-z0-9_.\-]{1,64}")


def parse_date(text: str) -> date:
    raw = (text or "").strip()
    m = DATE_RE.fullmatch(raw)
    if not m:
        raise BadDate("Dates look like 2026-12-01 (YYYY-MM-DD).")
    try:
        return date(int(m[1]), int(m[2]), int(m[3]))
    except ValueError:
        raise BadDate("That date doesn't exist. Dates look like 2026-12-01 (YYYY-MM-DD).") from None


def parse_optional_date(text: str | None) -> date | None:
    """An omitted (or empty) date is None: the service picks its default."""
    return parse_date(text) if text else None


def parse_board_size(raw: str | None) -> int:
    if raw is None or raw == "":
        return BOARD_DEFAULT
    text = raw.strip()
    if not re.fullmatch(r"[0-9]{1,3}", text) or not 1 <= int(text) <= BOARD_MAX:
        raise InvalidInput(f"Show 1 to {BOARD_MAX} places, like raffleboard 10.")
    return int(text)


def parse_ticket_amount(text: str) -> int:
    """``rafflegive @member 25``: ASCII digits only (no sign, no exponent, no full-width digits).

    The range (1 to the raffle's maximum) is the service's check.
    """
    raw = str(text).strip()
    if not re.fullmatch(r"[0-9]{1,9}", raw):
        raise InvalidInput(AMOUNT_HINT)
    return int(raw)


@dataclass(frozen=True)
class DrawAction:
    """``raffledraw [reroll <reason> | fallback]``; ``reason`` is the reroll's first word, lower-cased."""

    kind: Literal["draw", "reroll", "fallback"]
    reason: str = ""


def parse_draw_action(text: str | None) -> DrawAction:
    """The action of ``raffledraw``; whether a reroll's reason is listed is the service's check."""
    word, _, rest = (text or "").strip().partition(" ")
    word = word.lower()
    if word == "":
        return DrawAction("draw")
    if word == "reroll":
        return DrawAction("reroll", rest.strip().split(" ", 1)[0].lower())
    if word == "fallback":
        return DrawAction("fallback")
    raise InvalidInput(
        "Use raffledraw, raffledraw reroll <" + "|".join(sorted(REROLL_REASONS)) + "> or raffledraw fallback."
    )


def shuffle_codes_parse(text: str) -> list[str]:
    """``"Code1, code2"`` → ``["code1", "code2"]`` (lower-cased, sorted, unique); empty = every code."""
    codes = {c.strip().lower() for c in (text or "").split(",") if c.strip()}
    for code in codes:
        if not CAMPAIGN_CODE_RE.fullmatch(code):
            raise InvalidInput("Campaign codes are letters, digits, '_', '.' or '-', separated by commas.")
    return sorted(codes)
