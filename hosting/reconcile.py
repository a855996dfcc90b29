"""Reconcile: make a host's containers match its Instance rows again.

After a daemon or machine restart, containers of running instances are stopped (Docker's
on-failure policy does not bring back containers the daemon stopped itself) and may come back
with a new address; a container can also vanish. Reconcile restarts what should run, tells the
sites layer through signals what changed, and removes what must not run: containers of instances
that ended or failed, of instances their owner no longer wants (a failed deployment's), of starts
abandoned half way, and the fleet's own containers that no row knows of (a deleted site's).
Every row it changes, it changes through hosting/instances.py.
"""
from __future__ import annotations

import logging
from datetime import timedelta

from django.conf import settings
from django.dispatch import Signal
from django.utils import timezone

from core.errors import HostingError
from hosting import dbserver, instances, log_pipes
from hosting.engine import ContainerEngine
from hosting.engine_errors import ContainerNotFound, PortInUse
from hosting.models import Host, Instance
from hosting.spec import LABEL_FLEET, LABEL_HOST

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
# sender=Instance, instances=[<Instance>, ...] (running ones of a host): each receiver returns those
# of them its owner no longer wants (a failed deployment's, a deleted site's); reconcile discards them.
instances_unwanted = Signal()

# sender=Host, host=<Host>, engine=<ContainerEngine>: reconcile of the host is done; owners of
# containers reconcile does not start itself (processes beside a web instance, whose number their
# owner decides) start what is missing now. Each pass is the next try of a crash loop's backoff.
host_reconciled = Signal()
# A start waits START_TIMEOUT for health once its container runs; a row still starting long after
# that belongs to a start that was abandoned (its worker killed), whose container must go.
ABANDONED_START_GRACE = timedelta(minutes=5)


def _lost(instance: Instance, host: Host, counts: dict[str, int]) -> bool:
    if not instances.mark_lost(instance):
        return False
    counts["lost"] += 1
    log.warning("container of %s is gone", instance.name, extra={"host": host.name})
    instance_stopped.send(sender=Instance, instance=instance)  # its address is free for any container now
    for receiver, error in instance_lost.send_robust(sender=Instance, instance=instance):
        if isinstance(error, Exception):  # the owner could not replace it now; reconcile goes on with the rest
            log.error("%s could not replace %s: %s", receiver.__qualname__, instance.name, error, extra={"host": host.name})
    return True


def _learned(instance: Instance, address: str | None) -> None:
    instances.record_address(instance, address)
    instance_address_changed.send(sender=Instance, instance=instance)


def reconcile_host(host: Host, engine: ContainerEngine) -> dict[str, int]:
    """Restart and re-route what should run, then remove what must not."""
    counts = {"restarted": 0, "moved": 0, "lost": 0, "removed": 0}
    _keep_database_server(host, engine)  # first: the sites that restart below may connect at once
    _discard_unwanted(host, engine, counts)  # first: a failed deployment's container is not restarted
    _restart_running(host, engine, counts)
    _discard_abandoned_starts(host, engine, counts)
    _remove_leftover_containers(host, engine, counts)
    for receiver, error in host_reconciled.send_robust(sender=Host, host=host, engine=engine):
        if isinstance(error, Exception):
            log.error("%s failed after reconcile: %s", receiver.__qualname__, error, extra={"host": host.name})
    return counts


def _keep_database_server(host: Host, engine: ContainerEngine) -> None:
    try:
        if dbserver.keep_running(engine, host.name):
            log.warning("database server started again", extra={"host": host.name})
    except HostingError as exc:
        log.error("database server could not be started: %s", exc, extra={"host": host.name})


def _restart_running(host: Host, engine: ContainerEngine, counts: dict[str, int]) -> None:
    """Two passes: first every instance whose container stopped is withdrawn from its routes, then
    the stopped containers start again and are routed to the address Docker gives them. Starting
    one before withdrawing all would let it take another stopped container's address while that
    one's route still named it (a daemon restart frees every address at once)."""
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
        except PortInUse:  # something took its published port while it was stopped: its owner starts another
            if _lost(instance, host, counts):
                instances.discard_instance(engine, instance)
            continue
        except HostingError as exc:
            log.error("could not restart %s: %s", instance.name, exc, extra={"host": host.name})
            continue
        counts["restarted"] += 1
        log.info("restarted %s", instance.name, extra={"host": host.name})
        if state.address != instance.container_address:
            counts["moved"] += 1
        _learned(instance, state.address)


def _discard_unwanted(host: Host, engine: ContainerEngine, counts: dict[str, int]) -> None:
    running = list(Instance.objects.filter(host=host, state=Instance.State.RUNNING).select_related("host"))
    unwanted: dict[int, Instance] = {}
    for receiver, answer in instances_unwanted.send_robust(sender=Instance, instances=running):
        if isinstance(answer, Exception):
            log.error("%s could not tell unwanted instances: %s", receiver.__qualname__, answer, extra={"host": host.name})
            continue
        unwanted.update({instance.pk: instance for instance in answer or []})
    for instance in unwanted.values():
        log.warning("removing %s: its owner no longer wants it", instance.name, extra={"host": host.name})
        instances.discard_instance(engine, instance)
        counts["removed"] += 1


def _discard_abandoned_starts(host: Host, engine: ContainerEngine, counts: dict[str, int]) -> None:
    cutoff = timezone.now() - timedelta(seconds=settings.START_TIMEOUT) - ABANDONED_START_GRACE
    for instance in Instance.objects.filter(host=host, state=Instance.State.STARTING, created_at__lt=cutoff):
        log.warning("removing %s: its start was abandoned", instance.name, extra={"host": host.name})
        instances.discard_instance(engine, instance)
        counts["removed"] += 1


def _remove_leftover_containers(host: Host, engine: ContainerEngine, counts: dict[str, int]) -> None:
    """Containers of instances that ended, and this fleet's containers on this host that no row knows."""
    rows = dict(Instance.objects.filter(host=host).values_list("name", "state"))
    ended = {Instance.State.STOPPED, Instance.State.FAILED}
    ours = instances.fleet_id()
    for container in engine.list_site_containers():
        orphan = (container.name not in rows and container.labels.get(LABEL_FLEET) == ours
                  and container.labels.get(LABEL_HOST) == host.name)
        if rows.get(container.name) in ended or orphan:
            log.info("removing %s (%s)", container.name, "no row" if orphan else rows[container.name],
                     extra={"host": host.name})
            instances.discard_container(engine, host, container.name)
            counts["removed"] += 1
