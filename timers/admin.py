from django.contrib import admin

from timers.models import TimedMessage


@admin.register(TimedMessage)
class TimedMessageAdmin(admin.ModelAdmin):
    list_display = (
        "id",
        "community",
        "interval_minutes",
        "min_chat_lines",
        "live_only",
        "enabled",
        "last_sent_at",
    )
    list_filter = ("community", "enabled", "live_only")
    readonly_fields = ("last_sent_at", "lines_at_last_send", "created_at", "updated_at")
