"""Slot requests: the global slot catalogue, per-community requests, settings,
blacklist, and the recorded random picks.

The catalogue is global (a game is the same game in every community); everything a viewer or a
moderator writes is tenant-scoped by ``community``.
"""

from __future__ import annotations

from django.db import models
from django.db.models import Q

from kickbot.models import Community

REQUEST_TEXT_MAX = 200  # a request's text (and the longest a community may allow)
COOLDOWN_MAX_S = 86400
OPEN_PER_USER_MAX = 100
# The range of each number in SlotSettings (its constraints below): the services check it and
# the dashboard form reads it.
SLOT_SETTING_LIMITS = {
    "cooldown_s": (0, COOLDOWN_MAX_S),
    "max_open_per_user": (1, OPEN_PER_USER_MAX),
    "max_length": (1, REQUEST_TEXT_MAX),
}
KICK_USERNAME_MAX = 64
BLACKLIST_REASON_MAX = 200


class Slot(models.Model):
    """One game of the catalogue. Written only by ``slots.catalogue.slots_import`` (upsert on slug)."""

    name = models.CharField(max_length=200)
    slug = models.SlugField(max_length=200, unique=True)
    provider = models.CharField(max_length=100, blank=True)
    # Basis points so no float ever lands in the table: 9621 = 96.21 %.
    rtp_bp = models.PositiveIntegerField(null=True, blank=True)
    volatility = models.CharField(max_length=32, blank=True)
    max_win = models.PositiveIntegerField(null=True, blank=True, help_text="times the bet")
    image_url = models.URLField(max_length=500, blank=True)
    source = models.CharField(max_length=32, help_text="file, json, csv, shuffle, slotreport, or a URL name")
    source_id = models.CharField(max_length=200, blank=True)
    aliases = models.JSONField(default=list, blank=True)
    # Matching columns, derived from name/aliases by slots.matching.normalise at import time.
    name_norm = models.CharField(max_length=200, db_index=True)
    aliases_norm = models.CharField(max_length=1000, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True, db_index=True)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(
                fields=["source", "source_id"], condition=~Q(source_id=""), name="slot_source_id_unique"
            ),
            models.CheckConstraint(
                condition=Q(rtp_bp__isnull=True) | Q(rtp_bp__lte=10000), name="slot_rtp_at_most_100"
            ),
            models.CheckConstraint(condition=~Q(name_norm=""), name="slot_name_norm_not_empty"),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.provider})" if self.provider else self.name

    @property
    def rtp_percent(self) -> str:
        return "" if self.rtp_bp is None else f"{self.rtp_bp / 100:.2f}%"


class SlotSettings(models.Model):
    """Per community: where requests are posted and the rules a request must pass."""

    community = models.OneToOneField(Community, on_delete=models.CASCADE, related_name="slot_settings")
    channel_id = models.BigIntegerField(null=True, blank=True, help_text="Discord channel for new requests")
    requests_open = models.BooleanField(default=True)
    cooldown_s = models.PositiveIntegerField(default=30)
    max_open_per_user = models.PositiveIntegerField(default=1)
    max_length = models.PositiveIntegerField(default=REQUEST_TEXT_MAX)
    # The panel posted by !slotpanel; edited through the outbox when the queue changes.
    panel_channel_id = models.BigIntegerField(null=True, blank=True)
    panel_message_id = models.BigIntegerField(null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name_plural = "slot settings"
        constraints = [
            models.CheckConstraint(
                condition=Q(cooldown_s__lte=COOLDOWN_MAX_S), name="slotsettings_cooldown_range"
            ),
            models.CheckConstraint(
                condition=Q(max_open_per_user__gte=1, max_open_per_user__lte=OPEN_PER_USER_MAX),
                name="slotsettings_max_open_range",
            ),
            models.CheckConstraint(
                condition=Q(max_length__gte=1, max_length__lte=REQUEST_TEXT_MAX),
                name="slotsettings_max_length_range",
            ),
        ]

    def __str__(self) -> str:
        return f"slot settings of {self.community}"


class SlotRequester(models.Model):
    """One viewer in one community's request queue: the row locked while a request is checked.

    Locking it (``select_for_update``) serialises one viewer's concurrent requests, so the open-request
    limit and the cooldown are checked and the request inserted as one step (docs/lessons.md #21).
    """

    community = models.ForeignKey(Community, on_delete=models.CASCADE, related_name="+")
    kick_user_id = models.BigIntegerField()
    last_accepted_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["community", "kick_user_id"], name="slotrequester_unique"),
        ]

    def __str__(self) -> str:
        return f"requester {self.kick_user_id} in {self.community_id}"


class SlotRequest(models.Model):
    class Status(models.TextChoices):
        OPEN = "open", "Open"
        PICKED = "picked", "Picked"  # drawn by the panel, being played now
        PLAYED = "played", "Played"
        SKIPPED = "skipped", "Skipped"
        CLEARED = "cleared", "Cleared"

    ACTIVE = (Status.OPEN, Status.PICKED)

    community = models.ForeignKey(Community, on_delete=models.CASCADE, related_name="slot_requests")
    # The Kick chat message id: a redelivered chat message stores nothing new.
    kick_message_id = models.CharField(max_length=64)
    kick_user_id = models.BigIntegerField()
    kick_username = models.CharField(max_length=KICK_USERNAME_MAX)
    text = models.CharField(max_length=REQUEST_TEXT_MAX)
    slot = models.ForeignKey(Slot, null=True, blank=True, on_delete=models.SET_NULL, related_name="requests")
    match_score = models.FloatField(null=True, blank=True)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.OPEN)
    created_at = models.DateTimeField()
    closed_at = models.DateTimeField(null=True, blank=True)
    closed_by = models.CharField(max_length=120, blank=True)

    class Meta:
        ordering = ["created_at", "id"]
        constraints = [
            models.UniqueConstraint(fields=["community", "kick_message_id"], name="slotrequest_message_once"),
            models.CheckConstraint(condition=~Q(text=""), name="slotrequest_text_not_empty"),
            # At most one request is "being played" per community at a time.
            models.UniqueConstraint(
                fields=["community"], condition=Q(status="picked"), name="slotrequest_one_picked"
            ),
        ]
        indexes = [
            models.Index(fields=["community", "status", "created_at"], name="slotrequest_queue"),
            models.Index(fields=["community", "kick_user_id", "status"], name="slotrequest_user_status"),
        ]

    def __str__(self) -> str:
        return f"{self.kick_username}: {self.text}"


class SlotBlacklist(models.Model):
    """A Kick viewer who may not request slots in this community (matched by id or by name)."""

    community = models.ForeignKey(Community, on_delete=models.CASCADE, related_name="slot_blacklist")
    # Lower-cased Kick username; the id is filled when the viewer is known (usernames change).
    username = models.CharField(max_length=KICK_USERNAME_MAX)
    kick_user_id = models.BigIntegerField(null=True, blank=True)
    reason = models.CharField(max_length=BLACKLIST_REASON_MAX, blank=True)
    added_by = models.CharField(max_length=120, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["username"]
        constraints = [
            models.UniqueConstraint(fields=["community", "username"], name="slotblacklist_unique_name"),
            models.CheckConstraint(condition=~Q(username=""), name="slotblacklist_name_not_empty"),
        ]

    def __str__(self) -> str:
        return f"{self.username} blacklisted in {self.community_id}"


class SlotPick(models.Model):
    """A recorded random pick from the open queue, with what a viewer needs to recompute it.

    docs/draw-proof.md over the queue: entrants ``(request id, 1 ticket)``, a fresh server seed, and the
    snapshot hash as beacon (an instant pick has no future beacon round to wait for). Every pick is
    kept and numbered, so a re-pick is visible in the history, never silent.
    """

    community = models.ForeignKey(Community, on_delete=models.CASCADE, related_name="slot_picks")
    request = models.ForeignKey(SlotRequest, on_delete=models.CASCADE, related_name="picks")
    number = models.PositiveIntegerField()
    server_seed = models.CharField(max_length=64)
    server_seed_hash = models.CharField(max_length=64)
    snapshot = models.TextField()
    snapshot_hash = models.CharField(max_length=64)
    beacon = models.CharField(max_length=64)
    ticket = models.PositiveIntegerField()
    total = models.PositiveIntegerField()
    picked_by = models.CharField(max_length=120, blank=True)
    created_at = models.DateTimeField()

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["community", "number"], name="slotpick_number_unique"),
        ]

    def __str__(self) -> str:
        return f"pick #{self.number} in {self.community_id}"
