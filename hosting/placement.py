"""Placement: which host runs a new instance or build.

A host is placeable when its heartbeat is recent (not down, hosting/fleet.py), it is not cordoned
(hosting/cordon.py) and it holds the runtime images the recipes give now (hosting/image_catalog.py).
Room is the host's memory times MEMORY_OVERCOMMIT and its CPUs times CPU_OVERCOMMIT, less what
its starting and running instances reserve (their plans' limits).

The choice is made under a row lock on the chosen host, re-checked after taking it, so two
placements at once see each other's committed reservations in order.
"""
from __future__ import annotations

import logging
from datetime import timedelta
from typing import Callable

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from core.errors import TransientError
from hosting import image_catalog
from hosting.models import Host, RuntimeImage

log = logging.getLogger(__name__)


class NoHostAvailable(TransientError):
    """No live host has room; it may pass once a host comes back or capacity frees up."""


def placeable_hosts(runtime: str | None = None):
    """Hosts that may get new work: up, not cordoned, and (when any live host holds them) with the
    current images. While no live host has recorded the current images yet (a recipe just changed
    and no agent has rebuilt, or the only host that had them is down), refusing every host would
    stop all deployments and every failover, so none is excluded."""
    hosts = _live_uncordoned()
    tags = image_catalog.current_tags([runtime] if runtime else [])
    for tag in tags.values():
        holders = RuntimeImage.objects.filter(tag=tag, host__in=_live()).values("host_id")
        if holders.exists():
            hosts = hosts.filter(pk__in=holders)
    return hosts


def _live():
    cutoff = timezone.now() - timedelta(seconds=settings.HOST_DOWN_AFTER)
    return Host.objects.filter(last_heartbeat__gte=cutoff, down_since__isnull=True)


def _live_uncordoned():
    return _live().filter(cordoned_at__isnull=True)


# {host name: (memory MB, millicores)} placed there but not started yet (no Instance row reserves
# it): the caller knows what it promised (sites: deployments under way), hosting does not.
Promised = Callable[[], dict[str, tuple[int, int]]]


def _fits(host: Host, memory_mb: int, cpu_millicores: int, promised: dict[str, tuple[int, int]]) -> int | None:
    """The memory left on `host` after the request, or None when it does not fit."""
    memory, millicores = promised.get(host.name, (0, 0))
    left = host.free_memory_mb - memory - memory_mb
    return left if left >= 0 and host.free_millicores - millicores >= cpu_millicores else None


def _best(memory_mb: int, cpu_millicores: int, runtime: str | None, promised: Promised,
          only_on: str | None) -> Host | None:
    best, most = None, -1
    held = promised()
    candidates = placeable_hosts(runtime)
    if only_on is not None:
        candidates = candidates.filter(name=only_on)
    for host in candidates.with_reservations():
        left = _fits(host, memory_mb, cpu_millicores, held)
        if left is not None and left > most:
            best, most = host, left
    return best


def place_instance(memory_mb: int, cpu_millicores: int, runtime: str | None = None,
                   promised: Promised = dict, only_on: str | None = None) -> Host:
    """The placeable host with the most unreserved memory that still fits the request, counting
    what `promised()` says was placed on each host and has not started yet; with `only_on`, that
    host or none (a site whose database lives on its host's server)."""
    with transaction.atomic():
        for _ in range(3):
            best = _best(memory_mb, cpu_millicores, runtime, promised, only_on)
            if best is None:
                break
            # Lock, then re-check: another placement may have reserved on it meanwhile. A caller
            # that records its promise in the same transaction holds the lock until it commits.
            Host.objects.select_for_update().filter(pk=best.pk).first()
            again = placeable_hosts(runtime).with_reservations().filter(pk=best.pk).first()
            if again is not None and _fits(again, memory_mb, cpu_millicores, promised()) is not None:
                return again
    # An error log reaches staff (their log alerts); the customer sees the exception's message.
    log.error("placement: no host has room for %s MB and %s millicores", memory_mb, cpu_millicores,
              extra={"memory_mb": memory_mb, "cpu_millicores": cpu_millicores, "runtime": runtime})
    if only_on is not None and not placeable_hosts(runtime).filter(name=only_on).exists():
        missing = f"The site's database lives on host {only_on}, which takes no work now"
    elif _live_uncordoned().exists() and not placeable_hosts(runtime).exists():
        # A recipe changed and no live host has rebuilt, or the live hosts lack it.
        missing = f"No host has the current {runtime or 'runtime'} images yet"
    else:
        missing = f"No host has room for {memory_mb} MB and {cpu_millicores} millicores"
    raise NoHostAvailable(f"{missing} right now; staff have been told. The site keeps serving its current release.")


class NoRoomOnHost(NoHostAvailable):
    """The host a request must run on (beside its owner's other containers) has no room for it."""


def ensure_room_on(host: Host, memory_mb: int, cpu_millicores: int, promised: Promised = dict) -> None:
    """Raise NoRoomOnHost unless `host` has room for the request now, counting what `promised()`
    holds there. The host's row lock is taken, as place_instance takes it: a caller that records
    its reservation in the same transaction holds it until that commits."""
    if memory_mb <= 0 and cpu_millicores <= 0:
        return
    with transaction.atomic():
        Host.objects.select_for_update().filter(pk=host.pk).first()
        fresh = Host.objects.with_reservations().get(pk=host.pk)
        if _fits(fresh, memory_mb, cpu_millicores, promised()) is None:
            raise NoRoomOnHost(f"Host {host.name} has no room for {memory_mb} MB and {cpu_millicores} millicores "
                               "more right now; staff have been told.")
