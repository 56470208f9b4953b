# The outbox model moved to the outbox app (decision 0015); the table stays where it is.

from django.db import migrations


class Migration(migrations.Migration):

    dependencies = [
        ('botworker', '0002_outbox_expires'),
        ('outbox', '0001_initial'),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            database_operations=[],
            state_operations=[migrations.DeleteModel(name='OutboxMessage')],
        ),
    ]
