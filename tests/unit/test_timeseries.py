"""Buckets of three lengths, merged by an upsert, pruned per resolution; the edge's traffic kept so."""
from __future__ import annotations

import datetime
import importlib

import pytest

from core import timeseries
from hosting.models import Host, UsageSample, VolumeUsage
from hosting.usage import SiteUsage, VolumeFill, prune_usage, record_usage
from proxy.models import SiteTraffic
from proxy.services import traffic_of
from proxy.traffic import BUCKETS, prune_traffic

pytestmark = pytest.mark.django_db

UTC = datetime.timezone.utc
GROUP = "a" * 32


def at(hour: int, minute: int, second: int = 0) -> datetime.datetime:
    return datetime.datetime(2026, 11, 27, hour, minute, second, tzinfo=UTC)


def test_it_puts_a_moment_into_the_bucket_of_each_length():
    moment = at(14, 37, 42)
    assert timeseries.bucket_start(moment, 60) == at(14, 37)
    assert timeseries.bucket_start(moment, 600) == at(14, 30)
    assert timeseries.bucket_start(moment, 3600) == at(14, 0)


def test_a_window_has_a_fixed_number_of_buckets_ending_with_the_current_one():
    starts = timeseries.WINDOWS["day"].starts(at(14, 37, 42))
    assert len(starts) == 144
    assert starts[-1] == at(14, 30)
    assert starts[0] == at(14, 30) - datetime.timedelta(minutes=10 * 143)
    assert len(timeseries.WINDOWS["hour"].starts(at(14, 37))) == 60
    assert len(timeseries.WINDOWS["week"].starts(at(14, 37))) == 168


def test_it_adds_traffic_to_a_bucket_of_every_resolution_in_one_upsert():
    points = [({"group": GROUP, "requests": 3, "bytes_sent": 300}, at(14, 31)),
              ({"group": GROUP, "requests": 2, "bytes_sent": 200}, at(14, 32))]
    timeseries.add_to_buckets(SiteTraffic, BUCKETS, points)
    timeseries.add_to_buckets(SiteTraffic, BUCKETS, [({"group": GROUP, "requests": 1, "bytes_sent": 10}, at(14, 31))])

    rows = {(r.resolution, r.minute): (r.requests, r.bytes_sent) for r in SiteTraffic.objects.filter(group=GROUP)}
    assert rows == {
        (60, at(14, 31)): (4, 310), (60, at(14, 32)): (2, 200),
        (600, at(14, 30)): (6, 510), (3600, at(14, 0)): (6, 510),
    }


def test_it_keeps_the_peak_of_memory_the_average_of_cpu_and_the_latest_limit(settings):
    Host.objects.create(name="h1")
    record_usage("h1", [SiteUsage("v1", 100.0, 50, 1000, 500)], [], at(14, 31, 5))
    record_usage("h1", [SiteUsage("v1", 300.0, 20, 2000, 500)], [], at(14, 31, 40))
    record_usage("h1", [SiteUsage("v1", None, 70, 2000, 500)], [], at(14, 45))  # a first sample: no CPU yet

    minute = UsageSample.objects.get(volume="v1", resolution=60, start=at(14, 31))
    assert (minute.cpu_millicores, minute.memory_max_bytes, minute.memory_limit_bytes) == (200.0, 50, 2000)
    hour = UsageSample.objects.get(volume="v1", resolution=3600, start=at(14, 0))
    assert (hour.cpu_millicores, hour.memory_max_bytes, hour.cpu_samples) == (200.0, 70, 2)
    assert UsageSample.objects.get(volume="v1", resolution=60, start=at(14, 45)).cpu_millicores is None


def test_pruning_keeps_each_resolution_for_its_own_time():
    now = at(14, 0)
    for resolution in timeseries.RESOLUTIONS:
        for start in (now - resolution.keep - datetime.timedelta(minutes=1), now - resolution.keep + datetime.timedelta(minutes=1)):
            SiteTraffic.objects.create(group=GROUP, resolution=resolution.seconds, minute=start, requests=1)

    assert timeseries.prune(SiteTraffic, BUCKETS, now) == 3
    kept = {resolution.seconds: resolution.keep for resolution in timeseries.RESOLUTIONS}
    assert sorted(row.resolution for row in SiteTraffic.objects.all()) == [60, 600, 3600]
    assert all(now - row.minute < kept[row.resolution] for row in SiteTraffic.objects.all())


def test_a_week_of_samples_stays_bounded_after_pruning(settings):
    """A week of minutely samples keeps about 2 h of minutes, 2 days of ten minutes and 8 days of
    hours: a few hundred rows, not 10,080."""
    Host.objects.create(name="h1")
    start = at(0, 0) - datetime.timedelta(days=7)
    for minute in range(0, 7 * 24 * 60, 7):  # a sample every 7 minutes keeps the test quick
        now = start + datetime.timedelta(minutes=minute)
        record_usage("h1", [SiteUsage("v1", 10.0, 1, 2, 0)], [], now)
        if minute % 60 < 7:
            prune_usage(now)
    prune_usage(now)
    counts = {r: UsageSample.objects.filter(resolution=r).count() for r in (60, 600, 3600)}
    assert counts[60] <= 2 * 60 // 7 + 2
    assert counts[600] <= 2 * 24 * 6 + 1
    assert counts[3600] <= 7 * 24 + 1
    assert sum(counts.values()) < 500


def test_traffic_collection_prunes_old_buckets():
    SiteTraffic.objects.create(group=GROUP, resolution=60, minute=datetime.datetime.now(UTC) - datetime.timedelta(hours=3))
    SiteTraffic.objects.create(group=GROUP, resolution=600, minute=datetime.datetime.now(UTC) - datetime.timedelta(hours=3))
    assert prune_traffic() == 1
    assert list(SiteTraffic.objects.values_list("resolution", flat=True)) == [600]


def test_the_traffic_api_answers_minutes_for_an_hour_and_hours_for_a_week():
    now = datetime.datetime.now(UTC)
    timeseries.add_to_buckets(SiteTraffic, BUCKETS, [({"group": GROUP, "requests": 5, "bytes_sent": 50}, now)])

    hour = traffic_of(GROUP, 60)
    assert [(p["seconds"], p["requests"], p["bytes"]) for p in hour] == [(60, 5, 50)]
    assert hour[0]["minute"] == timeseries.bucket_start(now, 60)
    assert [(p["seconds"], p["requests"]) for p in traffic_of(GROUP, 10080)] == [(3600, 5)]


def test_the_volume_rows_of_a_host_are_what_its_last_round_saw():
    Host.objects.create(name="h1")
    record_usage("h1", [], [VolumeFill("v1", 10, 100), VolumeFill("v2", 20, 100)], at(14, 0))
    record_usage("h1", [], [VolumeFill("v1", 15, 100)], at(14, 1))

    assert list(VolumeUsage.objects.values_list("volume", "used_bytes", "measured_at")) == [("v1", 15, at(14, 1))]


def test_the_migration_rolls_the_minutes_recorded_before_it_up_into_coarser_buckets():
    from django.apps import apps

    migration = importlib.import_module("proxy.migrations.0003_metrics_traffic_resolutions")
    for minute, requests in ((at(14, 31), 3), (at(14, 38), 4), (at(14, 41), 5)):
        SiteTraffic.objects.create(group=GROUP, resolution=60, minute=minute, requests=requests, bytes_sent=requests)

    migration.roll_up_minutes(apps, None)

    coarse = {(r.resolution, r.minute): r.requests for r in SiteTraffic.objects.exclude(resolution=60)}
    assert coarse == {(600, at(14, 30)): 7, (600, at(14, 40)): 5, (3600, at(14, 0)): 12}
