"""ActivityEvent now belongs to bots and Heartbeat to market; their tables stay."""

from django.db import migrations


class Migration(migrations.Migration):

    dependencies = [
        ('trading', '0005_live_order_safety'),
        ('bots', '0004_move_activity_heartbeat'),
        ('market', '0006_move_activity_heartbeat'),
    ]

    operations = [
        # The table stays where it is (db_table): only Django's idea of which app owns it changes.
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.RemoveField(
                    model_name='activityevent',
                    name='bot',
                ),
                migrations.DeleteModel(
                    name='Heartbeat',
                ),
                migrations.DeleteModel(
                    name='ActivityEvent',
                ),
            ],
            database_operations=[],
        ),
    ]
