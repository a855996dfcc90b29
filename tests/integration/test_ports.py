"""The port allocator never hands out a port twice, even to allocations racing in parallel."""
from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import pytest
from django.db import connection

from hosting.models import Host
from hosting.ports import allocate_port, release_port

pytestmark = pytest.mark.django_db(transaction=True)


def test_racing_allocations_get_distinct_ports():
    host = Host.objects.create(name="ports-test")

    def allocate(n: int) -> int:
        try:
            return allocate_port(host, f"holder-{n}")
        finally:
            connection.close()

    with ThreadPoolExecutor(max_workers=8) as pool:
        ports = list(pool.map(allocate, range(40)))

    assert len(set(ports)) == 40
    assert allocate_port(host, "holder-3") == ports[3]  # a retry gets its own port back
    release_port(host, "holder-3")
    assert allocate_port(host, "newcomer") == ports[3] == min(set(range(20000, 20040)) - set(ports) | {ports[3]})
