"""The fleet's and the edge's staff pages: their query count does not grow with the rows, and the
edge's pages are read-only (support staff and superusers look; the platform writes them)."""
from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from hosting.models import Host, HostPort, Instance, RuntimeImage
from proxy.models import Certificate, EdgeState, Route, Upstream
from tests.staff_users import client_of, superuser, support_engineer

pytestmark = pytest.mark.django_db

LIST_PAGES = ("/admin/hosting/host/", "/admin/hosting/instance/", "/admin/hosting/hostport/",
              "/admin/hosting/runtimeimage/", "/admin/proxy/route/", "/admin/proxy/upstream/",
              "/admin/proxy/certificate/", "/admin/proxy/certificate/?expiry=soon", "/admin/proxy/edgestate/")


def _grow(n: int) -> None:
    now = timezone.now()
    for i in range(n):
        host = Host.objects.create(name=f"h{n}-{i}", cpus=4, memory_mb=8000, last_heartbeat=now)
        for j in range(3):
            name = f"s{n}-{i}-{j}-web-1"
            Instance.objects.create(host=host, name=name, site_label=f"s{n}-{i}-{j}", release_label="v1",
                                    port=20000 + j, memory_mb=256, cpu_millicores=250, state="running")
            HostPort.objects.create(host=host, port=20000 + j, holder=name)
        RuntimeImage.objects.create(host=host, runtime="php", tag=f"hosting/runtime-php:{n}{i}", created_at=now)
        Route.objects.create(hostname=f"r{n}-{i}.test", group=f"g{n}{i}", upstreams=["10.0.0.1:1"])
        Upstream.objects.create(address=f"10.{n}.{i}.1:8000", group=f"g{n}{i}")
        Certificate.objects.create(hostname=f"c{n}-{i}.test", state="issued", expires_at=now + timedelta(days=i))


def _counts(client, pages) -> dict[str, int]:
    counts = {}
    for url in pages:
        with CaptureQueriesContext(connection) as captured:
            response = client.get(url)
        assert response.status_code == 200, url
        counts[url] = len(captured.captured_queries)
    return counts


def test_it_costs_as_many_queries_on_each_fleet_and_edge_page_with_many_rows():
    EdgeState.objects.create(pk=1, applied_at=timezone.now())
    client = client_of(superuser())
    _grow(2)
    host = Host.objects.first()
    pages = LIST_PAGES + (f"/admin/hosting/host/{host.pk}/change/",)
    _counts(client, pages)  # warm Django's caches (content types) first
    few = _counts(client, pages)
    _grow(12)
    for j in range(3, 80):  # a busy host: its page lists the latest containers only
        Instance.objects.create(host=host, name=f"busy-{j}", site_label=f"busy{j}", release_label="v1", state="running")
        HostPort.objects.create(host=host, port=20000 + j, holder=f"busy-{j}")
    assert _counts(client, pages) == few


def test_support_staff_read_the_edge_pages_and_nobody_changes_them():
    certificate = Certificate.objects.create(hostname="shop.test", state="failed", error="no such name")
    route = Route.objects.create(hostname="shop.test", group="g1", status="live")
    for user in (support_engineer(), superuser()):
        client = client_of(user)
        assert "no such name" in client.get("/admin/proxy/certificate/?state__exact=failed").content.decode()
        assert client.get(f"/admin/proxy/certificate/{certificate.pk}/change/").status_code == 200
        refused = client.post(f"/admin/proxy/certificate/{certificate.pk}/change/", {"state": "issued"})
        deleted = client.post(f"/admin/proxy/route/{route.pk}/delete/", {"post": "yes"})
        assert (refused.status_code, deleted.status_code) == (403, 403)
    certificate.refresh_from_db()
    assert certificate.state == "failed" and Route.objects.filter(pk=route.pk).exists()
