"""Reconcile: make a host's containers match its Instance rows again.

After a daemon or machine restart, containers of running instances are stopped (Docker's
on-failure policy does not bring back containers the daemon stopped itself) and may come back
with a new address; a container can also vanish. Reconcile restarts what should run, tells the
sites layer through signals what changed, and removes containers of instances that ended.
"""
from __future__ import annotations

import logging

from django.dispatch import Signal

from hosting import log_pipes
from hosting.engine import ContainerEngine, ContainerNotFound
from core.errors import HostingError
from hosting.models import Host, Instance

log = logging.getLogger(__name__)

# sender=Instance, instance=<Instance>: its container is not running; whatever routes to its
# address must stop now, because Docker may give that address to the next container it starts.
instance_stopped = Signal()
# sender=Instance, instance=<Instance>: its container runs (again) at instance.container_address,
# as Docker reported it just now: a new address, or the old one after a restart.
instance_address_changed = Signal()
# sender=Instance, instance=<Instance>: its container is gone; whoever owns it must replace it.
instance_lost = Signal()
# sender=Host, host=<Host>, engine=<ContainerEngine>: the host's agent starts and takes no work yet;
# whoever left work half done on the host (an agent killed mid-deployment) cleans it up now.
agent_starting = Signal()


def _lost(instance: Instance, host: Host, counts: dict[str, int]) -> None:
    Instance.objects.filter(pk=instance.pk).update(state=Instance.State.FAILED)
    counts["lost"] += 1
    log.warning("container of %s is gone", instance.name, extra={"host": host.name})
    instance_stopped.send(sender=Instance, instance=instance)  # its address is free for any container now
    instance_lost.send(sender=Instance, instance=instance)


def _learned(instance: Instance, address: str | None) -> None:
    if address and address != instance.container_address:
        Instance.objects.filter(pk=instance.pk).update(container_address=address)
        instance.container_address = address
    instance_address_changed.send(sender=Instance, instance=instance)


def reconcile_host(host: Host, engine: ContainerEngine) -> dict[str, int]:
    """Two passes: first every instance whose container stopped is withdrawn from its routes, then
    the stopped containers start again and are routed to the address Docker gives them. Starting
    one before withdrawing all would let it take another stopped container's address while that
    one's route still named it (a daemon restart frees every address at once)."""
    counts = {"restarted": 0, "moved": 0, "lost": 0, "removed": 0}
    stopped = []
    for instance in Instance.objects.filter(host=host, state=Instance.State.RUNNING).select_related("host"):
        try:
            state = engine.state(instance.name)
        except ContainerNotFound:
            _lost(instance, host, counts)
            continue
        except HostingError as exc:
            log.error("could not inspect %s: %s", instance.name, exc, extra={"host": host.name})
            continue
        if not state.running:
            instance_stopped.send(sender=Instance, instance=instance)
            stopped.append(instance)
        else:
            # Containers from before this agent (an upgrade, a restart) get the same room to log.
            log_pipes.widen(state.id)
            if state.address and state.address != instance.container_address:
                counts["moved"] += 1
                _learned(instance, state.address)
    for instance in stopped:
        try:
            state = engine.start_existing(instance.name)
        except ContainerNotFound:
            _lost(instance, host, counts)
            continue
        except HostingError as exc:
            log.error("could not restart %s: %s", instance.name, exc, extra={"host": host.name})
            continue
        counts["restarted"] += 1
        log.info("restarted %s", instance.name, extra={"host": host.name})
        if state.address != instance.container_address:
            counts["moved"] += 1
        _learned(instance, state.address)
    ended = Instance.objects.filter(host=host, state__in=[Instance.State.STOPPED, Instance.State.FAILED])
    ended_names = set(ended.values_list("name", flat=True))
    for container in engine.list_site_containers():
        if container.name in ended_names:
            engine.remove(container.name)
            counts["removed"] += 1
    return counts
