"""Heartbeats move from trading to market: the market stream beats too, and market is the lowest layer."""

from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('market', '0005_sim_high_water'),
        ('trading', '0005_live_order_safety'),
    ]

    operations = [
        # The table stays where it is (db_table): only Django's idea of which app owns it changes.
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.CreateModel(
                    name='Heartbeat',
                    fields=[
                        ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                        ('name', models.CharField(help_text='role@host:pid', max_length=200, unique=True)),
                        ('role', models.CharField(max_length=20)),
                        ('host', models.CharField(max_length=200)),
                        ('pid', models.IntegerField()),
                        ('beat_at', models.DateTimeField()),
                        ('info', models.JSONField(blank=True, default=dict)),
                    ],
                    options={
                        'db_table': 'trading_heartbeat',
                        'ordering': ['role', 'name'],
                    },
                ),
            ],
            database_operations=[],
        ),
    ]
