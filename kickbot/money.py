"""Money amounts typed by people: ``1500``, ``1,500``, ``$1,500.50``, ``1.5k``, ``2m`` → integer cents.

The one home of money typed by people (``!gtb``, the bonus hunt, the dashboard's forms).
Pure: no Django models, no I/O. Every refusal is an ``InvalidInput`` with its own short message,
fit to send back to Kick chat as it is (docs/lessons.md #20: ``nan`` and ``1e3`` were once accepted).
"""

from __future__ import annotations

import re
import unicodedata
from decimal import Decimal, InvalidOperation

from django.conf import settings

from kickbot.errors import InvalidInput

# Default ceiling for a guess or a final balance: $100,000,000 (settings.GTB_MAX_AMOUNT_CENTS).
DEFAULT_MAX_AMOUNT_CENTS = 100_000_000 * 100
# Longer than any sane amount ("$100,000,000.00" is 15): refuse before any regex work.
MAX_INPUT_CHARS = 32

_SUFFIX = {"": 1, "k": 1_000, "m": 1_000_000}
# Digits with correct thousands grouping (or none), optional decimals, optional k/m suffix.
_AMOUNT = re.compile(r"(?P<int>\d{1,3}(?:,\d{3})+|\d+)?(?:\.(?P<frac>\d+))?(?P<suffix>[km]?)", re.ASCII)
_EXPONENT = re.compile(r"\d\s*e\s*[+-]?\d", re.ASCII)
_NOT_A_NUMBER = {"nan", "+nan", "-nan", "snan"}
_INFINITY = {"inf", "+inf", "-inf", "infinity", "+infinity", "-infinity", "∞"}
# Hyphen, minus sign, en and em dash: all read as "negative".
_MINUS = ("-", "\u2212", "\u2013", "\u2014")

MSG_EMPTY = "Add an amount, like 1500 or 1.5k."
MSG_TOO_LONG = "That's too long for an amount."
MSG_NAN = "That's not a number."
MSG_INFINITY = "Infinity is not a balance."
MSG_NEGATIVE = "The amount can't be negative."
MSG_EXPONENT = "Write the amount out, like 1500 or 1.5k (no 1e3)."
MSG_GROUPING = "Commas go every three digits, like 1,500."
MSG_DECIMALS = "At most two decimals (cents)."
MSG_ZERO = "The amount must be more than $0."
MSG_JUNK = "That's not an amount. Try 1500, $1,500.50 or 1.5k."


def max_amount_cents() -> int:
    return int(getattr(settings, "GTB_MAX_AMOUNT_CENTS", DEFAULT_MAX_AMOUNT_CENTS))


def format_cents(cents: int) -> str:
    """``150050`` → ``"$1,500.50"``; whole dollars drop the cents: ``150000`` → ``"$1,500"``."""
    dollars, rest = divmod(abs(cents), 100)
    sign = "-" if cents < 0 else ""
    return f"{sign}${dollars:,}" if rest == 0 else f"{sign}${dollars:,}.{rest:02d}"


def parse_amount(text: str, *, max_cents: int | None = None, allow_zero: bool = False) -> int:
    """Parse a typed amount to cents, or raise ``InvalidInput`` saying what is wrong with it.

    ``allow_zero``: ``0`` is an amount (a bonus that paid nothing); otherwise it is refused.
    """
    ceiling = max_cents if max_cents is not None else max_amount_cents()
    if len(text) > MAX_INPUT_CHARS * 4:  # before normalising: NFKC can grow a string
        raise InvalidInput(MSG_TOO_LONG)
    # NFKC turns full-width digits and signs (U+FF11.., U+FF04) and odd spaces into ASCII ones.
    value = unicodedata.normalize("NFKC", text).strip().lower()
    if not value:
        raise InvalidInput(MSG_EMPTY)
    if len(value) > MAX_INPUT_CHARS:
        raise InvalidInput(MSG_TOO_LONG)
    bare = value.replace("$", "").replace(" ", "")
    if bare in _NOT_A_NUMBER:
        raise InvalidInput(MSG_NAN)
    if bare in _INFINITY:
        raise InvalidInput(MSG_INFINITY)
    if bare.startswith(_MINUS):
        raise InvalidInput(MSG_NEGATIVE)
    if _EXPONENT.search(bare):
        raise InvalidInput(MSG_EXPONENT)
    if value.startswith("$"):
        value = value[1:].lstrip()
    match = _AMOUNT.fullmatch(value)
    if match is None or not (match["int"] or match["frac"]):
        if re.fullmatch(r"[\d,]+(?:\.\d+)?[km]?", value, re.ASCII) and "," in value:
            raise InvalidInput(MSG_GROUPING)
        raise InvalidInput(MSG_JUNK)
    try:
        number = Decimal((match["int"] or "0").replace(",", "") + "." + (match["frac"] or "0"))
    except InvalidOperation as exc:  # unreachable with the regex above; kept as a guard
        raise InvalidInput(MSG_JUNK) from exc
    cents = number * _SUFFIX[match["suffix"]] * 100
    if cents != cents.to_integral_value():
        raise InvalidInput(MSG_DECIMALS)
    if cents < 0 or (cents == 0 and not allow_zero):
        raise InvalidInput(MSG_ZERO)
    if cents > ceiling:
        raise InvalidInput(f"That's more than {format_cents(ceiling)}, the most it can be.")
    return int(cents)
