"""Raffle tables: settings, periods with their draw commitment, the ticket ledger and Shuffle links.

Tickets live in one append-only ledger (``TicketEntry``); ``TicketBalance`` is a cache of its sums
per period and viewer, written in the same transaction as the entries. Writes to a
period that is not open are refused by the services *and* by database triggers (migration
``0002_ledger_guards``): a ``CheckConstraint`` on a copied ``period_status`` column would only see
the value the writer supplies, not the period's status at write time; Django cannot declare the
composite foreign key with ``ON UPDATE CASCADE`` that would keep such a copy honest, so a trigger
that reads the period row is the guard that cannot be bypassed.

Kick users are plain ``kick_user_id`` integers (as in watchtime): the ledger is written from
events that may arrive before the Kick pipeline has stored the user's name.
"""

from __future__ import annotations

from django.db import models
from django.db.models import F, Q
from django.utils import timezone

from kickbot.crypto import EncryptedTextField
from kickbot.models import Community

MAX_RATE = 10_000
MAX_WINNERS = 20
MAX_REROLLS = 20
# The committed round is emitted at least this long after the book closed (docs/draw-proof.md).
MIN_COMMIT_MARGIN_S = 10
MAX_COMMIT_MARGIN_S = 3600
MAX_FALLBACK_AFTER_MINUTES = 1440
MAX_MODERATOR_CAP = 1_000_000
# The range of each number in RaffleSettings (its constraints below); the dashboard form reads it.
RAFFLE_SETTING_LIMITS = {
    "tickets_per_hour": (0, MAX_RATE),
    "tickets_per_gifted_sub": (0, MAX_RATE),
    "tickets_per_1000_usd": (0, MAX_RATE),
    "winners_count": (1, MAX_WINNERS),
    "commit_margin_seconds": (MIN_COMMIT_MARGIN_S, MAX_COMMIT_MARGIN_S),
    "max_rerolls": (0, MAX_REROLLS),
    "fallback_after_minutes": (1, MAX_FALLBACK_AFTER_MINUTES),
    "moderator_cap": (0, MAX_MODERATOR_CAP),
}


class RaffleSettings(models.Model):
    """Per-community raffle rules (created with the defaults on first use)."""

    class WagerMode(models.TextChoices):
        RAW = "raw", "Raw wager"
        WEIGHTED = "weighted", "Weighted wager"

    community = models.OneToOneField(Community, on_delete=models.CASCADE, related_name="raffle_settings")
    tickets_per_hour = models.PositiveIntegerField(default=10)
    tickets_per_gifted_sub = models.PositiveIntegerField(default=15)
    tickets_per_1000_usd = models.PositiveIntegerField(default=20)
    wager_mode = models.CharField(max_length=8, choices=WagerMode.choices, default=WagerMode.RAW)
    auto_draw = models.BooleanField(default=True)
    announce_channel_id = models.BigIntegerField(null=True, blank=True)
    winners_count = models.PositiveSmallIntegerField(default=1)
    # The drand round is the first one emitted at least this long after the book closed.
    commit_margin_seconds = models.PositiveIntegerField(default=30)
    # Rerolls allowed per draw (for a fixed list of reasons); part of the committed rules.
    max_rerolls = models.PositiveSmallIntegerField(default=3)
    # The committed round must fail verifiably this long before the declared fallback may be used.
    fallback_after_minutes = models.PositiveSmallIntegerField(default=10)
    # Tickets one moderator may give in one period (admin removals are not capped).
    moderator_cap = models.PositiveIntegerField(default=1000)
    # Shuffle campaign codes whose wagers count, comma-separated; empty = every code.
    shuffle_campaign_codes = models.CharField(max_length=500, blank=True)
    # What the winner gets, shown on the public page (copied into the period's rules at open).
    prize = models.CharField(max_length=200, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name_plural = "raffle settings"
        constraints = [
            models.CheckConstraint(
                condition=Q(tickets_per_hour__lte=MAX_RATE)
                & Q(tickets_per_gifted_sub__lte=MAX_RATE)
                & Q(tickets_per_1000_usd__lte=MAX_RATE),
                name="rafflesettings_rates_sane",
            ),
            models.CheckConstraint(
                condition=Q(winners_count__gte=1, winners_count__lte=MAX_WINNERS),
                name="rafflesettings_winners_range",
            ),
            models.CheckConstraint(
                condition=Q(
                    commit_margin_seconds__gte=MIN_COMMIT_MARGIN_S,
                    commit_margin_seconds__lte=MAX_COMMIT_MARGIN_S,
                ),
                name="rafflesettings_margin_range",
            ),
            models.CheckConstraint(
                condition=Q(max_rerolls__lte=MAX_REROLLS), name="rafflesettings_rerolls_max"
            ),
            models.CheckConstraint(
                condition=Q(
                    fallback_after_minutes__gte=1, fallback_after_minutes__lte=MAX_FALLBACK_AFTER_MINUTES
                ),
                name="rafflesettings_fallback_range",
            ),
            models.CheckConstraint(
                condition=Q(moderator_cap__lte=MAX_MODERATOR_CAP), name="rafflesettings_modcap_max"
            ),
            models.CheckConstraint(
                condition=Q(wager_mode__in=["raw", "weighted"]), name="rafflesettings_mode"
            ),
        ]

    def __str__(self) -> str:
        return f"raffle settings for {self.community}"


class RafflePeriod(models.Model):
    """One raffle: open (earning) → frozen (snapshot published) → drawn (winners revealed)."""

    class Status(models.TextChoices):
        OPEN = "open", "Open"
        FROZEN = "frozen", "Frozen"
        DRAWN = "drawn", "Drawn"

    community = models.ForeignKey(Community, on_delete=models.CASCADE, related_name="raffle_periods")
    starts_at = models.DateTimeField()
    ends_at = models.DateTimeField()
    status = models.CharField(max_length=8, choices=Status.choices, default=Status.OPEN)
    # The calendar month (community time zone) this period was opened for by the rollover, if any.
    month = models.DateField(null=True, blank=True)
    # Commitment, published at open. The seed stays encrypted and private until the draw.
    algorithm_version = models.PositiveSmallIntegerField(default=1)
    server_seed = EncryptedTextField()
    server_seed_hash = models.CharField(max_length=64)
    drand_round = models.PositiveBigIntegerField()
    rules = models.JSONField(default=dict)
    fallback = models.JSONField(default=dict, help_text="The declared fallback if the round can't be had.")
    committed_at = models.DateTimeField()
    # Freeze.
    snapshot_hash = models.CharField(max_length=64, blank=True)
    entrants_count = models.PositiveIntegerField(default=0)
    total_tickets = models.PositiveBigIntegerField(default=0)
    frozen_at = models.DateTimeField(null=True, blank=True)
    # Draw.
    beacon_round = models.PositiveBigIntegerField(null=True, blank=True)
    beacon_signature = models.CharField(max_length=96, blank=True)
    beacon_randomness = models.CharField(max_length=64, blank=True)
    beacon_source = models.CharField(max_length=200, blank=True)
    fallback_round = models.PositiveBigIntegerField(null=True, blank=True)
    fallback_chosen_at = models.DateTimeField(null=True, blank=True)
    fallback_chosen_by = models.CharField(max_length=120, blank=True)
    draw_wait_reason = models.CharField(max_length=500, blank=True)
    draw_wait_since = models.DateTimeField(null=True, blank=True)
    drawn_at = models.DateTimeField(null=True, blank=True)
    # Every failed try to get the committed round: [{"at", "round", "answers"}] (in the proof).
    draw_attempts = models.JSONField(default=list, blank=True)
    # Date changes and round re-commits after the commitment, with why (shown on the page).
    amendments = models.JSONField(default=list, blank=True)
    wager_polled_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-starts_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["community"], condition=Q(status="open"), name="raffleperiod_one_open"
            ),
            models.UniqueConstraint(
                fields=["community", "month"],
                condition=Q(month__isnull=False),
                name="raffleperiod_month_once",
            ),
            models.CheckConstraint(
                condition=Q(ends_at__gt=F("starts_at")), name="raffleperiod_ends_after_start"
            ),
            models.CheckConstraint(
                condition=Q(status__in=["open", "frozen", "drawn"]), name="raffleperiod_status_valid"
            ),
            models.CheckConstraint(
                condition=Q(status="open") | ~Q(snapshot_hash=""), name="raffleperiod_frozen_has_snapshot"
            ),
            models.CheckConstraint(
                condition=~Q(status="drawn") | ~Q(beacon_randomness=""), name="raffleperiod_drawn_has_beacon"
            ),
        ]
        indexes = [models.Index(fields=["status", "ends_at"], name="raffleperiod_status_ends")]

    def __str__(self) -> str:
        return f"raffle #{self.pk} {self.starts_at:%Y-%m-%d}..{self.ends_at:%Y-%m-%d} ({self.status})"


class RolloverRun(models.Model):
    """Marker: the rollover of ``month`` ran for this community (unique: once whatever Celery does)."""

    community = models.ForeignKey(Community, on_delete=models.CASCADE, related_name="raffle_rollovers")
    month = models.DateField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["community", "month"], name="rolloverrun_once")]

    def __str__(self) -> str:
        return f"rollover {self.month:%Y-%m} of {self.community_id}"


class TicketEntry(models.Model):
    """Append-only ledger line. A replayed award hits the unique key and changes nothing."""

    class Source(models.TextChoices):
        WATCHTIME = "watchtime", "Watchtime"
        GIFT = "gift", "Gifted subs"
        WAGER = "wager", "Shuffle wagers"
        ADMIN = "admin", "Admin"

    period = models.ForeignKey(RafflePeriod, on_delete=models.CASCADE, related_name="entries")
    kick_user_id = models.BigIntegerField()
    source = models.CharField(max_length=10, choices=Source.choices)
    amount = models.IntegerField()
    source_key = models.CharField(max_length=200)
    reason = models.CharField(max_length=200, blank=True)
    actor_label = models.CharField(max_length=120, blank=True)
    # When the tickets were earned (a freeze converts minutes watched before the end, later). A
    # trigger refuses an entry effective after its period's end, whatever the period's status.
    effective_at = models.DateTimeField(default=timezone.now)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["period", "source", "source_key"], name="ticketentry_once"),
            models.CheckConstraint(
                condition=Q(effective_at__lte=F("created_at")), name="ticketentry_not_postdated"
            ),
            models.CheckConstraint(condition=~Q(amount=0), name="ticketentry_amount_nonzero"),
            models.CheckConstraint(
                condition=Q(source="admin") | Q(amount__gt=0), name="ticketentry_only_admin_removes"
            ),
            models.CheckConstraint(
                condition=Q(source__in=["watchtime", "gift", "wager", "admin"]),
                name="ticketentry_source_valid",
            ),
        ]
        indexes = [models.Index(fields=["period", "kick_user_id", "-id"], name="ticketentry_user")]

    def __str__(self) -> str:
        return f"{self.amount:+d} {self.source} kick:{self.kick_user_id} ({self.source_key})"


class TicketBalance(models.Model):
    """Cached sums of the ledger per period and viewer (same transaction as the entries)."""

    period = models.ForeignKey(
        RafflePeriod, on_delete=models.CASCADE, related_name="balances", db_index=False
    )
    kick_user_id = models.BigIntegerField()
    total = models.BigIntegerField(default=0)
    watchtime = models.BigIntegerField(default=0)
    gift = models.BigIntegerField(default=0)
    wager = models.BigIntegerField(default=0)
    admin = models.BigIntegerField(default=0)

    class Meta:
        constraints = [
            # Also the index the snapshot reads in kick_user_id order.
            models.UniqueConstraint(fields=["period", "kick_user_id"], name="ticketbalance_once"),
            models.CheckConstraint(condition=Q(total__gte=0), name="ticketbalance_not_negative"),
            models.CheckConstraint(
                condition=Q(total=F("watchtime") + F("gift") + F("wager") + F("admin")),
                name="ticketbalance_sum_of_sources",
            ),
        ]

    def __str__(self) -> str:
        return f"kick:{self.kick_user_id} {self.total} tickets in period {self.period_id}"


class RaffleWinner(models.Model):
    """Winner k of a period. A reroll voids one and adds the next k; nothing is drawn twice."""

    period = models.ForeignKey(RafflePeriod, on_delete=models.CASCADE, related_name="winners")
    k = models.PositiveIntegerField()
    kick_user_id = models.BigIntegerField()
    username = models.CharField(max_length=64, blank=True)
    ticket = models.PositiveBigIntegerField()
    total = models.PositiveBigIntegerField()
    tickets = models.PositiveBigIntegerField()
    void_reason = models.CharField(max_length=200, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["k"]
        constraints = [
            models.UniqueConstraint(fields=["period", "k"], name="rafflewinner_once"),
            models.CheckConstraint(condition=Q(ticket__lt=F("total")), name="rafflewinner_ticket_in_range"),
        ]

    def __str__(self) -> str:
        return f"k={self.k} kick:{self.kick_user_id}"


class ShuffleAccount(models.Model):
    """A viewer's Shuffle name in one community: claimed by the viewer, verified by a moderator.

    One name per viewer per community, one viewer per name per community: a name is never moved
    from one viewer to another silently (``raffle.services.shuffle``).
    """

    community = models.ForeignKey(Community, on_delete=models.CASCADE, related_name="shuffle_accounts")
    kick_user_id = models.BigIntegerField()
    username = models.CharField(max_length=32)
    username_key = models.CharField(max_length=32, help_text="Lower-cased username.")
    verified = models.BooleanField(default=False)
    verified_at = models.DateTimeField(null=True, blank=True)
    verified_by = models.CharField(max_length=120, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["community", "username_key"], name="shuffleaccount_name_once"),
            models.UniqueConstraint(fields=["community", "kick_user_id"], name="shuffleaccount_viewer_once"),
            models.CheckConstraint(
                condition=Q(verified=False) | Q(verified_at__isnull=False), name="shuffleaccount_verified_at"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.username} → kick:{self.kick_user_id} ({'verified' if self.verified else 'claimed'})"


class ShuffleWager(models.Model):
    """A verified Shuffle name's wager in one period: the baseline at first sight and what it earned."""

    period = models.ForeignKey(RafflePeriod, on_delete=models.CASCADE, related_name="shuffle_wagers")
    username_key = models.CharField(max_length=32)
    kick_user_id = models.BigIntegerField()
    baseline_cents = models.BigIntegerField()
    last_cents = models.BigIntegerField()
    awarded = models.BigIntegerField(default=0)
    first_seen_at = models.DateTimeField()
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["period", "username_key"], name="shufflewager_once"),
            models.CheckConstraint(condition=Q(awarded__gte=0), name="shufflewager_awarded_not_negative"),
        ]

    def __str__(self) -> str:
        return f"{self.username_key} in period {self.period_id}: {self.last_cents - self.baseline_cents}c"


class WatchWindow(models.Model):
    """Which period converts a viewer's minutes of one month, from which mark (a conversion window).

    Unique per community, month and viewer: a month's minutes belong to one period at a time, so no
    minute is converted twice. A period that opens mid-month takes every started window over from
    the month's current minutes (earlier minutes are someone else's, or nobody's).
    """

    community = models.ForeignKey(Community, on_delete=models.CASCADE, related_name="watch_windows")
    month = models.DateField()
    kick_user_id = models.BigIntegerField()
    period = models.ForeignKey(RafflePeriod, on_delete=models.CASCADE, related_name="watch_windows")
    base_minutes = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["community", "month", "kick_user_id"], name="watchwindow_once")
        ]
        indexes = [models.Index(fields=["period", "kick_user_id"], name="watchwindow_period")]

    def __str__(self) -> str:
        return (
            f"kick:{self.kick_user_id} {self.month:%Y-%m} from {self.base_minutes}m → period {self.period_id}"
        )
