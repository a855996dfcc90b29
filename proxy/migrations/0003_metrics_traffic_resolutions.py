"""Traffic kept in buckets of three lengths: the minutes recorded so far are rolled up into ten
minute and hourly buckets, so the week's chart has them from the start."""
import datetime

from django.db import migrations, models

ROLLUPS = (600, 3600)


def roll_up_minutes(apps, schema_editor):
    SiteTraffic = apps.get_model("proxy", "SiteTraffic")
    buckets: dict = {}
    for row in SiteTraffic.objects.filter(resolution=60).iterator():
        epoch = int(row.minute.timestamp())
        for seconds in ROLLUPS:
            start = datetime.datetime.fromtimestamp(epoch - epoch % seconds, tz=datetime.timezone.utc)
            bucket = buckets.setdefault((row.group, seconds, start), [0, 0])
            bucket[0] += row.requests
            bucket[1] += row.bytes_sent
    SiteTraffic.objects.bulk_create(
        [SiteTraffic(group=group, resolution=seconds, minute=start, requests=requests, bytes_sent=sent)
         for (group, seconds, start), (requests, sent) in buckets.items()],
        batch_size=1000,
    )


def drop_coarse_buckets(apps, schema_editor):
    # Back to one row per site and minute, as the older unique constraint wants.
    apps.get_model("proxy", "SiteTraffic").objects.exclude(resolution=60).delete()


class Migration(migrations.Migration):

    dependencies = [
        ('proxy', '0002_upstream_owners_and_certificate_backoff'),
    ]

    operations = [
        migrations.AlterModelOptions(
            name='sitetraffic',
            options={'ordering': ['group', 'resolution', 'minute']},
        ),
        migrations.RemoveConstraint(
            model_name='sitetraffic',
            name='one_bucket_per_site_minute',
        ),
        migrations.AddField(
            model_name='sitetraffic',
            name='resolution',
            field=models.PositiveIntegerField(default=60, help_text="The bucket's length in seconds."),
        ),
        migrations.AlterField(
            model_name='sitetraffic',
            name='minute',
            field=models.DateTimeField(help_text='The start of the bucket.'),
        ),
        migrations.AddIndex(
            model_name='sitetraffic',
            index=models.Index(fields=['resolution', 'minute'], name='traffic_by_age'),
        ),
        migrations.AddConstraint(
            model_name='sitetraffic',
            constraint=models.UniqueConstraint(fields=('group', 'resolution', 'minute'), name='one_traffic_bucket'),
        ),
        migrations.RunPython(roll_up_minutes, drop_coarse_buckets),
    ]
