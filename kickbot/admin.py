"""Admin registrations for core tables, and the audited ModelAdmin base every app uses."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.db.models import Model, QuerySet
from django.forms import ModelForm
from django.http import HttpRequest

from kickbot.models import AuditLog, Community
from kickbot.services import audit_record


def _community_of(obj: Model) -> Community | None:
    if isinstance(obj, Community):
        return obj
    return getattr(obj, "community", None)


def _audit_delete(request: HttpRequest, obj: Model) -> None:
    audit_record(
        action="admin.delete",
        community=_community_of(obj),
        actor=request.user,
        target=obj,
        data={"repr": str(obj)[:200]},
    )


class AuditedModelAdmin(admin.ModelAdmin):
    """Every add, change and delete made through the admin leaves an audit row."""

    def save_model(self, request: HttpRequest, obj: Any, form: ModelForm, change: bool) -> None:
        super().save_model(request, obj, form, change)
        audit_record(
            action=f"admin.{'change' if change else 'add'}",
            community=_community_of(obj),
            actor=request.user,
            target=obj,
            data={"fields": sorted(form.changed_data)},
        )

    def delete_model(self, request: HttpRequest, obj: Any) -> None:
        _audit_delete(request, obj)
        super().delete_model(request, obj)

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> None:
        for obj in queryset:
            _audit_delete(request, obj)
        super().delete_queryset(request, queryset)


@admin.register(Community)
class CommunityAdmin(AuditedModelAdmin):
    list_display = ("kick_channel_slug", "name", "discord_guild_id", "kick_chatroom_id", "timezone")
    search_fields = ("kick_channel_slug", "name")


@admin.register(AuditLog)
class AuditLogAdmin(admin.ModelAdmin):
    """Read only: the audit log is never edited."""

    list_display = ("created_at", "community", "actor_label", "action", "target_type", "target_id")
    list_filter = ("action", "community")
    search_fields = ("actor_label", "action", "target_id")

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False
