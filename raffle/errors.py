"""Raffle errors: the message is shown to the viewer or moderator as it is."""

from __future__ import annotations

from kickbot.errors import InvalidInput, KickbotError


class NoOpenPeriod(KickbotError):
    """There is no open raffle to write to."""


class PeriodNotOpen(KickbotError):
    """The period is frozen or drawn: its ledger is closed."""


class DrawWaiting(KickbotError):
    """The draw cannot happen yet (beacon not emitted or unreachable); the message says why."""


class BadDate(InvalidInput):
    """A date argument was not a real YYYY-MM-DD date or the range makes no sense."""
