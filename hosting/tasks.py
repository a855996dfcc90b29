"""The fleet's own tasks: heartbeats, capacity, reconcile (sent to each host's agent)."""
from __future__ import annotations

from celery import shared_task

from hosting import fleet
from core.tasks import PlatformTask

@shared_task(base=PlatformTask, name="hosting.check_host_heartbeats")
def check_host_heartbeats() -> int:
    return fleet.mark_silent_hosts_down()


@shared_task(base=PlatformTask, name="hosting.agent.refresh_capacity")
def refresh_capacity(host_name: str) -> None:
    """Runs on the host's own agent: re-read what its Docker daemon reports."""
    from hosting.engine import ContainerEngine

    engine = ContainerEngine()
    try:
        fleet.record_heartbeat(host_name, engine.capacity())
    finally:
        engine.close()


@shared_task(base=PlatformTask, name="hosting.reconcile_hosts")
def reconcile_hosts() -> int:
    """Beat: ask every live host's agent to reconcile its containers."""
    from hosting.models import Host

    hosts = [host for host in Host.objects.all() if host.is_up()]
    for host in hosts:
        reconcile.apply_async(args=[host.name], queue=host.queue)
    return len(hosts)


@shared_task(base=PlatformTask, name="hosting.agent.reconcile")
def reconcile(host_name: str) -> dict:
    from hosting.engine import ContainerEngine
    from hosting.models import Host
    from hosting.reconcile import reconcile_host

    with ContainerEngine() as engine:
        return reconcile_host(Host.objects.get(name=host_name), engine)
