"""Celery tasks of managed databases: thin wrappers over sites/databases.py and hosting/dbadmin.py.

`sites.agent.*` run on the agent of the database's host (queue `host.<name>`); the size check's
fan-out runs on the control worker. Transient errors (the server still starting) retry.
"""
from __future__ import annotations

import logging

from celery import shared_task

from core.errors import PlatformError, TransientError
from core.tasks import PlatformTask
from hosting.engine import ContainerEngine
from hosting.models import Host
from sites import databases
from sites.config_crypto import decrypt, encrypt
from sites.database_models import Database

log = logging.getLogger(__name__)


@shared_task(base=PlatformTask, name="sites.agent.provision_database")
def provision_database(database_id: int) -> None:
    database = Database.objects.select_related("site__plan").filter(pk=database_id).first()
    if database is None or database.state != Database.State.CREATING:
        return
    try:
        with ContainerEngine() as engine:
            network = databases.ADMIN[database.engine].provision(engine, database.host_name, database.name,
                                        decrypt(database.encrypted_password), database.site.plan.database_connections,
                                        database.site.plan.database_mb)
    except TransientError:
        raise  # the server still starting, Docker restarting: PlatformTask retries with backoff
    except PlatformError as exc:
        log.error("database %s could not be made: %s", database.name, exc, extra={"host": database.host_name})
        databases.database_failed(database_id, f"The database could not be made: {exc}")
        return
    databases.database_ready(database_id, network.network, network.server_address)


@shared_task(base=PlatformTask, name="sites.agent.rotate_database")
def rotate_database(database_id: int) -> None:
    database = Database.objects.filter(pk=database_id, state=Database.State.READY).first()
    if database is None:
        return
    password = databases.new_password()
    databases.ADMIN[database.engine].set_password(database.host_name, database.name, password)
    databases.password_set(database_id, encrypt(password))


@shared_task(base=PlatformTask, name="sites.agent.detach_database")
def detach_database(database_id: int) -> None:
    database = Database.objects.filter(pk=database_id, state=Database.State.DELETING).first()
    if database is None:
        return
    with ContainerEngine() as engine:
        databases.ADMIN[database.engine].deprovision(engine, database.host_name, database.name)
    database.delete()


@shared_task(base=PlatformTask, name="sites.agent.check_database_sizes")
def check_database_sizes_on_host(host_name: str) -> int:
    """Measure every database of this host's server; apply the write state of those that changed."""
    return databases.check_sizes(host_name)


@shared_task(base=PlatformTask, name="sites.check_database_sizes")
def check_database_sizes() -> int:
    """Beat: ask each live host that holds databases to measure them."""
    names = set(Database.objects.filter(state=Database.State.READY).values_list("host_name", flat=True))
    hosts = [host for host in Host.objects.filter(name__in=names) if host.is_up()]
    for host in hosts:
        check_database_sizes_on_host.apply_async(args=[host.name], queue=host.queue)
    return len(hosts)
