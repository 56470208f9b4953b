"""Core tables: the community (one Kick channel bound to one Discord guild) and the audit log."""

from __future__ import annotations

from zoneinfo import available_timezones

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import RegexValidator
from django.db import models

from kickbot.crypto import EncryptedTextField


def validate_timezone(value: str) -> None:
    if value not in available_timezones():
        raise ValidationError(f"{value!r} is not a known time zone (e.g. Europe/Berlin).")


class Community(models.Model):
    """A tenant: every tenant-scoped table points here and every service takes ``community=``."""

    name = models.CharField(max_length=100, blank=True)
    kick_channel_slug = models.SlugField(
        max_length=64, unique=True, help_text="The Kick channel's slug, as in kick.com/<slug>."
    )
    kick_broadcaster_user_id = models.PositiveBigIntegerField(null=True, blank=True)
    kick_channel_id = models.PositiveBigIntegerField(null=True, blank=True)
    kick_chatroom_id = models.PositiveBigIntegerField(null=True, blank=True)
    discord_guild_id = models.PositiveBigIntegerField(null=True, blank=True, unique=True)
    timezone = models.CharField(max_length=64, default="UTC", validators=[validate_timezone])
    command_prefix = models.CharField(
        max_length=3,
        default="!",
        validators=[RegexValidator(r"^[!?.$#~+\-]{1,3}$", "Use one to three of ! ? . $ # ~ + -")],
    )
    # Live state, written by the Kick pipeline (events) and the livestream poll (backstop).
    is_live = models.BooleanField(default=False)
    live_changed_at = models.DateTimeField(null=True, blank=True)
    # The Kick account the bot speaks as (its own lines never count as chat activity).
    kick_bot_user_id = models.PositiveBigIntegerField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name_plural = "communities"
        ordering = ["id"]
        constraints = [
            models.CheckConstraint(condition=~models.Q(command_prefix=""), name="community_prefix_not_empty"),
        ]
        permissions = [
            ("view_dashboard", "Can view the dashboard"),
            ("moderate_community", "Can run slot queue, GTB, blacklist and give tickets"),
            ("manage_community", "Can change settings, raffle and roles"),
            ("manage_users", "Can manage dashboard users and see secrets state"),
        ]

    def __str__(self) -> str:
        return self.name or self.kick_channel_slug


class AuditLog(models.Model):
    """Who did what, when. Written only through ``kickbot.services.audit_record`` (``audit_record_counted``
    for repeatable events: one row per key and window with a count)."""

    community = models.ForeignKey(
        Community, null=True, blank=True, on_delete=models.SET_NULL, related_name="audit_entries"
    )
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL)
    actor_label = models.CharField(
        max_length=120, blank=True, help_text="e.g. 'discord:1234' or 'system' when no user."
    )
    action = models.CharField(max_length=64, db_index=True)
    target_type = models.CharField(max_length=64, blank=True)
    target_id = models.CharField(max_length=64, blank=True)
    data = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["community", "-created_at"], name="audit_comm_created")]

    def __str__(self) -> str:
        return f"{self.created_at:%Y-%m-%d %H:%M} {self.actor_label or self.actor} {self.action}"


class KickToken(models.Model):
    """The community's Kick credentials (broadcaster or bot account), encrypted at rest.

    Used to send chat, read channels and manage webhook subscriptions. Refreshed before expiry
    by ``kickbot.tasks.kick_tokens_refresh`` and on a 401.
    """

    community = models.OneToOneField(Community, on_delete=models.CASCADE, related_name="kick_token")
    kick_user_id = models.PositiveBigIntegerField()
    kick_username = models.CharField(max_length=64, blank=True)
    access_token = EncryptedTextField()
    refresh_token = EncryptedTextField()
    expires_at = models.DateTimeField()
    scope = models.CharField(max_length=255, blank=True)
    refreshed_at = models.DateTimeField(null=True, blank=True)
    last_error = models.CharField(max_length=255, blank=True)
    last_error_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"Kick token of {self.kick_username or self.kick_user_id} for {self.community}"
