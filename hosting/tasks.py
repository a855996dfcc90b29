"""Base task class and the fleet's own tasks (agent tasks live in hosting.agent.tasks)."""
from __future__ import annotations

from celery import Task, shared_task

from hosting import fleet
from hosting.errors import TransientError

try:  # Celery >= 5.4: delay_on_commit / apply_async_on_commit
    from celery.contrib.django.task import DjangoTask as _Base
except ImportError:  # pragma: no cover
    _Base = Task


class PlatformTask(_Base):
    """Retries transient platform errors only; customers' errors are outcomes, not crashes.

    Send with `delay_on_commit` from inside a transaction, so a worker never looks for a row
    that is not committed yet.
    """

    autoretry_for = (TransientError, ConnectionError)
    retry_backoff = 2
    retry_backoff_max = 60
    retry_jitter = True
    max_retries = 5


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
