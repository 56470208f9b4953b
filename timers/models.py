"""Timed messages: a line the bot posts in Kick chat every N minutes, when chat is active enough."""

from __future__ import annotations

from django.db import models
from django.db.models import Q

from kickbot.models import Community

TEXT_MAX = 500  # Kick's own limit on a chat message
INTERVAL_MAX = 10080  # one week
MIN_LINES_MAX = 100_000
# The range of each number of a timed message (services check it; the dashboard form reads it).
TIMER_LIMITS = {"interval_minutes": (1, INTERVAL_MAX), "min_chat_lines": (0, MIN_LINES_MAX)}


class TimedMessage(models.Model):
    community = models.ForeignKey(Community, on_delete=models.CASCADE, related_name="timed_messages")
    text = models.CharField(max_length=TEXT_MAX)
    interval_minutes = models.PositiveIntegerField(default=15)
    # Chat lines needed since the last send: a quiet chat is not spammed with the same line.
    min_chat_lines = models.PositiveIntegerField(default=0)
    live_only = models.BooleanField(default=True)
    enabled = models.BooleanField(default=True)
    last_sent_at = models.DateTimeField(null=True, blank=True)
    # The community's chat line counter (Redis) at the last send.
    lines_at_last_send = models.BigIntegerField(default=0)
    created_by = models.CharField(max_length=120, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["community", "id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(interval_minutes__gte=1) & Q(interval_minutes__lte=INTERVAL_MAX),
                name="timer_interval_1min_to_1week",
            ),
            models.CheckConstraint(condition=~Q(text=""), name="timer_text_not_empty"),
        ]
        indexes = [models.Index(fields=["enabled", "community"], name="timer_enabled_comm")]

    def __str__(self) -> str:
        return f"every {self.interval_minutes} min: {self.text[:40]}"
