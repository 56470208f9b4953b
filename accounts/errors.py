"""Errors of the link flow: the message is shown as it is on the result page or in Discord."""

from __future__ import annotations

from kickbot.errors import KickbotError


class LinkFailed(KickbotError):
    """A link step was refused; ``reason`` is a stable code for audit rows and tests."""

    def __init__(self, message: str, *, reason: str, status: int = 400, title: str = "Link not made") -> None:
        super().__init__(message)
        self.reason = reason
        self.status = status
        self.title = title


class LinkingDisabled(KickbotError):
    """Kick OAuth is not configured on this deployment."""
