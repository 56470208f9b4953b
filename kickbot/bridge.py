"""The one async → sync crossing: cogs and listeners reach services and selectors through ``run_sync``.

``database_sync_to_async`` runs the call in Django's sync thread and closes stale connections
around it, so no ORM call ever runs inside the event loop (docs/lessons.md #16).

A call made with ``run_sync(service, idempotent=True)`` that fails because the database server ended
the connection under it (restart, failover, ``pg_terminate_backend``) runs once more on a new
connection. Only such calls: a lost connection does not say that nothing was written. The COMMIT may
have reached the server with its answer lost, or the call may have committed a statement or a
transaction before the one that failed; running it again then does the work twice (a second timed
message, a second reroll of a drawn raffle). ``idempotent=True`` is the caller's word that every
write of the call is keyed (outbox dedupe key, ledger source key, an upsert), so that a second run
does nothing more. Without it an event from Pusher, which Kick never sends again, would be lost
with the connection.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Awaitable, Callable
from typing import ParamSpec, TypeVar, cast

from channels.db import database_sync_to_async
from django.db import InterfaceError, OperationalError, connection

P = ParamSpec("P")
R = TypeVar("R")

log = logging.getLogger(__name__)


# SQLSTATE classes of a connection the server ended: connection exception, operator intervention
# (admin or crash shutdown: a restart, a failover, pg_terminate_backend).
_LOST = ("08", "57P")


def _connection_lost(exc: Exception) -> bool:
    """Whether ``exc`` says the server ended the connection, rather than refused the statement.

    Postgres only (SQLite has no server to lose: "database is locked" is not retried). Client-side
    connection errors carry no SQLSTATE ("server closed the connection unexpectedly").
    """
    cause = exc.__cause__  # the driver's error; psycopg's all have ``sqlstate`` (maybe None)
    if connection.vendor != "postgresql" or not hasattr(cause, "sqlstate"):
        return False
    state = getattr(cause, "sqlstate", None)
    return state is None or str(state).startswith(_LOST)


def _once_more_on_lost_connection(func: Callable[P, R]) -> Callable[P, R]:
    @functools.wraps(func)
    def call(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return func(*args, **kwargs)
        except (OperationalError, InterfaceError) as exc:
            if connection.in_atomic_block or not _connection_lost(exc):
                raise
            log.warning(
                "database connection lost in %s (%s); running it again on a new one",
                getattr(func, "__qualname__", func),
                type(exc.__cause__).__name__,
            )
            connection.close()  # Django may have reconnected already, or not
            return func(*args, **kwargs)

    return call


def run_sync(func: Callable[P, R], *, idempotent: bool = False) -> Callable[P, Awaitable[R]]:
    """``await run_sync(service)(community_id=1, ...)``.

    ``idempotent=True``: ``func`` may run twice (every write keyed), so it runs once more when the
    server ended the connection mid-call.
    """
    if idempotent:
        func = _once_more_on_lost_connection(func)
    return cast(Callable[P, Awaitable[R]], database_sync_to_async(func))
