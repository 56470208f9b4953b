from django.contrib import admin

from slots.models import Slot, SlotBlacklist, SlotPick, SlotRequest, SlotSettings


@admin.register(Slot)
class SlotAdmin(admin.ModelAdmin):
    list_display = ("name", "provider", "rtp_bp", "volatility", "max_win", "source", "updated_at")
    search_fields = ("name", "slug", "provider")
    list_filter = ("source", "provider")
    readonly_fields = ("name_norm", "aliases_norm", "created_at", "updated_at")


@admin.register(SlotRequest)
class SlotRequestAdmin(admin.ModelAdmin):
    list_display = ("created_at", "community", "kick_username", "text", "slot", "status")
    list_filter = ("status", "community")
    search_fields = ("kick_username", "text")
    raw_id_fields = ("slot",)


@admin.register(SlotSettings)
class SlotSettingsAdmin(admin.ModelAdmin):
    list_display = (
        "community",
        "requests_open",
        "channel_id",
        "cooldown_s",
        "max_open_per_user",
        "max_length",
    )


@admin.register(SlotBlacklist)
class SlotBlacklistAdmin(admin.ModelAdmin):
    list_display = ("community", "username", "kick_user_id", "reason", "added_by", "created_at")
    search_fields = ("username",)


@admin.register(SlotPick)
class SlotPickAdmin(admin.ModelAdmin):
    list_display = ("community", "number", "request", "ticket", "total", "picked_by", "created_at")
    readonly_fields = [f.name for f in SlotPick._meta.fields]
