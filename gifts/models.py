"""Gift purchases: one row per purchase of gifted subs, however many frames and webhooks reported it.

A purchase is identified by its gifter (lowercased name, or ``~anonymous``), its giftees and a time
window (``gifts.services.PURCHASE_WINDOW``); ``seq`` tells apart a later purchase by the same gifter
to the same viewers (possible only once their gifted month has run out). The row is the durable
park of a purchase whose gifter id is not known yet: any later frame, webhook or chat line of the
gifter, or the retry job, completes it. Awarding is keyed by the row (``gift-purchase:<id>`` in the
raffle ledger), so a purchase reported by Pusher and by webhook, or redelivered, awards once.
"""

from __future__ import annotations

from django.db import models
from django.db.models import Q
from django.utils import timezone

from kickbot.models import Community

MAX_QUANTITY = 10_000


class GiftPurchase(models.Model):
    class Status(models.TextChoices):
        PENDING = "pending", "Waiting for the gifter's Kick id"
        AWARDED = "awarded", "Attributed (tickets given when a raffle was open)"
        ANONYMOUS = "anonymous", "Anonymous gift"
        UNATTRIBUTED = "unattributed", "No gifter id within the window"

    community = models.ForeignKey(Community, on_delete=models.CASCADE, related_name="gift_purchases")
    gifter_key = models.CharField(max_length=64)
    gifter_username = models.CharField(max_length=64, blank=True)
    gifter_id = models.BigIntegerField(null=True, blank=True)
    giftees = models.JSONField(default=list, blank=True)  # sorted lowercased usernames
    giftees_key = models.CharField(max_length=200)
    seq = models.PositiveIntegerField(default=1)
    quantity = models.PositiveIntegerField()
    purchased_at = models.DateTimeField()
    first_seen_at = models.DateTimeField(default=timezone.now)
    sources = models.CharField(max_length=32, blank=True)  # "pusher", "webhook" or both
    refs = models.JSONField(default=list, blank=True)  # the reports' own ids (webhook message ids, ...)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PENDING)
    tickets = models.PositiveIntegerField(default=0)
    settled_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["community", "gifter_key", "giftees_key", "seq"], name="giftpurchase_once"
            ),
            models.CheckConstraint(
                condition=Q(quantity__gte=1, quantity__lte=MAX_QUANTITY), name="giftpurchase_quantity_range"
            ),
            models.CheckConstraint(
                condition=Q(status__in=["pending", "awarded", "anonymous", "unattributed"]),
                name="giftpurchase_status_valid",
            ),
            models.CheckConstraint(
                condition=~Q(status="awarded") | Q(gifter_id__isnull=False),
                name="giftpurchase_awarded_has_gifter",
            ),
            models.CheckConstraint(
                condition=Q(status="pending") | Q(settled_at__isnull=False), name="giftpurchase_settled_at"
            ),
        ]
        indexes = [
            models.Index(fields=["community", "gifter_key", "purchased_at"], name="giftpurchase_gifter"),
            models.Index(
                fields=["first_seen_at"], condition=Q(status="pending"), name="giftpurchase_pending"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.gifter_username or self.gifter_key}: {self.quantity} sub(s) ({self.status})"
