"""What moderators type into the hunt's forms and commands, read once for Discord and the dashboard."""

from __future__ import annotations

from kickbot.errors import InvalidInput
from kickbot.money import parse_amount

MSG_NUMBER = "Give the bonus number, like 3."


def money_field(text: str, what: str) -> int:
    """An amount in cents (0 allowed) or a refusal naming the field: ``Bet: That's not a number.``."""
    try:
        return parse_amount(text, allow_zero=True)
    except InvalidInput as exc:
        raise InvalidInput(f"{what}: {exc.message}") from exc


def bonus_number(text: str) -> int | None:
    """A bonus number as typed (``3`` or ``#3``); blank → None; anything else is refused."""
    value = text.strip().lstrip("#")
    if not value:
        return None
    if not (value.isascii() and value.isdigit()) or len(value) > 6 or int(value) < 1:
        raise InvalidInput(MSG_NUMBER)
    return int(value)
