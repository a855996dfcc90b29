"""The per-host port allocator for site containers' published ports."""
from __future__ import annotations

import socket

from django.conf import settings
from django.db import IntegrityError, transaction

from core.errors import PlatformError
from hosting.models import Host, HostPort


class NoPortLeft(PlatformError):
    pass


def port_is_bindable(address: str, port: int) -> bool:
    """Whether nothing on this machine listens on address:port (a leftover container, another program)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        try:
            probe.bind((address, port))
            return True
        except OSError:
            return False


def allocate_port(host: Host, holder: str, avoid: frozenset[int] = frozenset(), check_local: bool = False) -> int:
    """A port of `host` for `holder`; the same one again if it already holds one.

    Two allocations racing for the same free port both try to insert it; the unique constraint
    lets one win and the other retries with the next free port. With `check_local` (the caller
    runs on that host), ports something else already listens on are skipped too.
    """
    low, high = settings.SITE_PORT_RANGE
    for _ in range(50):
        existing = HostPort.objects.filter(host=host, holder=holder).values_list("port", flat=True).first()
        if existing is not None and existing not in avoid:
            return existing
        HostPort.objects.filter(host=host, holder=holder).delete()
        taken = set(HostPort.objects.filter(host=host).values_list("port", flat=True)) | set(avoid)
        port = next(
            (p for p in range(low, high + 1)
             if p not in taken and (not check_local or port_is_bindable(host.service_address, p))),
            None,
        )
        if port is None:
            raise NoPortLeft(f"Host {host.name} has no free port left in {low}-{high}.")
        try:
            with transaction.atomic():
                HostPort.objects.create(host=host, port=port, holder=holder)
            return port
        except IntegrityError:
            continue  # taken meanwhile by another allocation: look again
    raise PlatformError(f"Could not allocate a port on {host.name}: too much contention.")


def release_port(host: Host, holder: str) -> None:
    HostPort.objects.filter(host=host, holder=holder).delete()
