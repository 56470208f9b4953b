"""The one async → sync crossing: cogs and listeners reach services and selectors through ``run_sync``.

``database_sync_to_async`` runs the call in Django's sync thread and closes stale connections
around it, so no ORM call ever runs inside the event loop (LESSONS 16).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import ParamSpec, TypeVar, cast

from channels.db import database_sync_to_async

P = ParamSpec("P")
R = TypeVar("R")


def run_sync(func: Callable[P, R]) -> Callable[P, Awaitable[R]]:
    """``await run_sync(service)(community_id=1, ...)``."""
    return cast(Callable[P, Awaitable[R]], database_sync_to_async(func))
