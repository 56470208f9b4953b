"""Commit after the close (docs/draw-proof.md): settings for the margin, rerolls, fallback, moderator
cap and Shuffle codes; ``effective_at`` on ledger entries (existing ones: their ``created_at``); the
draw attempt log; conversion windows replace the per-period watch baselines (copied over)."""

import django.db.models.deletion
import django.utils.timezone
from django.db import migrations, models


def baselines_to_windows(apps, schema_editor):  # type: ignore[no-untyped-def]
    """A baseline was the start month's minutes before a mid-month period: the same window."""
    from zoneinfo import ZoneInfo

    baseline = apps.get_model("raffle", "WatchBaseline")
    window = apps.get_model("raffle", "WatchWindow")
    rows = []
    for b in baseline.objects.select_related("period__community").iterator():
        p = b.period
        month = p.starts_at.astimezone(ZoneInfo(p.community.timezone)).date().replace(day=1)
        rows.append(
            window(
                community_id=p.community_id, month=month, kick_user_id=b.kick_user_id, period_id=p.pk,
                base_minutes=b.minutes,
            )
        )
    window.objects.bulk_create(rows, batch_size=1000, ignore_conflicts=True)


def drop_sqlite_guards(apps, schema_editor):  # type: ignore[no-untyped-def]
    """SQLite rebuilds altered tables by copy and rename, which fails while 0002's triggers name
    them: drop those triggers here; 0004 creates them again with the new guards."""
    if schema_editor.connection.vendor != "sqlite":
        return
    for name in (
        "raffle_ticketbalance_open_upd",
        "raffle_ticketbalance_open_ins",
        "raffle_ticketentry_no_update",
        "raffle_ticketentry_open",
    ):
        schema_editor.execute(f"DROP TRIGGER IF EXISTS {name}", None)


class Migration(migrations.Migration):

    dependencies = [
        ('kickbot', '0004_kick_token'),
        ('raffle', '0002_ledger_guards'),
    ]

    operations = [
        migrations.RunPython(drop_sqlite_guards, migrations.RunPython.noop),
        migrations.CreateModel(
            name='WatchWindow',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('month', models.DateField()),
                ('kick_user_id', models.BigIntegerField()),
                ('base_minutes', models.PositiveIntegerField(default=0)),
            ],
        ),
        migrations.RemoveConstraint(
            model_name='rafflesettings',
            name='rafflesettings_grace_max',
        ),
        migrations.RemoveField(
            model_name='rafflesettings',
            name='grace_seconds',
        ),
        migrations.AddField(
            model_name='raffleperiod',
            name='draw_attempts',
            field=models.JSONField(blank=True, default=list),
        ),
        migrations.AddField(
            model_name='rafflesettings',
            name='commit_margin_seconds',
            field=models.PositiveIntegerField(default=30),
        ),
        migrations.AddField(
            model_name='rafflesettings',
            name='fallback_after_minutes',
            field=models.PositiveSmallIntegerField(default=10),
        ),
        migrations.AddField(
            model_name='rafflesettings',
            name='max_rerolls',
            field=models.PositiveSmallIntegerField(default=3),
        ),
        migrations.AddField(
            model_name='rafflesettings',
            name='moderator_cap',
            field=models.PositiveIntegerField(default=1000),
        ),
        migrations.AddField(
            model_name='rafflesettings',
            name='prize',
            field=models.CharField(blank=True, max_length=200),
        ),
        migrations.AddField(
            model_name='rafflesettings',
            name='shuffle_campaign_codes',
            field=models.CharField(blank=True, max_length=500),
        ),
        migrations.AddField(
            model_name='ticketentry',
            name='effective_at',
            field=models.DateTimeField(default=django.utils.timezone.now),
        ),
        migrations.RunSQL("UPDATE raffle_ticketentry SET effective_at = created_at", migrations.RunSQL.noop),
        migrations.AddConstraint(
            model_name='rafflesettings',
            constraint=models.CheckConstraint(condition=models.Q(('commit_margin_seconds__gte', 10), ('commit_margin_seconds__lte', 3600)), name='rafflesettings_margin_range'),
        ),
        migrations.AddConstraint(
            model_name='rafflesettings',
            constraint=models.CheckConstraint(condition=models.Q(('max_rerolls__lte', 20)), name='rafflesettings_rerolls_max'),
        ),
        migrations.AddConstraint(
            model_name='rafflesettings',
            constraint=models.CheckConstraint(condition=models.Q(('fallback_after_minutes__gte', 1), ('fallback_after_minutes__lte', 1440)), name='rafflesettings_fallback_range'),
        ),
        migrations.AddConstraint(
            model_name='rafflesettings',
            constraint=models.CheckConstraint(condition=models.Q(('moderator_cap__lte', 1000000)), name='rafflesettings_modcap_max'),
        ),
        migrations.AddConstraint(
            model_name='ticketentry',
            constraint=models.CheckConstraint(condition=models.Q(('effective_at__lte', models.F('created_at'))), name='ticketentry_not_postdated'),
        ),
        migrations.AddField(
            model_name='watchwindow',
            name='community',
            field=models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='watch_windows', to='kickbot.community'),
        ),
        migrations.AddField(
            model_name='watchwindow',
            name='period',
            field=models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='watch_windows', to='raffle.raffleperiod'),
        ),
        migrations.AddIndex(
            model_name='watchwindow',
            index=models.Index(fields=['period', 'kick_user_id'], name='watchwindow_period'),
        ),
        migrations.AddConstraint(
            model_name='watchwindow',
            constraint=models.UniqueConstraint(fields=('community', 'month', 'kick_user_id'), name='watchwindow_once'),
        ),
            migrations.RunPython(baselines_to_windows, migrations.RunPython.noop),
        migrations.DeleteModel(
            name='WatchBaseline',
        ),
    ]
