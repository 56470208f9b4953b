"""Who may keep a dashboard websocket open, and how many each user may have.

A websocket is authorised once, at connect; these keep it honest afterwards (issue 16):

- every open websocket of a user is in that user's group; a change to the user's roles,
  permissions, active flag or password is sent there on commit and each socket checks its session
  again (:func:`access_recheck_on_commit`), closing if it may no longer view the dashboard;
- a logout closes the sockets of that session (:func:`access_revoke_session`);
- each socket also checks again every ``DASHBOARD_WS_RECHECK_SECONDS`` (a session that expired,
  a change made without the ORM);
- at most ``DASHBOARD_WS_MAX_PER_USER`` sockets per user, counted in Redis across web processes:
  a slot lives three recheck intervals unless its socket renews it, so a crashed process frees
  its slots by itself.
"""

from __future__ import annotations

import hashlib
import logging
import time
from collections.abc import Iterable
from types import SimpleNamespace
from typing import Any

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.conf import settings
from django.contrib import auth
from django.db import transaction
from django.utils.module_loading import import_string

from dashboard.roles import PERM_VIEW
from kickbot.redis_client import get_redis, key

log = logging.getLogger(__name__)

# Drop expired slots, then add this one if the user is under the cap (or renew it if present).
_TAKE = """
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', ARGV[1])
if not redis.call('ZSCORE', KEYS[1], ARGV[3]) and redis.call('ZCARD', KEYS[1]) >= tonumber(ARGV[2]) then
  return 0
end
redis.call('ZADD', KEYS[1], ARGV[4], ARGV[3])
redis.call('EXPIRE', KEYS[1], ARGV[5])
return 1
"""


def user_group(user_id: int) -> str:
    return f"dashboard.user.{user_id}"


def _slots_key(user_id: int) -> str:
    return key("ws", "user", user_id)


def _slot_ttl() -> int:
    return 3 * settings.DASHBOARD_WS_RECHECK_SECONDS


def ws_slot_take(*, user_id: int, channel: str, now: float | None = None) -> bool:
    """Hold (or renew) one of the user's websocket slots; False when all are taken. Atomic."""
    now = time.time() if now is None else now
    ttl = _slot_ttl()
    taken = get_redis().eval(
        _TAKE, 1, _slots_key(user_id), now, settings.DASHBOARD_WS_MAX_PER_USER, channel, now + ttl, ttl
    )
    return bool(taken)


def ws_slot_release(*, user_id: int, channel: str) -> None:
    get_redis().zrem(_slots_key(user_id), channel)


def ws_session_allows(*, user_id: int, session_key: str | None) -> bool:
    """Whether the session still logs in ``user_id`` with the dashboard's view permission.

    Read fresh from the session store and the database: a logout, a changed password (Django's
    session hash), a deactivated user or a removed role each make it False.
    """
    if not session_key:
        return False
    store = import_string(settings.SESSION_ENGINE + ".SessionStore")(session_key)
    user = auth.get_user(SimpleNamespace(session=store))  # type: ignore[arg-type]
    return bool(user.is_authenticated and user.pk == user_id and user.has_perm(PERM_VIEW))


def _send(group: str, message: dict[str, Any]) -> None:
    layer = get_channel_layer()
    if layer is None:
        return
    try:
        async_to_sync(layer.group_send)(group, message)
    except Exception:
        log.warning("could not reach the websockets of %s", group, exc_info=True)


def access_recheck_on_commit(user_ids: Iterable[int]) -> None:
    """Once the current transaction commits, every open websocket of these users checks again."""
    ids = sorted(set(user_ids))
    if not ids:
        return

    def send() -> None:
        for user_id in ids:
            _send(user_group(user_id), {"type": "access.recheck"})

    transaction.on_commit(send)


def session_tag(session_key: str | None) -> str:
    """What names a session in a message: a hash, so the session key itself never travels."""
    return hashlib.sha256((session_key or "").encode()).hexdigest()[:32]


def access_revoke_session(*, user_id: int, session_key: str | None) -> None:
    """Close the websockets opened with this session (a logout). Never raises."""
    _send(user_group(user_id), {"type": "access.revoke", "session": session_tag(session_key)})
