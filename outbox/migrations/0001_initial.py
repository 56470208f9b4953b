# The outbox model moved here from botworker (decision 0015). The table already exists
# (botworker_outboxmessage, created by botworker 0001/0002): this migration only tells Django's
# state that the model now lives in this app; it runs no SQL.

import django.db.models.deletion
import django.utils.timezone
from django.db import migrations, models


class Migration(migrations.Migration):

    initial = True

    dependencies = [
        ('kickbot', '0001_initial'),
        ('botworker', '0002_outbox_expires'),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            database_operations=[],
            state_operations=[
                migrations.CreateModel(
                    name='OutboxMessage',
                    fields=[
                        ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                        ('kind', models.CharField(choices=[('discord_message', 'Discord message'), ('discord_edit', 'Discord message edit'), ('discord_role_add', 'Discord role add'), ('discord_role_remove', 'Discord role remove'), ('kick_chat', 'Kick chat message')], max_length=32)),
                        ('target', models.CharField(max_length=64)),
                        ('payload', models.JSONField(blank=True, default=dict)),
                        ('dedupe_key', models.CharField(blank=True, max_length=200, null=True, unique=True)),
                        ('status', models.CharField(choices=[('pending', 'Pending'), ('sending', 'Sending'), ('sent', 'Sent'), ('failed', 'Failed'), ('expired', 'Expired')], default='pending', max_length=16)),
                        ('attempts', models.PositiveIntegerField(default=0)),
                        ('next_attempt_at', models.DateTimeField(default=django.utils.timezone.now)),
                        ('claimed_by', models.CharField(blank=True, max_length=100)),
                        ('claimed_at', models.DateTimeField(blank=True, null=True)),
                        ('sent_at', models.DateTimeField(blank=True, null=True)),
                        ('last_error', models.TextField(blank=True)),
                        ('expires_at', models.DateTimeField(blank=True, null=True)),
                        ('created_at', models.DateTimeField(auto_now_add=True)),
                        ('community', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.CASCADE, related_name='outbox_messages', to='kickbot.community')),
                    ],
                    options={
                        'db_table': 'botworker_outboxmessage',
                        'ordering': ['id'],
                        'indexes': [models.Index(fields=['status', 'kind', 'next_attempt_at'], name='outbox_due')],
                    },
                ),
            ],
        ),
    ]
