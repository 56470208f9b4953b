"""The hunt's arithmetic, pure: cents in, cents and exact multipliers out (no Django, no I/O).

- total cost = start balance + the costs of bought bonuses (the start balance is what collecting the
  landed bonuses cost; a buy is paid on top);
- total won = the wins of the opened bonuses; profit = total won - total cost (negative: a loss);
- a bonus's multiplier = win / bet; a bonus with a bet of 0 has none (it still adds its win);
- average multiplier = won / bet over the opened bonuses with a bet (bet-weighted, the same kind of
  figure as the break-even, so the two compare);
- best multiplier = the largest multiplier of an opened bonus;
- break-even multiplier = (total cost - total won) / the bets of the unopened bonuses: the average
  the rest must pay to get the money back. Nothing left unopened: there is none (``NONE_LEFT``);
  already back in profit: 0 (``REACHED``); the unopened bonuses all bet 0 and money is still
  missing: no multiplier can do it (``IMPOSSIBLE``), never a division by zero.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import ROUND_CEILING, ROUND_HALF_UP, Decimal
from fractions import Fraction

from kickbot.money import format_cents

SYMBOLS = {"USD": "$", "EUR": "€", "GBP": "£", "CAD": "CA$", "AUD": "A$"}

BREAK_EVEN_OK = "ok"
NONE_LEFT = "none_left"
REACHED = "reached"
IMPOSSIBLE = "impossible"


@dataclass(frozen=True)
class BonusFigures:
    position: int
    slot_name: str
    bet_cents: int
    cost_cents: int | None
    win_cents: int | None

    @property
    def opened(self) -> bool:
        return self.win_cents is not None

    @property
    def multiplier(self) -> Fraction | None:
        if self.win_cents is None or self.bet_cents == 0:
            return None
        return Fraction(self.win_cents, self.bet_cents)


@dataclass(frozen=True)
class HuntFigures:
    bonus_count: int
    opened_count: int
    total_cost_cents: int
    total_won_cents: int
    profit_cents: int
    average_multiplier: Fraction | None
    best: BonusFigures | None
    break_even: Fraction | None
    break_even_state: str

    @property
    def best_multiplier(self) -> Fraction | None:
        return self.best.multiplier if self.best else None


def hunt_figures(*, start_balance_cents: int, bonuses: Sequence[BonusFigures]) -> HuntFigures:
    total_cost = start_balance_cents + sum(b.cost_cents or 0 for b in bonuses)
    opened = [b for b in bonuses if b.opened]
    unopened = [b for b in bonuses if not b.opened]
    won = sum(b.win_cents or 0 for b in opened)
    with_bet = [b for b in opened if b.bet_cents > 0]
    bet_opened = sum(b.bet_cents for b in with_bet)
    average = Fraction(sum(b.win_cents or 0 for b in with_bet), bet_opened) if bet_opened else None
    best = max(with_bet, key=lambda b: (b.multiplier, -b.position), default=None)
    missing = total_cost - won
    bet_left = sum(b.bet_cents for b in unopened)
    if not unopened:
        break_even, state = None, NONE_LEFT
    elif missing <= 0:
        break_even, state = Fraction(0), REACHED
    elif bet_left == 0:
        break_even, state = None, IMPOSSIBLE
    else:
        break_even, state = Fraction(missing, bet_left), BREAK_EVEN_OK
    return HuntFigures(
        bonus_count=len(bonuses),
        opened_count=len(opened),
        total_cost_cents=total_cost,
        total_won_cents=won,
        profit_cents=won - total_cost,
        average_multiplier=average,
        best=best,
        break_even=break_even,
        break_even_state=state,
    )


def format_x(value: Fraction | None, *, rounding: str = ROUND_HALF_UP) -> str:
    """``Fraction(2469, 20)`` → ``"123.45x"`` (half up, two decimals, trailing zeros dropped); None → "-"."""
    if value is None:
        return "-"
    exact = Decimal(value.numerator) / Decimal(value.denominator)
    text = f"{exact.quantize(Decimal('0.01'), rounding=rounding):,}"
    return (text.rstrip("0").rstrip(".") if "." in text else text) + "x"


def format_money(cents: int, currency: str = "USD") -> str:
    """Cents in the hunt's currency: ``-150050, "EUR"`` → ``"-€1,500.50"``."""
    return format_cents(cents).replace("$", SYMBOLS.get(currency, "$"), 1)


def break_even_text(figures: HuntFigures) -> str:
    if figures.break_even_state == NONE_LEFT:
        return "nothing left to open"
    if figures.break_even_state == REACHED:
        return "reached"
    if figures.break_even_state == IMPOSSIBLE:
        return "out of reach (the rest bet 0)"
    # A target: rounded up, so the figure shown is enough (half up showed 1 cent owed as "0x").
    return format_x(figures.break_even, rounding=ROUND_CEILING)
