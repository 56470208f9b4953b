"""The amount parser: what viewers type → cents, and one short reason for every refusal."""

from __future__ import annotations

import pytest

from kickbot import money as parsing
from kickbot.errors import InvalidInput
from kickbot.money import format_cents, parse_amount

ACCEPTED = [
    ("1500", 150_000),
    ("1,500", 150_000),
    ("$1,500.50", 150_050),
    ("$1500", 150_000),
    ("$ 1500", 150_000),
    (" 1500 ", 150_000),
    ("1.5k", 150_000),
    ("1.5K", 150_000),
    ("2m", 200_000_000),
    ("0.5m", 50_000_000),
    (".5k", 50_000),
    ("1,234,567.89", 123_456_789),
    ("12.3", 1_230),
    ("0.01", 1),
    ("１５００", 150_000),  # full-width digits
    ("＄１，５００", 150_000),  # full-width dollar and comma
    ("1.23456k", 123_456),  # $1,234.56: still whole cents
    ("100000000", 10_000_000_000),  # exactly the ceiling
    ("100m", 10_000_000_000),
]

REFUSED = [
    ("", parsing.MSG_EMPTY),
    ("   ", parsing.MSG_EMPTY),
    ("abc", parsing.MSG_JUNK),
    ("nan", parsing.MSG_NAN),
    ("NaN", parsing.MSG_NAN),
    ("inf", parsing.MSG_INFINITY),
    ("-inf", parsing.MSG_INFINITY),
    ("Infinity", parsing.MSG_INFINITY),
    ("-5", parsing.MSG_NEGATIVE),
    ("$-5", parsing.MSG_NEGATIVE),
    ("\u22125", parsing.MSG_NEGATIVE),  # the minus sign, not a hyphen
    ("1e3", parsing.MSG_EXPONENT),
    ("1E+3", parsing.MSG_EXPONENT),
    ("1,50,0", parsing.MSG_GROUPING),
    ("1500,50", parsing.MSG_GROUPING),
    ("1.505", parsing.MSG_DECIMALS),
    ("0.001", parsing.MSG_DECIMALS),
    ("1.2345678k", parsing.MSG_DECIMALS),
    ("0", parsing.MSG_ZERO),
    ("0.00", parsing.MSG_ZERO),
    ("$0", parsing.MSG_ZERO),
    ("x" * 200, parsing.MSG_TOO_LONG),
    ("1" * 200, parsing.MSG_TOO_LONG),
    ("1.5.5", parsing.MSG_JUNK),
    ("1500 dollars", parsing.MSG_JUNK),
    ("@everyone", parsing.MSG_JUNK),
    ("0x10", parsing.MSG_JUNK),
    ("١٥٠٠", parsing.MSG_JUNK),  # Arabic-Indic digits: not ASCII after NFKC
    ("1 500", parsing.MSG_JUNK),
    ("1.5b", parsing.MSG_JUNK),
    ("+1500", parsing.MSG_JUNK),
]


@pytest.mark.parametrize(("text", "cents"), ACCEPTED)
def test_accepted_amounts_parse_to_cents(text: str, cents: int) -> None:
    assert parse_amount(text) == cents


@pytest.mark.parametrize(("text", "message"), REFUSED)
def test_refused_amounts_say_why(text: str, message: str) -> None:
    with pytest.raises(InvalidInput) as excinfo:
        parse_amount(text)
    assert excinfo.value.message == message


def test_table_covers_at_least_25_inputs() -> None:
    assert len(ACCEPTED) + len(REFUSED) >= 25


@pytest.mark.parametrize("text", ["100000000.01", "101m", "1000000k"])
def test_more_than_the_ceiling_is_refused_naming_it(text: str) -> None:
    with pytest.raises(InvalidInput, match=r"more than \$100,000,000"):
        parse_amount(text)


def test_ceiling_comes_from_settings(settings: object) -> None:
    settings.GTB_MAX_AMOUNT_CENTS = 1_000_00  # type: ignore[attr-defined]
    assert parse_amount("1000") == 1_000_00
    with pytest.raises(InvalidInput, match=r"more than \$1,000"):
        parse_amount("1000.01")


def test_every_refusal_message_is_short() -> None:
    for _text, message in REFUSED:
        assert len(message) <= 80


@pytest.mark.parametrize(
    ("cents", "text"), [(150_000, "$1,500"), (150_050, "$1,500.50"), (5, "$0.05"), (-150, "-$1.50")]
)
def test_format_cents(cents: int, text: str) -> None:
    assert format_cents(cents) == text
