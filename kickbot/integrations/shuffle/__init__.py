"""Shuffle affiliate stats client (wagers per referred username). Imports no Django app."""

from kickbot.integrations.shuffle.client import ShuffleClient, WagerRow, only_campaigns
from kickbot.integrations.shuffle.errors import (
    ShuffleBadResponse,
    ShuffleError,
    ShuffleRateLimited,
    ShuffleUnavailable,
)

__all__ = [
    "ShuffleBadResponse",
    "ShuffleClient",
    "ShuffleError",
    "ShuffleRateLimited",
    "ShuffleUnavailable",
    "WagerRow",
    "only_campaigns",
]
