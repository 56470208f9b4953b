from django.db import models


class OwnerSetupToken(models.Model):
    """A one-time token behind the first-owner setup link printed by ``make run``."""

    nonce = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)
    used_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"setup token {self.pk} ({'used' if self.used_at else 'unused'})"


class TicketDay(models.Model):
    """Tickets per community, UTC day and source for finished days (the overview's chart).

    The ledger has millions of rows and is append-only, so a finished day never changes: it is
    summed once (``dashboard.services.ticket_days_refresh``) and the chart reads these few rows plus
    the ledger entries after ``TicketRollupState.last_entry_id`` (a primary-key range scan).
    """

    community = models.ForeignKey("kickbot.Community", on_delete=models.CASCADE, related_name="+")
    day = models.DateField()
    source = models.CharField(max_length=10)
    amount = models.BigIntegerField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["community", "day", "source"], name="ticketday_once"),
        ]

    def __str__(self) -> str:
        return f"{self.day} {self.source} {self.amount}"


class TicketRollupState(models.Model):
    """How far ``TicketDay`` reaches for a community: days before ``through_day`` and ledger ids up to
    ``last_entry_id`` are summed there; the rest is read live."""

    community = models.OneToOneField("kickbot.Community", on_delete=models.CASCADE, related_name="+")
    through_day = models.DateField()
    last_entry_id = models.BigIntegerField(default=0)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"tickets summed before {self.through_day} (entry {self.last_entry_id})"
