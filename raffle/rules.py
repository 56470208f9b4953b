"""The rules a period commits to at open (``RafflePeriod.rules``) and how the services read them.

Every figure that decides tickets or the draw is read from the period's committed rules, never
from settings edited since (later edits apply to the next period). The defaults here are only for
periods whose rules predate a field. What the rules guarantee: ``docs/draw-proof.md`` (the book,
the committed round, rerolls, fallback) and ``docs/fairness.md``.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from raffle.draw import quicknet_round_at
from raffle.models import MIN_COMMIT_MARGIN_S, RafflePeriod

# Rerolls are only for these reasons (docs/draw-proof.md, "Rerolls"); the cap is a committed rule.
REROLL_REASONS = {
    "ineligible": "the winner is not eligible",
    "unreachable": "the winner could not be reached",
    "declined": "the winner declined the prize",
}
DEFAULT_MAX_REROLLS = 3
DEFAULT_MARGIN_S = 30
DEFAULT_FALLBACK_AFTER_S = 600
# The committed text of the fallback rule (docs/draw-proof.md, "Fallback"): nobody chooses the round.
FALLBACK_RULE = (
    "If every drand relay fails to give the committed round, from its emission on, for "
    "{after} minutes in a row of logged attempts, the draw uses instead the first quicknet round "
    "emitted at least {margin} s after the attempt that completed those minutes (unknown to anyone "
    "then). The attempts and every relay's answer are in the proof."
)


def committed_rate(period: RafflePeriod, name: str) -> int:
    """Rates come from the rules committed at open, never from settings edited since."""
    return int(period.rules[name])


def committed_margin(period: RafflePeriod) -> int:
    """The committed margin between the book's close and the round's emission (never under the minimum)."""
    return max(int(period.rules.get("commit_margin_s", DEFAULT_MARGIN_S)), MIN_COMMIT_MARGIN_S)


def committed_max_rerolls(period: RafflePeriod) -> int:
    return int(period.rules.get("max_rerolls", DEFAULT_MAX_REROLLS))


def committed_fallback_after(period: RafflePeriod) -> int:
    """Seconds of logged failures of the committed round before the fallback round follows by rule."""
    return int(period.rules.get("fallback_after_s", DEFAULT_FALLBACK_AFTER_S))


def commit_round(closes_at: datetime, margin_s: int) -> int:
    """The first quicknet round emitted at least ``margin_s`` after the book closes."""
    return quicknet_round_at((closes_at + timedelta(seconds=max(margin_s, MIN_COMMIT_MARGIN_S))).timestamp())
