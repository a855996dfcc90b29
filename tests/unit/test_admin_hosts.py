from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from hosting.models import Host

pytestmark = pytest.mark.django_db


def test_staff_see_each_hosts_capacity_heartbeat_and_status(admin_client):
    Host.objects.create(name="alive-1", cpus=8, memory_mb=32000, docker_version="20.10.24", last_heartbeat=timezone.now())
    Host.objects.create(name="silent-1", cpus=2, memory_mb=4000, last_heartbeat=timezone.now() - timedelta(hours=2))

    page = admin_client.get("/admin/hosting/host/").content.decode()

    assert "alive-1" in page and "32000" in page and "20.10.24" in page
    row_of = lambda name: next(row for row in page.split("<tr")[1:] if f">{name}<" in row)  # noqa: E731
    assert ">up<" in row_of("alive-1")
    assert ">down<" in row_of("silent-1")
