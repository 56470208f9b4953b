"""Guess the Balance: a session per round, one guess per viewer per session, the Discord panel.

Money is integer cents. The rules that must hold whatever the code does live here as constraints:
one running (open or closed) session per community, one guess per viewer per session, positive
amounts, a resolved session has its final balance.
"""

from __future__ import annotations

from django.db import models
from django.db.models import Q

from kickbot.models import Community


class GtbSession(models.Model):
    class Status(models.TextChoices):
        OPEN = "open", "Open for guesses"
        CLOSED = "closed", "Guessing closed"
        RESOLVED = "resolved", "Resolved"
        CANCELLED = "cancelled", "Cancelled"

    RUNNING = (Status.OPEN, Status.CLOSED)

    community = models.ForeignKey(Community, on_delete=models.CASCADE, related_name="gtb_sessions")
    title = models.CharField(max_length=100)
    prize_cents = models.BigIntegerField(default=0)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.OPEN)
    final_balance_cents = models.BigIntegerField(null=True, blank=True)
    winner = models.ForeignKey("GtbGuess", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    opened_by = models.CharField(max_length=120, help_text="e.g. 'discord:1234' or 'user:olivia'.")
    closed_by = models.CharField(max_length=120, blank=True)
    resolved_by = models.CharField(max_length=120, blank=True)
    opened_at = models.DateTimeField()
    closed_at = models.DateTimeField(null=True, blank=True)
    resolved_at = models.DateTimeField(null=True, blank=True)
    cancelled_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-opened_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["community"],
                condition=Q(status__in=["open", "closed"]),
                name="gtb_one_running_session_per_community",
            ),
            models.CheckConstraint(
                condition=Q(status__in=["open", "closed", "resolved", "cancelled"]),
                name="gtb_session_status_known",
            ),
            models.CheckConstraint(condition=Q(prize_cents__gte=0), name="gtb_prize_not_negative"),
            models.CheckConstraint(
                condition=Q(final_balance_cents__isnull=True) | Q(final_balance_cents__gt=0),
                name="gtb_final_balance_positive",
            ),
            models.CheckConstraint(
                condition=~Q(status="resolved") | Q(final_balance_cents__isnull=False),
                name="gtb_resolved_has_final_balance",
            ),
        ]
        indexes = [models.Index(fields=["community", "status"], name="gtb_session_comm_status")]

    def __str__(self) -> str:
        return f"{self.title} ({self.status})"


class GtbGuess(models.Model):
    """A viewer's guess. A new guess replaces the amount; ``first_guessed_at`` keeps tie priority."""

    session = models.ForeignKey(GtbSession, on_delete=models.CASCADE, related_name="guesses")
    kick_user_id = models.BigIntegerField()
    username = models.CharField(max_length=64)
    amount_cents = models.BigIntegerField()
    first_guessed_at = models.DateTimeField()
    updated_at = models.DateTimeField()  # the time the standing guess was said (its message's own time)
    # The Kick message of the standing guess and the amount it replaced: a redelivered message gets
    # the same answer again and changes nothing.
    message_id = models.CharField(max_length=64, blank=True, default="")
    previous_amount_cents = models.BigIntegerField(null=True, blank=True)

    class Meta:
        ordering = ["first_guessed_at", "id"]
        constraints = [
            models.UniqueConstraint(fields=["session", "kick_user_id"], name="gtb_one_guess_per_viewer"),
            models.CheckConstraint(condition=Q(amount_cents__gt=0), name="gtb_guess_positive"),
        ]

    def __str__(self) -> str:
        return f"{self.username}: {self.amount_cents} cents"


class GtbPanel(models.Model):
    """Where the community's Discord panel was posted; results go to the same channel."""

    community = models.OneToOneField(Community, on_delete=models.CASCADE, related_name="gtb_panel")
    channel_id = models.BigIntegerField()
    message_id = models.BigIntegerField()
    posted_at = models.DateTimeField()

    def __str__(self) -> str:
        return f"GTB panel in {self.channel_id}"
