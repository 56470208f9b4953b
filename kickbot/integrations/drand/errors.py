"""Typed errors of the drand client (plain exceptions: no Django, safe to import anywhere)."""

from __future__ import annotations


class DrandError(Exception):
    """Base class: the beacon could not be obtained."""


class BeaconUnavailable(DrandError):
    """No relay returned a verified beacon; ``reason`` says what each relay did."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class BeaconNotYet(DrandError):
    """The round is not emitted yet (in the future by the clock, or a relay said 404/425)."""

    def __init__(self, round: int, reason: str = "") -> None:
        super().__init__(f"drand round {round} is not available yet" + (f": {reason}" if reason else ""))
        self.round = round
        self.reason = reason
