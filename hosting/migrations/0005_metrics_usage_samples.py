"""Usage samples of site containers (CPU, memory) in buckets, and how full each site volume is."""

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('hosting', '0004_instance_address'),
    ]

    operations = [
        migrations.CreateModel(
            name='UsageSample',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('volume', models.CharField(max_length=63)),
                ('resolution', models.PositiveIntegerField(help_text="The bucket's length in seconds.")),
                ('start', models.DateTimeField()),
                ('cpu_millicores_sum', models.FloatField(default=0, help_text="Sum of the samples' CPU, in thousandths of a core.")),
                ('cpu_samples', models.PositiveIntegerField(default=0)),
                ('memory_max_bytes', models.PositiveBigIntegerField(default=0, help_text='The highest memory use sampled.')),
                ('memory_limit_bytes', models.PositiveBigIntegerField(default=0)),
                ('cpu_limit_millicores', models.PositiveIntegerField(default=0)),
            ],
            options={
                'indexes': [models.Index(fields=['resolution', 'start'], name='usage_by_age')],
                'constraints': [models.UniqueConstraint(fields=('volume', 'resolution', 'start'), name='one_usage_bucket')],
            },
        ),
        migrations.CreateModel(
            name='VolumeUsage',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('volume', models.CharField(db_index=True, max_length=63)),
                ('used_bytes', models.PositiveBigIntegerField()),
                ('size_bytes', models.PositiveBigIntegerField()),
                ('measured_at', models.DateTimeField()),
                ('host', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='volume_usages', to='hosting.host')),
            ],
            options={
                'constraints': [models.UniqueConstraint(fields=('host', 'volume'), name='one_usage_per_volume_and_host')],
            },
        ),
    ]
