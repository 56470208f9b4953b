"""Global identity (Kick users, Discord↔Kick links) and the one-time records of the link flow.

Identity is global: a Kick account links to one Discord user whatever the community.
The link flow's records (``LinkRequest``, ``OAuthState``) are single use and expire in 10 minutes.
"""

from __future__ import annotations

from django.db import models
from django.db.models.functions import Lower

from kickbot.crypto import EncryptedTextField
from kickbot.models import Community


class KickUser(models.Model):
    """A Kick account. The id never changes; the username may, so it is refreshed on every sight."""

    user_id = models.BigIntegerField(primary_key=True)
    username = models.CharField(max_length=64)
    slug = models.CharField(max_length=64, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        indexes = [models.Index(Lower("username"), name="kickuser_username_lower")]

    def __str__(self) -> str:
        return f"{self.username} ({self.user_id})"


class Link(models.Model):
    """One Discord user ↔ one Kick account (both sides unique)."""

    discord_user_id = models.BigIntegerField(unique=True)
    kick_user = models.OneToOneField(KickUser, on_delete=models.CASCADE, related_name="link")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"discord:{self.discord_user_id} ↔ kick:{self.kick_user_id}"


class LinkRequest(models.Model):
    """Made by ``!link`` or the panel; its nonce is the whole payload of the signed URL."""

    nonce = models.CharField(max_length=64, unique=True)
    community = models.ForeignKey(Community, on_delete=models.CASCADE, related_name="link_requests")
    discord_user_id = models.BigIntegerField()
    # Who the bot made the link for, shown on the link page so whoever opens it sees whose Discord
    # account their Kick account would join (blank for requests made before it was stored).
    discord_username = models.CharField(max_length=64, blank=True)
    discord_display_name = models.CharField(max_length=64, blank=True)
    discord_avatar_url = models.URLField(max_length=500, blank=True)
    # Where the outcome is told: a DM to the user (the interaction token is never stored).
    notify_dm = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField()
    used_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [models.Index(fields=["expires_at"], name="linkrequest_expires")]

    def __str__(self) -> str:
        return f"link request for discord:{self.discord_user_id}"


class OAuthState(models.Model):
    """One OAuth round trip: the state is checked once, for its provider, before it expires."""

    class Provider(models.TextChoices):
        KICK = "kick", "Kick"

    state = models.CharField(max_length=128, unique=True)
    provider = models.CharField(max_length=16, choices=Provider.choices)
    link_request = models.ForeignKey(LinkRequest, on_delete=models.CASCADE, related_name="oauth_states")
    code_verifier = EncryptedTextField()
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField()
    used_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"{self.provider} state for request {self.link_request_id}"


class LinkLogConfig(models.Model):
    """Per community: post link/unlink events to a Discord channel."""

    community = models.OneToOneField(Community, on_delete=models.CASCADE, related_name="link_log_config")
    enabled = models.BooleanField(default=False)
    channel_id = models.BigIntegerField(null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=models.Q(enabled=False) | models.Q(channel_id__isnull=False),
                name="linklog_enabled_needs_channel",
            )
        ]

    def __str__(self) -> str:
        return f"link logs for {self.community}: {'on' if self.enabled else 'off'}"


class DiscordConfig(models.Model):
    """Per community Discord settings: the role that may run bot admin commands besides Manage Server."""

    community = models.OneToOneField(Community, on_delete=models.CASCADE, related_name="discord_config")
    admin_role_id = models.BigIntegerField(null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"discord config for {self.community}"
