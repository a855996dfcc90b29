"""The fleet's own tasks: heartbeats, capacity, images, reconcile (sent to each host's agent)."""
from __future__ import annotations

import logging

from celery import shared_task

from core.tasks import PlatformTask
from hosting import fleet, image_catalog
from hosting.engine import ContainerEngine
from hosting.models import Host
from hosting.reconcile import reconcile_host

log = logging.getLogger(__name__)


@shared_task(base=PlatformTask, name="hosting.check_host_heartbeats")
def check_host_heartbeats() -> int:
    return fleet.mark_silent_hosts_down()


@shared_task(base=PlatformTask, name="hosting.agent.refresh_capacity")
def refresh_capacity(host_name: str) -> None:
    """Runs on the host's own agent: re-read what its Docker daemon reports."""
    with ContainerEngine() as engine:
        fleet.record_heartbeat(host_name, engine.capacity())


def request_capacity_refresh(host: Host) -> None:
    """Ask the host's own agent to re-read its daemon's capacity (sent after the transaction commits)."""
    refresh_capacity.apply_async_on_commit(args=[host.name], queue=host.queue)


@shared_task(base=PlatformTask, name="hosting.agent.build_images")
def build_images(host_name: str) -> dict:
    """Runs on the host's own agent: build the catalog's images its daemon lacks, record them all."""
    with ContainerEngine() as engine:
        report = image_catalog.build_and_record(
            host_name, engine, progress=lambda line: log.info("%s", line, extra={"host": host_name}))
    return {"built": report.built, "up_to_date": report.up_to_date}


def request_image_builds(host: Host) -> None:
    """Ask the host's own agent to build its missing images (sent after the transaction commits)."""
    build_images.apply_async_on_commit(args=[host.name], queue=host.queue)


@shared_task(base=PlatformTask, name="hosting.reconcile_hosts")
def reconcile_hosts() -> int:
    """Beat: ask every live host's agent to reconcile its containers."""
    hosts = [host for host in Host.objects.all() if host.is_up()]
    for host in hosts:
        reconcile.apply_async(args=[host.name], queue=host.queue)
    return len(hosts)


@shared_task(base=PlatformTask, name="hosting.agent.reconcile")
def reconcile(host_name: str) -> dict:
    with ContainerEngine() as engine:
        return reconcile_host(Host.objects.get(name=host_name), engine)
