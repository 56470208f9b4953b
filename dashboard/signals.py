"""Changes that can take the dashboard away from a user reach that user's open websockets.

Connected in ``DashboardConfig.ready``; what the sockets do with it is ``dashboard/ws_access.py``.
Rechecks are cheap and idempotent, so a signal that may matter triggers one.
"""

from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model, user_logged_out
from django.contrib.auth.models import Group
from django.db.models.signals import m2m_changed, post_delete, post_save

from dashboard.ws_access import access_recheck_on_commit, access_revoke_session


def _users_of_groups(group_ids: Any) -> list[int]:
    return list(get_user_model().objects.filter(groups__in=list(group_ids)).values_list("pk", flat=True))


def _user_m2m_changed(sender: Any, instance: Any, action: str, reverse: bool, pk_set: Any, **_: Any) -> None:
    """``user.groups`` / ``user.user_permissions`` changed (from either side)."""
    if not reverse:
        if action in {"post_add", "post_remove", "post_clear"}:
            access_recheck_on_commit([instance.pk])
        return
    # From the group's (or permission's) side: ``group.user_set.remove(...)``.
    if action in {"post_add", "post_remove"}:
        access_recheck_on_commit(pk_set or [])
    elif action == "pre_clear":
        access_recheck_on_commit(instance.user_set.values_list("pk", flat=True))


def _group_permissions_changed(
    sender: Any, instance: Any, action: str, reverse: bool, pk_set: Any, **_: Any
) -> None:
    """A group gained or lost permissions: every member checks again."""
    if action not in {"post_add", "post_remove", "pre_clear"}:
        return
    if action == "pre_clear" and reverse:
        groups = list(instance.group_set.values_list("pk", flat=True))
    elif reverse:
        groups = list(pk_set or [])
    else:
        groups = [instance.pk]
    access_recheck_on_commit(_users_of_groups(groups))


def _user_saved(sender: Any, instance: Any, update_fields: Any = None, **_: Any) -> None:
    if update_fields is not None and set(update_fields) <= {"last_login"}:
        return  # every login saves this
    access_recheck_on_commit([instance.pk])


def _user_deleted(sender: Any, instance: Any, **_: Any) -> None:
    access_recheck_on_commit([instance.pk])


def _logged_out(sender: Any, request: Any, user: Any, **_: Any) -> None:
    if user is not None and getattr(request, "session", None) is not None:
        access_revoke_session(user_id=user.pk, session_key=request.session.session_key)


def connect() -> None:
    user_model = get_user_model()
    uid = "dashboard.ws_access"
    m2m_changed.connect(_user_m2m_changed, sender=user_model.groups.through, dispatch_uid=f"{uid}.groups")
    m2m_changed.connect(
        _user_m2m_changed, sender=user_model.user_permissions.through, dispatch_uid=f"{uid}.user_perms"
    )
    m2m_changed.connect(
        _group_permissions_changed, sender=Group.permissions.through, dispatch_uid=f"{uid}.perms"
    )
    post_save.connect(_user_saved, sender=user_model, dispatch_uid=f"{uid}.saved")
    post_delete.connect(_user_deleted, sender=user_model, dispatch_uid=f"{uid}.deleted")
    user_logged_out.connect(_logged_out, dispatch_uid=f"{uid}.logout")
