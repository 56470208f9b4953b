"""Dashboard roles as Django groups: owner ⊃ admin ⊃ moderator ⊃ viewer."""

from __future__ import annotations

from typing import Any

from django.apps import apps as global_apps

OWNER, ADMIN, MODERATOR, VIEWER = "owner", "admin", "moderator", "viewer"
ROLES = (OWNER, ADMIN, MODERATOR, VIEWER)

PERM_VIEW = "kickbot.view_dashboard"
PERM_MODERATE = "kickbot.moderate_community"
PERM_MANAGE = "kickbot.manage_community"
PERM_USERS = "kickbot.manage_users"
PERM_AUDIT = "kickbot.view_auditlog"

_VIEWER = [PERM_VIEW]
_MODERATOR = [*_VIEWER, PERM_MODERATE]
_ADMIN = [*_MODERATOR, PERM_MANAGE, PERM_AUDIT]
_OWNER = [*_ADMIN, PERM_USERS]
ROLE_PERMISSIONS: dict[str, list[str]] = {
    VIEWER: _VIEWER,
    MODERATOR: _MODERATOR,
    ADMIN: _ADMIN,
    OWNER: _OWNER,
}


def roles_sync(apps: Any = global_apps) -> None:
    """Create the four groups and grant each exactly its permissions. Idempotent."""
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    for role, perms in ROLE_PERMISSIONS.items():
        group, _ = Group.objects.get_or_create(name=role)
        wanted = []
        for perm in perms:
            app_label, codename = perm.split(".", 1)
            found = Permission.objects.filter(content_type__app_label=app_label, codename=codename).first()
            if found is not None:
                wanted.append(found)
        group.permissions.set(wanted)


def roles_sync_on_migrate(sender: Any, **kwargs: Any) -> None:
    roles_sync(kwargs.get("apps") or global_apps)
