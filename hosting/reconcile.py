"""Reconcile: make a host's containers match its Instance rows again.

After a daemon or machine restart, containers of running instances are stopped (Docker's
on-failure policy does not bring back containers the daemon stopped itself) and may come back
with a new address; a container can also vanish. Reconcile restarts what should run, tells the
sites layer through signals what changed, and removes containers of instances that ended.
"""
from __future__ import annotations

import logging

from django.dispatch import Signal

from hosting.engine import ContainerEngine, ContainerNotFound
from hosting.errors import HostingError
from hosting.models import Host, Instance

log = logging.getLogger(__name__)

# sender=Instance, instance=<Instance>: its container answers on a new address now.
instance_address_changed = Signal()
# sender=Instance, instance=<Instance>: its container is gone; whoever owns it must replace it.
instance_lost = Signal()


def reconcile_host(host: Host, engine: ContainerEngine) -> dict[str, int]:
    counts = {"restarted": 0, "moved": 0, "lost": 0, "removed": 0}
    for instance in Instance.objects.filter(host=host, state=Instance.State.RUNNING).select_related("host"):
        try:
            state = engine.state(instance.name)
            if not state.running:
                state = engine.start_existing(instance.name)
                counts["restarted"] += 1
                log.info("restarted %s", instance.name, extra={"host": host.name})
        except ContainerNotFound:
            Instance.objects.filter(pk=instance.pk).update(state=Instance.State.FAILED)
            counts["lost"] += 1
            log.warning("container of %s is gone", instance.name, extra={"host": host.name})
            instance_lost.send(sender=Instance, instance=instance)
            continue
        except HostingError as exc:
            log.error("could not restart %s: %s", instance.name, exc, extra={"host": host.name})
            continue
        if state.address and state.address != instance.container_address:
            Instance.objects.filter(pk=instance.pk).update(container_address=state.address)
            instance.container_address = state.address
            counts["moved"] += 1
            instance_address_changed.send(sender=Instance, instance=instance)
    ended = Instance.objects.filter(host=host, state__in=[Instance.State.STOPPED, Instance.State.FAILED])
    ended_names = set(ended.values_list("name", flat=True))
    for container in engine.list_site_containers():
        if container.name in ended_names:
            engine.remove(container.name)
            counts["removed"] += 1
    return counts
