"""Placement: which host runs a new instance or build."""
from __future__ import annotations

from django.utils import timezone
from datetime import timedelta

from django.conf import settings

from core.errors import TransientError
from hosting.models import Host


class NoHostAvailable(TransientError):
    """No live host has room; it may pass once a host comes back or capacity frees up."""


def place_instance(memory_mb: int, cpu_millicores: int) -> Host:
    """The live host with the most unreserved memory that still fits the request."""
    cutoff = timezone.now() - timedelta(seconds=settings.HOST_DOWN_AFTER)
    best, best_free = None, None
    for host in Host.objects.filter(last_heartbeat__gte=cutoff).with_reservations():
        fits = host.free_memory_mb >= memory_mb and host.free_millicores >= cpu_millicores
        if fits and (best_free is None or host.free_memory_mb > best_free):
            best, best_free = host, host.free_memory_mb
    if best is None:
        raise NoHostAvailable(f"No live host has {memory_mb} MB and {cpu_millicores} millicores free right now.")
    return best
