"""Watchtime tables: ticks (one per community and time bucket), month totals, roles.

A tick writes one table: ``WatchMonthly`` (the viewer's minutes in the tick's month). All-time
minutes are ``WatchTotal`` (months up to ``WatchSettings.closed_through``, folded in once a month by
``watchtime_months_close``) plus the months after it, read through the ``WatchAllTime`` view in one
statement. Writing both tables every tick doubled the cost of the busiest statement in the product
(docs/decisions/0006-watchtime-one-table-per-tick.md).

``WatchTotal`` and ``WatchMonthly`` hold ``kick_user_id`` as a plain indexed integer, not a
foreign key: the credit writes 100,000 rows a minute and an FK check per row would cost
more than the write; the Kick pipeline upserts ``accounts.KickUser`` on first sight, and the
selectors join on ``KickUser.user_id`` (LEFT JOIN: a missing name shows as the id).

Neither table has an index on ``minutes``: updating an indexed column defeats Postgres HOT
updates and made the 100k-row upsert 2-3x slower. Rankings come from the Redis mirror
(see ``watchtime.mirror``); the tables are the truth the mirror is rebuilt from.
"""

from __future__ import annotations

from django.db import models

from kickbot.models import Community


class WatchSettings(models.Model):
    """Per-community watchtime switches (created with defaults on first use)."""

    class RoleMode(models.TextChoices):
        ALL = "all", "Every role reached"
        HIGHEST = "highest", "Highest role reached only"

    community = models.OneToOneField(Community, on_delete=models.CASCADE, related_name="watch_settings")
    tracking_enabled = models.BooleanField(default=True)
    count_offline_chat = models.BooleanField(default=False)
    min_active_chatters = models.PositiveSmallIntegerField(default=2)
    active_window_s = models.PositiveIntegerField(default=120)
    role_mode = models.CharField(max_length=8, choices=RoleMode.choices, default=RoleMode.ALL)
    # The last credited WatchTick: the Redis rank mirror applies ticks only in this chain order.
    last_tick_id = models.BigIntegerField(null=True, blank=True, editable=False)
    # Months up to and including this one are folded into WatchTotal; later ones are read from
    # WatchMonthly (None: nothing folded yet).
    closed_through = models.DateField(null=True, blank=True, editable=False)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name_plural = "watch settings"
        constraints = [
            models.CheckConstraint(
                condition=models.Q(active_window_s__gte=10, active_window_s__lte=3600),
                name="watchsettings_window_range",
            ),
            models.CheckConstraint(
                condition=models.Q(role_mode__in=["all", "highest"]), name="watchsettings_role_mode"
            ),
        ]

    def __str__(self) -> str:
        return f"watchtime settings for {self.community}"


class WatchTick(models.Model):
    """One credited time bucket: the unique row that makes a repeated or late tick a no-op."""

    community = models.ForeignKey(Community, on_delete=models.CASCADE, related_name="watch_ticks")
    bucket = models.DateTimeField(help_text="Start of the interval (UTC, aligned to the interval).")
    viewers = models.PositiveIntegerField()
    minutes = models.PositiveSmallIntegerField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["community", "bucket"], name="watchtick_once")]

    def __str__(self) -> str:
        return f"tick {self.bucket:%Y-%m-%d %H:%M} {self.viewers} viewers +{self.minutes}m"


class WatchTotal(models.Model):
    """Minutes of one Kick user in one community in the closed months (see ``WatchAllTime``)."""

    community = models.ForeignKey(
        Community, on_delete=models.CASCADE, related_name="watch_totals", db_index=False
    )
    kick_user_id = models.BigIntegerField()
    minutes = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["community", "kick_user_id"], name="watchtotal_once"),
        ]

    def __str__(self) -> str:
        return f"kick:{self.kick_user_id} {self.minutes}m"


class WatchMonthly(models.Model):
    """Minutes of one Kick user in one community in one calendar month (community time zone)."""

    community = models.ForeignKey(
        Community, on_delete=models.CASCADE, related_name="watch_monthly", db_index=False
    )
    kick_user_id = models.BigIntegerField()
    month = models.DateField(help_text="First day of the month, in the community's time zone.")
    minutes = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["community", "kick_user_id", "month"], name="watchmonthly_once"),
        ]
        indexes = [models.Index(fields=["community", "month"], name="watchmonthly_comm_month")]

    def __str__(self) -> str:
        return f"kick:{self.kick_user_id} {self.month:%Y-%m} {self.minutes}m"


class WatchAllTime(models.Model):
    """All-time minutes: ``WatchTotal`` plus the months after ``closed_through`` (a database view).

    One statement, so a reader never sees a month both folded and open (or neither). Filter it by
    ``community_id`` (and ``kick_user_id``): Postgres pushes both into the view's two branches.
    """

    pk = models.CompositePrimaryKey("community_id", "kick_user_id")
    community_id = models.BigIntegerField()
    kick_user_id = models.BigIntegerField()
    minutes = models.BigIntegerField()

    class Meta:
        managed = False
        db_table = "watchtime_alltime"

    def __str__(self) -> str:
        return f"kick:{self.kick_user_id} {self.minutes}m all-time"


class WatchRole(models.Model):
    """A Discord role granted at ``minutes_required`` all-time minutes (matched by id, never by name)."""

    community = models.ForeignKey(Community, on_delete=models.CASCADE, related_name="watch_roles")
    discord_role_id = models.BigIntegerField()
    name = models.CharField(max_length=100, blank=True, help_text="Last known name, for display only.")
    minutes_required = models.PositiveIntegerField()
    enabled = models.BooleanField(default=True)
    # The dangerous permission bits (see ``watchtime.roles.DANGEROUS_PERMISSIONS``) the role held
    # when the bot last saw it. Not zero: sync neither gives nor takes the role until it is safe again.
    blocked_permissions = models.BigIntegerField(default=0, editable=False)
    display_order = models.SmallIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["minutes_required", "display_order", "id"]
        constraints = [
            models.UniqueConstraint(fields=["community", "discord_role_id"], name="watchrole_once"),
            models.CheckConstraint(
                condition=models.Q(minutes_required__lte=5_256_000), name="watchrole_minutes_sane"
            ),
            models.CheckConstraint(
                condition=models.Q(blocked_permissions__gte=0), name="watchrole_blocked_bits"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.name or self.discord_role_id} at {self.minutes_required}m"


class AppliedRole(models.Model):
    """What role sync last asked Discord to give a member; the sync diffs its target against this."""

    community = models.ForeignKey(Community, on_delete=models.CASCADE, related_name="applied_roles")
    discord_user_id = models.BigIntegerField()
    discord_role_id = models.BigIntegerField()
    applied_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["community", "discord_user_id", "discord_role_id"], name="appliedrole_once"
            ),
        ]

    def __str__(self) -> str:
        return f"discord:{self.discord_user_id} has role {self.discord_role_id}"
