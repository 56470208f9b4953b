"""Watchtime domain errors (the message is the reply)."""

from kickbot.errors import InvalidInput


class RoleRejected(InvalidInput):
    """A role cannot be used as a watchtime role; nothing changed."""
