"""Typed errors of the Shuffle client. Messages never contain the affiliate id (it is a secret)."""

from __future__ import annotations


class ShuffleError(Exception):
    """The stats could not be read; nothing should change because of this poll."""


class ShuffleUnavailable(ShuffleError):
    """Network error, timeout or an HTTP error status."""


class ShuffleRateLimited(ShuffleError):
    """HTTP 429, or Shuffle's ``{"statusCode": 4xx, "message": "TOO_MANY_REQUEST"}`` body (sent with 200)."""


class ShuffleBadResponse(ShuffleError):
    """The body is not the expected JSON list of rows."""
