"""Slot request refusals use the shared ``kickbot.errors`` (``InvalidInput``, ``NotAllowed``)."""

from kickbot.errors import InvalidInput, KickbotError, NotAllowed

__all__ = ["InvalidInput", "KickbotError", "NotAllowed"]
