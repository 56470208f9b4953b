"""Bonus hunts: a hunt per session of collected bonuses, opened in order, with its figures.

Money is integer cents. The rules that must hold whatever the code does are constraints here:
one collecting-or-opening hunt per community, no negative money, one bonus per position in a hunt,
a finished hunt has its finish time. The slot is stored as text: the catalogue belongs to ``slots``,
a sibling feature app, and the adapters (dashboard, Discord) offer its names for autocomplete.
"""

from __future__ import annotations

from django.db import models
from django.db.models import Q

from kickbot.models import Community

CURRENCIES = ("USD", "EUR", "GBP", "CAD", "AUD")


class Hunt(models.Model):
    class Status(models.TextChoices):
        COLLECTING = "collecting", "Collecting"
        OPENING = "opening", "Opening"
        FINISHED = "finished", "Finished"

    RUNNING = (Status.COLLECTING, Status.OPENING)

    community = models.ForeignKey(Community, on_delete=models.CASCADE, related_name="hunts")
    title = models.CharField(max_length=100)
    start_balance_cents = models.BigIntegerField(default=0)
    currency = models.CharField(max_length=3, default="USD")
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.COLLECTING)
    started_by = models.CharField(max_length=120, help_text="e.g. 'discord:1234' or 'user:olivia'.")
    started_at = models.DateTimeField()
    opening_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-started_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["community"],
                condition=Q(status__in=["collecting", "opening"]),
                name="hunt_one_running_per_community",
            ),
            models.CheckConstraint(
                condition=Q(status__in=["collecting", "opening", "finished"]), name="hunt_status_known"
            ),
            models.CheckConstraint(condition=Q(currency__in=list(CURRENCIES)), name="hunt_currency_known"),
            models.CheckConstraint(condition=Q(start_balance_cents__gte=0), name="hunt_start_not_negative"),
            models.CheckConstraint(
                condition=~Q(status="finished") | Q(finished_at__isnull=False),
                name="hunt_finished_has_time",
            ),
        ]
        indexes = [models.Index(fields=["community", "status"], name="hunt_comm_status")]

    def __str__(self) -> str:
        return f"{self.title} ({self.status})"


class HuntBonus(models.Model):
    """One collected bonus. ``win_cents`` is None until it is opened; ``cost_cents`` only for a buy."""

    hunt = models.ForeignKey(Hunt, on_delete=models.CASCADE, related_name="bonuses")
    position = models.PositiveIntegerField(help_text="Opening order, 1 first; gaps stay after a removal.")
    slot_name = models.CharField(max_length=100)
    bet_cents = models.BigIntegerField()
    cost_cents = models.BigIntegerField(null=True, blank=True)
    win_cents = models.BigIntegerField(null=True, blank=True)
    notes = models.CharField(max_length=200, blank=True, default="")
    added_at = models.DateTimeField()
    opened_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["position"]
        constraints = [
            models.UniqueConstraint(fields=["hunt", "position"], name="hunt_bonus_unique_position"),
            models.CheckConstraint(condition=Q(position__gte=1), name="hunt_bonus_position_positive"),
            models.CheckConstraint(condition=Q(bet_cents__gte=0), name="hunt_bonus_bet_not_negative"),
            models.CheckConstraint(
                condition=Q(cost_cents__isnull=True) | Q(cost_cents__gte=0),
                name="hunt_bonus_cost_not_negative",
            ),
            models.CheckConstraint(
                condition=Q(win_cents__isnull=True) | Q(win_cents__gte=0), name="hunt_bonus_win_not_negative"
            ),
            models.CheckConstraint(
                condition=Q(win_cents__isnull=True) | Q(opened_at__isnull=False),
                name="hunt_bonus_opened_has_time",
            ),
        ]

    def __str__(self) -> str:
        return f"#{self.position} {self.slot_name}"
