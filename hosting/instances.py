"""The fleet's entry point for site containers: the only code that writes Instance and HostPort rows.

The sites layer builds a ContainerSpec (what to run) and asks for it to be started on a host;
the fleet allocates the published port, starts the container under the contract, waits until it
is healthy and hands back its Instance. Stopping, discarding (a start that failed) and purging (a
deleted site's leftovers) go through here too, as does reconcile, so a row and its container and
port never disagree for long.
"""
from __future__ import annotations

import hashlib
import hmac
import logging
from dataclasses import replace
from typing import Callable

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from hosting.engine import ContainerEngine
from hosting.engine_errors import PortInUse
from hosting.models import Host, Instance
from hosting.ports import allocate_port, release_port
from hosting.readiness import HealthCheck, wait_until_healthy
from hosting.usage import forget_volume
from hosting.spec import LABEL_FLEET, LABEL_HOST, ContainerSpec
from hosting.volumes import QuotaVolumes

log = logging.getLogger(__name__)

PORT_ATTEMPTS = 5


def fleet_id() -> str:
    """This installation's mark on the containers it records (derived from its secret key, never
    the key): reconcile removes only its own orphans, never another platform's sharing the daemon."""
    return hmac.new(settings.SECRET_KEY.encode(), b"hosting fleet", hashlib.sha256).hexdigest()[:16]


def start_instance(engine: ContainerEngine, host: Host, spec: ContainerSpec, check: HealthCheck, timeout: float,
                   on_started: Callable[[Instance], None] | None = None) -> Instance:
    """Start `spec` on `host`, published on a free port of the host, and return its Instance once
    it is healthy (state running). `on_started` hears of the instance as soon as its container
    has an address, before the wait. A start that fails, for whatever reason, leaves nothing
    behind: the container is removed, the port released, the row marked failed."""
    spec = replace(spec, labels={**spec.labels, LABEL_FLEET: fleet_id(), LABEL_HOST: host.name})
    try:
        instance = _start_on_a_free_port(engine, host, spec)
        if on_started is not None:
            on_started(instance)
        wait_until_healthy(engine, spec.name, host.service_address, instance.port, spec.container_port, check, timeout)
    except BaseException:  # a failed wait, a lost database, a worker shutting down: none may leave it running
        _discard_quietly(engine, host, spec.name)
        raise
    Instance.objects.filter(pk=instance.pk).update(state=Instance.State.RUNNING)
    instance.state = Instance.State.RUNNING
    return instance


def start_process(engine: ContainerEngine, host: Host, spec: ContainerSpec, process: str) -> Instance | None:
    """Start `spec` on `host` as a process beside the web one (a worker): no published port, no
    health check; the row is running once Docker started the container (its owner watches whether
    it stays up). None: a row of that name already holds room (another start took it). A start
    Docker refuses leaves nothing behind."""
    spec = replace(spec, host_port=None, listens=False,
                   labels={**spec.labels, LABEL_FLEET: fleet_id(), LABEL_HOST: host.name})
    fields = dict(host=host, site_label=spec.site, release_label=spec.release, port=None, process=process,
                  memory_mb=spec.limits.memory_mb, cpu_millicores=spec.limits.cpu_millicores,
                  state=Instance.State.STARTING, container_address=None, created_at=timezone.now())
    # The claim: a conditional update of an ended row, or the unique name of a new one. Two starts
    # at once (a scale and a reconcile) never both start the container.
    if not Instance.objects.filter(name=spec.name).exclude(state__in=Instance.RESERVING).update(**fields):
        try:
            with transaction.atomic():
                Instance.objects.create(name=spec.name, **fields)
        except IntegrityError:
            return None
    instance = Instance.objects.get(name=spec.name)
    try:
        state = engine.start(spec)
    except BaseException:
        _discard_quietly(engine, host, spec.name)
        raise
    record_address(instance, state.address)
    Instance.objects.filter(pk=instance.pk).update(state=Instance.State.RUNNING)
    instance.state = Instance.State.RUNNING
    return instance


def _start_on_a_free_port(engine: ContainerEngine, host: Host, spec: ContainerSpec) -> Instance:
    """Allocate a port and start; a port Docker finds taken (by something the table does not
    know of) is avoided and the next one tried."""
    avoid: set[int] = set()
    for attempt in range(PORT_ATTEMPTS):
        port = allocate_port(host, spec.name, avoid=frozenset(avoid), check_local=True)
        instance, _ = Instance.objects.update_or_create(
            name=spec.name,
            defaults=dict(host=host, site_label=spec.site, release_label=spec.release, port=port,
                          memory_mb=spec.limits.memory_mb, cpu_millicores=spec.limits.cpu_millicores,
                          state=Instance.State.STARTING, container_address=None, created_at=timezone.now()),
        )
        try:
            state = engine.start(replace(spec, host_port=port))
        except PortInUse:
            if attempt == PORT_ATTEMPTS - 1:
                raise
            avoid.add(port)
            continue
        record_address(instance, state.address)
        return instance
    raise AssertionError("unreachable")


def _discard_quietly(engine: ContainerEngine, host: Host, name: str) -> None:
    try:
        discard_container(engine, host, name)
    except Exception:  # the daemon is away: reconcile removes the container of the failed row later
        log.exception("could not discard %s", name, extra={"host": host.name})


def discard_container(engine: ContainerEngine, host: Host, name: str) -> None:
    """The container `name` never went live (or is no longer wanted): removed, its port released,
    its row (if any) marked failed."""
    engine.remove(name)
    release_port(host, name)
    # A stopped row stays stopped: only its container was left over.
    Instance.objects.filter(host=host, name=name).exclude(state=Instance.State.STOPPED).update(
        state=Instance.State.FAILED, port=None)


def discard_instance(engine: ContainerEngine, instance: Instance) -> None:
    discard_container(engine, instance.host, instance.name)


def stop_instance(engine: ContainerEngine, instance: Instance, timeout: int = 10) -> None:
    """Stop (SIGTERM, then SIGKILL after `timeout` seconds) and remove the container; release its port."""
    engine.stop(instance.name, timeout=timeout)
    engine.remove(instance.name)
    release_port(instance.host, instance.name)
    Instance.objects.filter(pk=instance.pk).update(state=Instance.State.STOPPED, port=None)


def purge(engine: ContainerEngine, host: Host, names: list[str], volume: str) -> None:
    """What a deleted owner left on `host`: the containers `names`, their ports and rows, and the volume."""
    for name in names:
        engine.remove(name)
        release_port(host, name)
    Instance.objects.filter(host=host, name__in=names).delete()
    QuotaVolumes(settings.VOLUMES_DIR).remove(volume)
    forget_volume(volume)


def mark_lost(instance: Instance) -> bool:
    """Its container is gone or cannot run again; False when another reconcile claimed it first."""
    # Conditional: two reconciles (beat's and an agent's start) must not both have it replaced.
    claimed = Instance.objects.filter(pk=instance.pk, state=Instance.State.RUNNING).update(state=Instance.State.FAILED)
    instance.state = Instance.State.FAILED
    return bool(claimed)


def record_address(instance: Instance, address: str | None) -> None:
    """The container's address as Docker reported it just now."""
    if address and address != instance.container_address:
        Instance.objects.filter(pk=instance.pk).update(container_address=address)
        instance.container_address = address
