"""The hunt's arithmetic on worked examples, including zero bets and a hunt with nothing left."""

from __future__ import annotations

from fractions import Fraction

from hunts.figures import (
    BREAK_EVEN_OK,
    IMPOSSIBLE,
    NONE_LEFT,
    REACHED,
    BonusFigures,
    break_even_text,
    format_money,
    format_x,
    hunt_figures,
)


def b(
    position: int, bet: int, win: int | None = None, cost: int | None = None, slot: str = ""
) -> BonusFigures:
    return BonusFigures(
        position=position, slot_name=slot or f"slot{position}", bet_cents=bet, cost_cents=cost, win_cents=win
    )


def test_worked_example_half_opened() -> None:
    # $1,000 start; four bonuses at $2, $2, $5, $1; a $200 buy on the $1 one.
    # Opened: #1 won $100 (50x), #2 won $0 (0x). Cost 1000 + 200 = $1,200, won $100, profit -$1,100.
    # Still missing $1,100 on $5 + $1 of unopened bets: break-even 1100 / 6 = 183.333…x.
    figures = hunt_figures(
        start_balance_cents=1000_00,
        bonuses=[b(1, 2_00, 100_00), b(2, 2_00, 0), b(3, 5_00), b(4, 1_00, cost=200_00)],
    )
    assert figures.bonus_count == 4 and figures.opened_count == 2
    assert figures.total_cost_cents == 1200_00
    assert figures.total_won_cents == 100_00
    assert figures.profit_cents == -1100_00
    assert figures.average_multiplier == Fraction(25)  # $100 won on $4 bet
    assert figures.best is not None and figures.best.position == 1
    assert figures.best_multiplier == Fraction(50)
    assert figures.break_even == Fraction(1100, 6)
    assert figures.break_even_state == BREAK_EVEN_OK
    assert break_even_text(figures) == "183.34x"  # rounded up: 183.33x would fall short


def test_all_opened_has_no_break_even_and_a_final_profit() -> None:
    figures = hunt_figures(
        start_balance_cents=500_00, bonuses=[b(1, 1_00, 300_00), b(2, 4_00, 400_00), b(3, 2_50, 1_25)]
    )
    assert figures.break_even is None and figures.break_even_state == NONE_LEFT
    assert break_even_text(figures) == "nothing left to open"
    assert figures.total_won_cents == 701_25
    assert figures.profit_cents == 201_25
    assert figures.best_multiplier == Fraction(300)
    assert figures.average_multiplier == Fraction(701_25, 7_50)  # 93.5x
    assert format_x(figures.average_multiplier) == "93.5x"


def test_zero_bet_bonus_has_no_multiplier_but_its_win_counts() -> None:
    figures = hunt_figures(start_balance_cents=100_00, bonuses=[b(1, 0, 50_00), b(2, 1_00)])
    assert figures.total_won_cents == 50_00
    assert figures.average_multiplier is None  # the only opened bonus bet 0: no division by zero
    assert figures.best is None
    assert figures.break_even == Fraction(50)  # $50 missing on $1 left


def test_unopened_all_zero_bets_is_out_of_reach_not_a_division_by_zero() -> None:
    figures = hunt_figures(start_balance_cents=100_00, bonuses=[b(1, 0), b(2, 0)])
    assert figures.break_even is None and figures.break_even_state == IMPOSSIBLE
    assert break_even_text(figures) == "out of reach (the rest bet 0)"


def test_already_in_profit_needs_zero() -> None:
    figures = hunt_figures(start_balance_cents=10_00, bonuses=[b(1, 1_00, 50_00), b(2, 1_00)])
    assert figures.break_even == 0 and figures.break_even_state == REACHED
    assert break_even_text(figures) == "reached"


def test_exactly_even_counts_as_reached() -> None:
    figures = hunt_figures(start_balance_cents=10_00, bonuses=[b(1, 1_00, 10_00), b(2, 1_00)])
    assert figures.profit_cents == 0 and figures.break_even_state == REACHED


def test_empty_hunt() -> None:
    figures = hunt_figures(start_balance_cents=0, bonuses=[])
    assert figures.bonus_count == 0 and figures.total_cost_cents == 0 and figures.profit_cents == 0
    assert figures.average_multiplier is None and figures.best is None
    assert figures.break_even_state == NONE_LEFT


def test_free_hunt_of_zero_start_and_zero_bets_with_nothing_opened() -> None:
    # Nothing missing (cost 0) though every bet is 0: reached, not impossible.
    figures = hunt_figures(start_balance_cents=0, bonuses=[b(1, 0)])
    assert figures.break_even_state == REACHED


def test_best_multiplier_tie_goes_to_the_earlier_bonus() -> None:
    figures = hunt_figures(start_balance_cents=0, bonuses=[b(2, 1_00, 10_00), b(1, 2_00, 20_00)])
    assert figures.best is not None and figures.best.position == 1


def test_formatting() -> None:
    assert format_x(Fraction(2469, 20)) == "123.45x"
    assert format_x(Fraction(1, 200)) == "0.01x"  # half up
    assert format_x(Fraction(1, 201)) == "0x"
    assert format_x(Fraction(123456)) == "123,456x"
    assert format_x(None) == "-"
    assert format_money(-150050, "EUR") == "-€1,500.50"
    assert format_money(1500_00) == "$1,500"
    assert format_money(99, "GBP") == "£0.99"
