"""Fleet services: hosts register, heartbeat, and are found down when they fall silent."""
from __future__ import annotations

import logging
from datetime import timedelta

from django.conf import settings
from django.core.exceptions import ValidationError
from django.utils import timezone

from hosting.spec import DaemonCapacity
from hosting.models import Host, validate_host_name

log = logging.getLogger(__name__)


def _capacity_fields(capacity: DaemonCapacity) -> dict:
    return {
        "cpus": capacity.cpus,
        "memory_mb": capacity.memory_mb,
        "docker_version": capacity.docker_version,
        "kernel_version": capacity.kernel_version,
        "operating_system": capacity.operating_system,
    }


def register_host(name: str, capacity: DaemonCapacity, service_address: str) -> Host:
    """Create or update the Host row `name` with what its daemon reports; counts as a heartbeat."""
    try:
        validate_host_name(name)
    except ValidationError as exc:
        raise ValueError(f"{name!r} is not a valid host name. {' '.join(exc.messages)}") from None
    now = timezone.now()
    host, created = Host.objects.update_or_create(
        name=name,
        defaults={
            **_capacity_fields(capacity),
            "service_address": service_address,
            "last_heartbeat": now,
            "down_since": None,
        },
        create_defaults={
            **_capacity_fields(capacity),
            "service_address": service_address,
            "last_heartbeat": now,
            "registered_at": now,
        },
    )
    log.info("host %s", "registered" if created else "re-registered", extra={"host": name})
    return host


def record_heartbeat(name: str, capacity: DaemonCapacity) -> None:
    """Mark the host alive now and refresh its capacity (memory can change under a VM)."""
    updated = Host.objects.filter(name=name).update(
        last_heartbeat=timezone.now(), down_since=None, **_capacity_fields(capacity)
    )
    if not updated:
        # The row was deleted by staff while the agent ran: register it again.
        register_host(name, capacity, settings.HOST_SERVICE_ADDRESS)


def mark_silent_hosts_down() -> int:
    """Record when each host that stopped heartbeating was first found down; returns how many."""
    now = timezone.now()
    cutoff = now - timedelta(seconds=settings.HOST_DOWN_AFTER)
    silent = Host.objects.filter(down_since__isnull=True, last_heartbeat__lt=cutoff)
    names = list(silent.values_list("name", flat=True))
    # Conditional update: a heartbeat arriving meanwhile wins (its last_heartbeat is newer).
    count = silent.update(down_since=now)
    for name in names:
        log.warning("host is down: no heartbeat for %ss", settings.HOST_DOWN_AFTER, extra={"host": name})
    return count

