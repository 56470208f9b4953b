"""Ticks write WatchMonthly only; all-time is WatchTotal (closed months) + later months, a view.

Existing rows: WatchTotal already holds every month, so each community's ``closed_through`` is set
to its latest month in WatchMonthly (nothing to move). Ticks of that month write both tables (the
late-month path) until the month turns; from the next month on they write one.
See docs/decisions/0006-watchtime-one-table-per-tick.md.
"""

from django.db import migrations, models
from django.db.models import Max

VIEW = """
CREATE VIEW watchtime_alltime AS
SELECT community_id, kick_user_id, SUM(minutes) AS minutes
FROM (
    SELECT t.community_id, t.kick_user_id, t.minutes FROM watchtime_watchtotal t
    UNION ALL
    SELECT m.community_id, m.kick_user_id, m.minutes
    FROM watchtime_watchmonthly m
    LEFT JOIN watchtime_watchsettings s ON s.community_id = m.community_id
    WHERE s.closed_through IS NULL OR m.month > s.closed_through
) AS parts
GROUP BY community_id, kick_user_id
"""


def close_existing_months(apps, schema_editor):
    WatchSettings = apps.get_model("watchtime", "WatchSettings")
    WatchMonthly = apps.get_model("watchtime", "WatchMonthly")
    WatchTotal = apps.get_model("watchtime", "WatchTotal")
    latest = dict(WatchMonthly.objects.values("community_id").annotate(m=Max("month")).values_list("community_id", "m"))
    with_totals = set(WatchTotal.objects.values_list("community_id", flat=True).distinct())
    for community_id in with_totals:
        settings, _ = WatchSettings.objects.get_or_create(community_id=community_id)
        # Totals without any month row (imported) stay where they are: nothing after them is open.
        settings.closed_through = latest.get(community_id)
        settings.save(update_fields=["closed_through"])


class Migration(migrations.Migration):
    dependencies = [("watchtime", "0002_totals_fillfactor")]

    operations = [
        migrations.AddField(
            model_name="watchsettings",
            name="closed_through",
            field=models.DateField(blank=True, editable=False, null=True),
        ),
        migrations.CreateModel(
            name="WatchAllTime",
            fields=[
                (
                    "pk",
                    models.CompositePrimaryKey(
                        "community_id",
                        "kick_user_id",
                        blank=True,
                        editable=False,
                        primary_key=True,
                        serialize=False,
                    ),
                ),
                ("community_id", models.BigIntegerField()),
                ("kick_user_id", models.BigIntegerField()),
                ("minutes", models.BigIntegerField()),
            ],
            options={"db_table": "watchtime_alltime", "managed": False},
        ),
        migrations.RunSQL(VIEW, "DROP VIEW IF EXISTS watchtime_alltime"),
        migrations.RunPython(close_existing_months, migrations.RunPython.noop),
    ]
