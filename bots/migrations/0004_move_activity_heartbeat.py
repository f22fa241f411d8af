"""The activity feed moves from trading to bots, the lower of the two layers that write it."""

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('bots', '0003_live_order_safety'),
        ('trading', '0005_live_order_safety'),
    ]

    operations = [
        # The table stays where it is (db_table): only Django's idea of which app owns it changes.
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.CreateModel(
                    name='ActivityEvent',
                    fields=[
                        ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                        ('kind', models.CharField(choices=[('decision', 'Decision'), ('skip', 'Skip'), ('order', 'Order'), ('fill', 'Fill'), ('error', 'Error'), ('state', 'State change'), ('breaker', 'Breaker'), ('confirmation', 'Confirmation'), ('system', 'System')], max_length=20)),
                        ('level', models.CharField(choices=[('info', 'Info'), ('warning', 'Warning'), ('error', 'Error')], default='info', max_length=10)),
                        ('message', models.CharField(max_length=1000)),
                        ('data', models.JSONField(blank=True, default=dict)),
                        ('at', models.DateTimeField(help_text='Market time of the event.')),
                        ('created_at', models.DateTimeField(auto_now_add=True)),
                        ('bot', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.CASCADE, related_name='events', to='bots.bot')),
                    ],
                    options={
                        'db_table': 'trading_activityevent',
                        'ordering': ['-at', '-id'],
                        'indexes': [models.Index(fields=['-at', '-id'], name='trading_act_at_e7f9b0_idx'), models.Index(fields=['bot', '-at'], name='trading_act_bot_id_7b6907_idx')],
                    },
                ),
            ],
            database_operations=[],
        ),
    ]
