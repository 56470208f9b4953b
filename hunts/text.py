"""How a hunt reads in a chat line: the one summary ``!hunt``, Discord and the dashboard share."""

from __future__ import annotations

from hunts.figures import break_even_text, format_money, format_x
from hunts.selectors import HuntView

KICK_MAX = 480  # Kick chat takes 500 characters

STATUS_WORDS = {"collecting": "collecting", "opening": "opening", "finished": "finished"}


def summary_line(view: HuntView | None, *, max_length: int = KICK_MAX) -> str:
    """``Bonus hunt "Friday" (opening): 3/12 opened, cost $1,200, won $340, profit -$860, ...``."""
    if view is None:
        return "No bonus hunt yet."
    f = view.figures

    def money(cents: int) -> str:
        return format_money(cents, view.currency)

    parts = [f"{f.opened_count}/{f.bonus_count} opened", f"cost {money(f.total_cost_cents)}"]
    if f.opened_count:
        parts += [f"won {money(f.total_won_cents)}", f"profit {money(f.profit_cents)}"]
        parts.append(f"avg {format_x(f.average_multiplier)}")
        if f.best is not None:
            parts.append(f"best {format_x(f.best_multiplier)} ({f.best.slot_name})")
    if view.running and f.bonus_count:
        parts.append(f"break-even {break_even_text(f)}")
    line = f'Bonus hunt "{view.title}" ({STATUS_WORDS.get(view.status, view.status)}): ' + ", ".join(parts)
    return line if len(line) <= max_length else line[: max_length - 1] + "…"
