"""A site's charts and disk usage: fixed buckets with gaps, constant queries, and the Metrics tab."""
from __future__ import annotations

import datetime

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from accounts.services import get_or_create_user
from core import timeseries
from hosting.models import Host, Instance, VolumeUsage
from hosting.usage import SiteUsage, VolumeFill, record_usage
from proxy.models import SiteTraffic
from proxy.traffic import BUCKETS
from sites.metrics import disk_bytes_of, disk_usage, disk_usages, site_series
from sites.models import Site

pytestmark = pytest.mark.django_db


def client_of(who: str) -> Client:
    client = Client()
    client.force_login(get_or_create_user(f"{who}@example.com"))
    return client


def sample(site: Site, moment: datetime.datetime, cpu: float | None = 100.0, memory: int = 50 * 2**20) -> None:
    record_usage("h1", [SiteUsage(site.uuid.hex, cpu, memory, 128 * 2**20, 500)], [], moment)


def test_a_window_has_fixed_buckets_with_gaps_where_nothing_was_measured(world):
    site = world["site"]
    Site.objects.filter(pk=site.pk).update(created_at=timezone.now() - datetime.timedelta(days=30))
    site.refresh_from_db()
    # Half past the last hour: three minutes earlier is the same hourly bucket whenever the test runs
    # (at 12:01, "now" would be in the hour after the sample's and the week's last bucket empty).
    now = (timezone.now() - datetime.timedelta(hours=1)).replace(minute=30, second=0, microsecond=0)
    sample(site, now - datetime.timedelta(minutes=3), cpu=250.0, memory=60 * 2**20)
    sample(site, now, cpu=None)
    timeseries.add_to_buckets(SiteTraffic, BUCKETS, [({"group": site.route_group, "requests": 9, "bytes_sent": 900},
                                                      now - datetime.timedelta(minutes=3))])

    series = site_series(site, "hour", now)
    assert len(series.starts) == len(series.cpu_millicores) == len(series.requests) == 60
    assert series.cpu_millicores[-4] == 250.0 and series.memory_bytes[-4] == 60 * 2**20
    assert series.cpu_millicores[-1] is None and series.memory_bytes[-1] == 50 * 2**20
    assert series.cpu_millicores[0] is None and series.memory_bytes[0] is None
    assert series.requests[-4] == 9 and series.bytes_sent[-4] == 900 and series.requests[-3] == 0
    assert (series.memory_limit_bytes, series.cpu_limit_millicores) == (128 * 2**20, 500)

    week = site_series(site, "week", now)
    assert len(week.starts) == 168 and week.requests[-1] == 9 and week.memory_bytes[-1] == 60 * 2**20


def test_traffic_before_the_site_existed_is_no_data_not_zero(world):
    site = world["site"]  # made just now
    series = site_series(site, "day")
    assert series.requests[0] is None and series.requests[-1] == 0
    # Nothing sampled yet: the plan's limits stand in.
    assert series.memory_limit_bytes == site.plan.memory_mb * 2**20


def test_reading_the_charts_costs_the_same_queries_however_many_points(world):
    site = world["site"]
    now = timezone.now()

    def queries() -> int:
        site_ = Site.objects.select_related("plan").get(pk=site.pk)
        with CaptureQueriesContext(connection) as captured:
            site_series(site_, "week", now)
            site_series(site_, "hour", now)
        return len(captured)

    empty = queries()
    for minute in range(0, 7 * 24 * 60, 60):
        sample(site, now - datetime.timedelta(minutes=minute))
    timeseries.add_to_buckets(SiteTraffic, BUCKETS, [({"group": site.route_group, "requests": 1, "bytes_sent": 1},
                                                      now - datetime.timedelta(minutes=m)) for m in range(0, 120)])
    assert queries() == empty == 4


def test_disk_usage_of_many_sites_takes_two_queries_and_prefers_the_host_of_the_instance(world):
    site = world["site"]
    old, new = Host.objects.get(name="h1"), Host.objects.create(name="h2")
    instance = Instance.objects.create(host=new, name="site-shop-v1-d1", site_label="shop", state="running")
    Site.objects.filter(pk=site.pk).update(current_instance=instance)
    record_usage("h2", [], [VolumeFill(site.uuid.hex, 5 * 2**20, 100 * 2**20)], timezone.now() - datetime.timedelta(minutes=1))
    record_usage("h1", [], [VolumeFill(site.uuid.hex, 9 * 2**20, 100 * 2**20)], timezone.now())  # the volume it left
    assert VolumeUsage.objects.filter(host=old).exists()

    sites = list(Site.objects.all())
    with CaptureQueriesContext(connection) as captured:
        usages = disk_usages(sites)
    assert len(captured) == 2
    assert usages[site.pk].used_bytes == 5 * 2**20 and usages[site.pk].percent == 5
    other = next(s for s in sites if s.pk != site.pk)
    assert usages[other.pk] is None
    assert disk_bytes_of(sites) == {site.pk: 5 * 2**20}
    assert disk_usage(Site.objects.get(pk=site.pk)).used_bytes == 5 * 2**20


def test_the_metrics_tab_shows_four_charts_and_switches_windows(world):
    site = world["site"]
    sample(site, timezone.now(), memory=120 * 2**20)
    page = client_of("viewer").get("/sites/shop/metrics/")
    assert page.status_code == 200
    html = page.content.decode()
    for key in ("cpu", "memory", "requests", "bandwidth"):
        assert f'data-chart="{key}"' in html
    assert 'class="limit"' in html and "limit 128 MiB" in html
    assert 'aria-current="page">The last hour' in html

    fragment = client_of("viewer").get("/sites/shop/metrics/?window=week", HTTP_HX_REQUEST="true",
                                       HTTP_HX_TARGET="charts")
    assert fragment.status_code == 200
    text = fragment.content.decode()
    assert text.lstrip().startswith('<div id="charts"') and "<html" not in text
    assert "over the last week" in text


def test_the_metrics_tab_costs_the_same_queries_however_many_points(world):
    site = world["site"]
    client = client_of("viewer")

    def queries() -> int:
        with CaptureQueriesContext(connection) as captured:
            assert client.get("/sites/shop/metrics/?window=hour").status_code == 200
        return len(captured)

    queries()  # the first visit also picks the organization for the session
    empty = queries()
    now = timezone.now()
    for minute in range(60):
        sample(site, now - datetime.timedelta(minutes=minute))
    record_usage("h1", [], [VolumeFill(site.uuid.hex, 1, 2)], now)
    assert queries() == empty


def test_another_organizations_member_cannot_see_the_metrics(world):
    assert client_of("outsider").get("/sites/shop/metrics/").status_code == 404
    assert Client().get("/sites/shop/metrics/").status_code == 302
