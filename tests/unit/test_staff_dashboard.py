"""The staff dashboard: hosts' capacity used and free, sites by status, deployments failed in the
last day, open tickets by age, the edge and certificates, the fleet's load; its query count does not
grow with the rows."""
from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from accounts.services import create_organization
from core.timeseries import bucket_start
from hosting.models import Host, Instance, UsageSample
from proxy.models import Certificate, EdgeState, SiteTraffic
from sites.models import Deployment, Site
from sites.services import create_site
from staff import fleet_charts, fleet_summary
from support.models import Ticket
from tests.staff_users import client_of, superuser, support_engineer

pytestmark = pytest.mark.django_db


def _host(name: str, *, up: bool = True, cpus: int = 4, memory_mb: int = 8000) -> Host:
    beat = timezone.now() - (timedelta(seconds=5) if up else timedelta(hours=3))
    return Host.objects.create(name=name, cpus=cpus, memory_mb=memory_mb, last_heartbeat=beat)


def _instance(host: Host, name: str, state: str, memory_mb: int, millicores: int) -> Instance:
    return Instance.objects.create(host=host, name=name, site_label=name, release_label="v1", state=state,
                                   memory_mb=memory_mb, cpu_millicores=millicores)


def _site(organization, name: str) -> Site:
    return Site.objects.create(organization=organization, name=name, plan=organization.plan)


def _ticket(organization, age: timedelta, state: str = Ticket.State.OPEN) -> Ticket:
    ticket = Ticket.objects.create(organization=organization, subject=f"help {age}", state=state)
    Ticket.objects.filter(pk=ticket.pk).update(created_at=timezone.now() - age)
    return ticket


def _failed(site, ago: timedelta, state: str = Deployment.State.FAILED) -> Deployment:
    return Deployment.objects.create(site=site, trigger="push", state=state, error="npm install failed",
                                     finished_at=timezone.now() - ago)


def test_it_shows_each_hosts_capacity_reserved_and_free(admin_client, settings):
    settings.CPU_OVERCOMMIT = 2
    busy, _ = _host("busy-1"), _host("silent-1", up=False, cpus=2, memory_mb=4000)
    _instance(busy, "a", Instance.State.RUNNING, 512, 500)
    _instance(busy, "b", Instance.State.STARTING, 256, 250)
    _instance(busy, "c", Instance.State.STOPPED, 1024, 1000)  # holds nothing

    capacity = fleet_summary.fleet_capacity(timezone.now())
    page = admin_client.get(reverse("admin:index")).content.decode()

    assert (capacity.host_count, capacity.hosts_up) == (2, 1)
    assert (capacity.memory_mb, capacity.reserved_memory_mb, capacity.free_memory_mb) == (12000, 768, 11232)
    assert (capacity.cpu_millicores, capacity.reserved_millicores, capacity.free_millicores) == (12000, 750, 11250)
    assert [host.name for host in capacity.hosts] == ["silent-1", "busy-1"]  # down hosts first
    row = page.split('data-host="busy-1"')[1].split("</tr>")[0]
    assert "768 / 8000 (7232)" in row and "750 / 8000 (7250)" in row and ">up<" in row
    assert ">down<" in page.split('data-host="silent-1"')[1].split("</tr>")[0]


def test_it_counts_sites_by_the_status_their_customers_see(admin_client):
    organization = create_organization("acme", "owner@acme.test")
    running, stopped, building, _ = (_site(organization, name) for name in ("run", "halt", "build", "new"))
    host = _host("h1")
    running.current_instance = _instance(host, "run-1", Instance.State.RUNNING, 256, 250)
    running.save()
    stopped.desired_state = stopped.DesiredState.STOPPED
    stopped.save()
    Deployment.objects.create(site=building, trigger="push", state=Deployment.State.BUILDING)

    assert dict(fleet_summary.sites_by_status()) == {
        "running": 1, "stopped": 1, "deploying": 1, "not deployed": 1, "suspended": 0}
    page = admin_client.get(reverse("admin:index")).content.decode()
    assert 'data-status="running"><th scope="row">Running</th><td>1<' in page


def test_it_counts_only_deployments_failed_in_the_last_day(admin_client):
    site = create_site(create_organization("acme", "owner@acme.test"), "shop")
    recent = _failed(site, timedelta(hours=2))
    old = _failed(site, timedelta(hours=30))  # too old
    _failed(site, timedelta(hours=1), state=Deployment.State.SUCCEEDED)

    failed = fleet_summary.failed_deployments(timezone.now())
    page = admin_client.get(reverse("admin:index")).content.decode()

    assert failed.count == 1 and failed.latest == [recent]
    assert reverse("admin:sites_deployment_change", args=[recent.pk]) in page
    listed = admin_client.get(failed.list_url).content.decode()  # the link shows the same ones
    change_url = lambda deployment: reverse("admin:sites_deployment_change", args=[deployment.pk])  # noqa: E731
    assert change_url(recent) in listed and change_url(old) not in listed


def test_it_buckets_open_tickets_by_age_and_links_to_them(admin_client):
    organization = create_organization("acme", "owner@acme.test")
    for age in (timedelta(minutes=10), timedelta(minutes=50), timedelta(hours=5), timedelta(days=2),
                timedelta(days=10), timedelta(days=30)):
        _ticket(organization, age)
    _ticket(organization, timedelta(hours=5), state=Ticket.State.ANSWERED)
    _ticket(organization, timedelta(minutes=5), state=Ticket.State.CLOSED)  # not open

    buckets = fleet_summary.open_tickets_by_age(timezone.now())

    assert [(b["label"], b["count"]) for b in buckets] == [
        ("under an hour", 2), ("under a day", 2), ("under 3 days", 1), ("older", 2)]
    # Each links to the ticket list filtered to exactly its tickets (the admin applies the same lookups).
    for bucket in buckets:
        filters = dict(bucket["filters"], state__in=bucket["filters"]["state__in"].split(","))
        assert Ticket.objects.filter(**filters).count() == bucket["count"]


def test_it_shows_a_refused_edge_config_failing_and_expiring_certificates(admin_client):
    now = timezone.now()
    EdgeState.objects.create(pk=1, applied_at=now - timedelta(hours=1), failed_at=now,
                             error="nginx: [emerg] unknown directive")
    Certificate.objects.create(hostname="broken.test", state=Certificate.State.FAILED, error="DNS says NXDOMAIN")
    Certificate.objects.create(hostname="soon.test", state=Certificate.State.ISSUED, expires_at=now + timedelta(days=3))
    Certificate.objects.create(hostname="later.test", state=Certificate.State.ISSUED, expires_at=now + timedelta(days=60))

    edge = fleet_summary.edge_health(now)
    page = admin_client.get(reverse("admin:index")).content.decode()

    assert edge.failed_count == 1 and edge.expiring_count == 1
    assert [c.hostname for c in edge.expiring] == ["soon.test"]
    assert "unknown directive" in page and "DNS says NXDOMAIN" in page and "soon.test" in page
    assert "later.test" not in page
    expiring = admin_client.get(edge.expiring_url).content.decode()
    assert "soon.test" in expiring and "later.test" not in expiring


def test_it_sums_the_fleets_load_over_every_site():
    now = timezone.now()
    start = bucket_start(now, 600)
    for volume, cpu, samples, memory in (("a", 300.0, 3, 100), ("b", 1000.0, 2, 50)):
        UsageSample.objects.create(volume=volume, resolution=600, start=start, cpu_millicores_sum=cpu,
                                   cpu_samples=samples, memory_max_bytes=memory)
    UsageSample.objects.create(volume="a", resolution=60, start=start, cpu_millicores_sum=9e9, cpu_samples=1)
    SiteTraffic.objects.create(group="a", resolution=600, minute=start, requests=7)
    SiteTraffic.objects.create(group="b", resolution=600, minute=start, requests=5)

    series = fleet_charts.fleet_series(now)

    assert series["cpu_millicores"][-1] == pytest.approx(100 + 500)  # each site's average, summed
    assert series["memory_bytes"][-1] == 150
    assert series["requests"][-1] == 12
    assert series["cpu_millicores"][0] is None and series["requests"][0] == 0
    assert len(fleet_charts.fleet_charts(now, 4000, 8000)) == 3


def _grow(n: int) -> None:
    organization = create_organization(f"org{n}", f"owner{n}@org.test")
    for i in range(n):
        host = _host(f"host-{n}-{i}", up=i % 2 == 0)
        site = _site(organization, f"site-{n}-{i}")
        site.current_instance = _instance(host, f"i-{n}-{i}", Instance.State.RUNNING, 256, 250)
        site.save()
        _failed(site, timedelta(hours=1))
        _ticket(organization, timedelta(hours=i))
        Certificate.objects.create(hostname=f"c{n}-{i}.test", state=Certificate.State.FAILED, error="no")
        Certificate.objects.create(hostname=f"e{n}-{i}.test", state=Certificate.State.ISSUED,
                                   expires_at=timezone.now() + timedelta(days=i % 20))
        UsageSample.objects.create(volume=site.uuid.hex, resolution=600, start=bucket_start(timezone.now(), 600),
                                   cpu_millicores_sum=100, cpu_samples=1, memory_max_bytes=1000)


def _dashboard_queries(client) -> int:
    with CaptureQueriesContext(connection) as captured:
        assert client.get(reverse("admin:index")).status_code == 200
    return len(captured.captured_queries)


def test_it_costs_as_many_queries_with_many_hosts_sites_and_tickets():
    client = client_of(superuser())
    _grow(2)
    _dashboard_queries(client)  # warm Django's caches first
    few = _dashboard_queries(client)
    _grow(25)
    assert _dashboard_queries(client) == few


def test_support_staff_see_the_dashboard_too():
    _host("busy-1")
    page = client_of(support_engineer()).get(reverse("admin:index"))
    assert page.status_code == 200 and 'data-host="busy-1"' in page.content.decode()
