"""Fleet services: hosts register, heartbeat, and are found down when they fall silent.

A host found down stays down until its agent has fenced it: a returning agent (restarted, or its
heartbeat resuming after a partition) first removes the containers of instances that are no
longer wanted (the ones failover replaced elsewhere; hosting/reconcile.py), and only then is its
heartbeat taken again (`host_fenced`). Placement takes only hosts with a recent heartbeat, so a
host gets no new work while it may still run stale containers.
"""
from __future__ import annotations

import logging
from datetime import timedelta

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import connection
from django.dispatch import Signal
from django.utils import timezone

from hosting.spec import DaemonCapacity
from hosting.models import Host, validate_host_name

log = logging.getLogger(__name__)

# sender=Host, hosts=[<Host>, ...]: every host down right now, sent on each heartbeat check (not only
# when one is first found down) so that whoever moves work off them retries what could not move yet.
hosts_down = Signal()


def _capacity_fields(capacity: DaemonCapacity) -> dict:
    return {
        "cpus": capacity.cpus,
        "memory_mb": capacity.memory_mb,
        "docker_version": capacity.docker_version,
        "kernel_version": capacity.kernel_version,
        "operating_system": capacity.operating_system,
    }


class SingleHostDatabase(ValueError):
    """The control plane runs on SQLite and another host is registered; the message says what to do."""


def database_vendor() -> str:
    return connection.vendor


def refuse_sqlite_fleet(name: str) -> None:
    """SQLite lives on the control plane's disk: only one host's agent can use it (add_host and an
    agent's start both ask). The one host may re-register and rotate its token."""
    if database_vendor() != "sqlite":
        return
    others = list(Host.objects.exclude(name=name).order_by("name").values_list("name", flat=True)[:3])
    if others:
        raise SingleHostDatabase(
            f"The control plane runs on SQLite, which only a single host can use, and host {', '.join(others)} "
            f"is registered already. Move it to PostgreSQL (DATABASE_URL=postgres://...) before adding host "
            f"{name}; if this machine was only renamed, delete its old host in the staff site first."
        )


def register_host(name: str, capacity: DaemonCapacity, service_address: str) -> Host:
    """Create or update the Host row `name` with what its daemon reports; counts as a heartbeat."""
    try:
        validate_host_name(name)
    except ValidationError as exc:
        raise ValueError(f"{name!r} is not a valid host name. {' '.join(exc.messages)}") from None
    refuse_sqlite_fleet(name)
    now = timezone.now()
    host, created = Host.objects.update_or_create(
        name=name,
        defaults={**_capacity_fields(capacity), "service_address": service_address},
        create_defaults={
            **_capacity_fields(capacity),
            "service_address": service_address,
            "last_heartbeat": now,
            "registered_at": now,
        },
    )
    # A host found down is not alive again until its agent has fenced it (host_fenced).
    Host.objects.filter(pk=host.pk, down_since__isnull=True).update(last_heartbeat=now)
    log.info("host %s", "registered" if created else "re-registered", extra={"host": name})
    return host


def record_heartbeat(name: str, capacity: DaemonCapacity) -> bool:
    """Mark the host alive now and refresh its capacity (memory can change under a VM). False when
    the host was found down: its agent must fence it first (then `host_fenced`)."""
    updated = Host.objects.filter(name=name, down_since__isnull=True).update(
        last_heartbeat=timezone.now(), **_capacity_fields(capacity)
    )
    if updated:
        return True
    if Host.objects.filter(name=name).exists():
        return False  # down: not alive again before its stale containers are gone
    # The row was deleted by staff while the agent ran: register it again.
    register_host(name, capacity, settings.HOST_SERVICE_ADDRESS)
    return True


def is_down(name: str) -> bool:
    return Host.objects.filter(name=name, down_since__isnull=False).exists()


def host_fenced(name: str) -> None:
    """The host's agent removed what it must no longer run: it is alive and placeable again."""
    if Host.objects.filter(name=name, down_since__isnull=False).update(down_since=None, last_heartbeat=timezone.now()):
        log.warning("host is back: fenced, taking work again", extra={"host": name})


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
    down = list(Host.objects.filter(down_since__isnull=False))
    if down:
        for receiver, error in hosts_down.send_robust(sender=Host, hosts=down):
            if isinstance(error, Exception):  # the next check tries again
                log.error("%s failed on down hosts: %s", receiver.__qualname__, error, exc_info=error)
    return count

