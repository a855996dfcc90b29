"""Placement: which host runs a new instance or build."""
from __future__ import annotations

from django.db.models import Sum
from django.utils import timezone
from datetime import timedelta

from django.conf import settings

from core.errors import TransientError
from hosting.models import Host, Instance


class NoHostAvailable(TransientError):
    """No live host has room; it may pass once a host comes back or capacity frees up."""


def place_instance(memory_mb: int, cpu_millicores: int) -> Host:
    """The live host with the most unreserved memory that still fits the request."""
    cutoff = timezone.now() - timedelta(seconds=settings.HOST_DOWN_AFTER)
    best, best_free = None, None
    for host in Host.objects.filter(last_heartbeat__gte=cutoff):
        reserved = Instance.objects.filter(host=host, state__in=[Instance.State.STARTING, Instance.State.RUNNING]).aggregate(
            memory=Sum("memory_mb"), cpu=Sum("cpu_millicores")
        )
        free_memory = host.memory_mb - (reserved["memory"] or 0)
        free_cpu = host.cpus * 1000 * settings.CPU_OVERCOMMIT - (reserved["cpu"] or 0)
        if free_memory >= memory_mb and free_cpu >= cpu_millicores and (best_free is None or free_memory > best_free):
            best, best_free = host, free_memory
    if best is None:
        raise NoHostAvailable(f"No live host has {memory_mb} MB and {cpu_millicores} millicores free right now.")
    return best
