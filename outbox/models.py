"""The outbox: messages to Discord and Kick written in the cause's transaction, sent by the bot."""

from __future__ import annotations

from django.db import models
from django.utils import timezone

from kickbot.models import Community


class OutboxMessage(models.Model):
    class Kind(models.TextChoices):
        DISCORD_MESSAGE = "discord_message", "Discord message"
        DISCORD_EDIT = "discord_edit", "Discord message edit"
        DISCORD_ROLE_ADD = "discord_role_add", "Discord role add"
        DISCORD_ROLE_REMOVE = "discord_role_remove", "Discord role remove"
        KICK_CHAT = "kick_chat", "Kick chat message"

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        SENDING = "sending", "Sending"
        SENT = "sent", "Sent"
        FAILED = "failed", "Failed"
        EXPIRED = "expired", "Expired"  # too old to be worth sending (a reply whose moment passed)

    community = models.ForeignKey(
        Community, null=True, blank=True, on_delete=models.CASCADE, related_name="outbox_messages"
    )
    kind = models.CharField(max_length=32, choices=Kind.choices)
    # A Discord channel id, a Discord user id (DM / roles) or a Kick chatroom id, as text.
    target = models.CharField(max_length=64)
    payload = models.JSONField(default=dict, blank=True)
    # One cause enqueues once: e.g. "linklog:<nonce>:ok".
    dedupe_key = models.CharField(max_length=200, null=True, blank=True, unique=True)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PENDING)
    attempts = models.PositiveIntegerField(default=0)
    next_attempt_at = models.DateTimeField(default=timezone.now)
    claimed_by = models.CharField(max_length=100, blank=True)
    claimed_at = models.DateTimeField(null=True, blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    last_error = models.TextField(blank=True)
    # Not sent by then: marked expired instead (Kick chat replies); None: no deadline.
    expires_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        # The table kept its name when the model moved out of botworker (decision 0015).
        db_table = "botworker_outboxmessage"
        ordering = ["id"]
        indexes = [
            models.Index(fields=["status", "kind", "next_attempt_at"], name="outbox_due"),
        ]

    def __str__(self) -> str:
        return f"{self.kind} → {self.target} ({self.status})"
