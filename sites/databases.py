"""Managed databases: attach one to a site, rotate its password, detach it, keep it in its size.

The database lives on the host's PostgreSQL server (hosting/dbserver.py, hosting/dbadmin.py) of
the host the site runs on, and the site is placed on that host from then on (sites/database_env.py,
`database_host`). The agent does the server's side (sites/database_tasks.py); the site gets
DATABASE_URL and PG* in a config release once the database is ready, like an env change. The
password is generated here, stored encrypted, and never typed by anyone.
"""
from __future__ import annotations

import logging
import secrets

from celery import current_app
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from accounts import audit
from core.queue import ensure_queue_reachable
from hosting import dbadmin, dbadmin_mariadb
from hosting.models import Host
from hosting.placement import place_instance
from sites.config_crypto import encrypt
from sites.database_env import database_host, database_name, env_of
from sites.database_models import Database
from sites.models import Deployment, Site
from sites.pipeline import machine
from sites.pipeline.tasks import SENDER

log = logging.getLogger(__name__)
MB = 1024 * 1024
# The agent's SQL side of each engine's server (hosting/dbadmin*.py): the same functions.
ADMIN = {Database.Engine.POSTGRESQL: dbadmin, Database.Engine.MARIADB: dbadmin_mariadb}
AGENT_TASKS = {"provision": "sites.agent.provision_database", "rotate": "sites.agent.rotate_database",
               "detach": "sites.agent.detach_database"}


def new_password() -> str:
    return secrets.token_urlsafe(32)  # URL-safe: DATABASE_URL needs no quoting


def _audit(site: Site, action: str, database: Database, by=None, **detail) -> None:
    audit.record(site.organization, action, database.name, site=site.name, by=by, engine=database.engine, **detail)


def databases_used(site: Site) -> tuple[int, int]:
    """(databases the site's organization has, databases its plan allows)."""
    organization = site.organization
    return Database.objects.filter(site__organization=organization).count(), organization.plan.max_databases


def _home_host(site: Site) -> Host:
    """The host of the site's other database (a site runs on one host with all of its databases),
    else of its current container, else the host with the most room for the site: where its first
    deployment will then be placed."""
    pinned = database_host(site)
    if pinned is not None:
        return Host.objects.get(name=pinned)
    instance = site.current_instance
    if instance is not None and instance.host.is_up():
        return instance.host
    return place_instance(site.plan.memory_mb, site.plan.cpu_millicores)


def attach(site: Site, engine: str = Database.Engine.POSTGRESQL, by=None) -> Database:
    """A new database for `site`, made on its host by the agent; the site's next release gets it."""
    if engine not in Database.Engine.values:
        raise ValidationError(f"Unknown database engine {engine!r}; this platform offers: "
                              f"{', '.join(Database.Engine.values)}.")
    ensure_queue_reachable()
    with transaction.atomic():
        machine.lock_site(site)
        if Database.objects.filter(site=site, engine=engine).exists():
            raise ValidationError(f"{site.name} has a {Database.Engine(engine).label} database already.")
        used, allowed = databases_used(site)
        if used >= allowed:
            raise ValidationError(f"Your plan allows {allowed} database(s) and your organization has {used}; "
                                  "detach one or change plans.")
        host = _home_host(site)
        database = Database.objects.create(site=site, engine=engine, name=database_name(site), host_name=host.name,
                                           encrypted_password=encrypt(new_password()), created_by=by)
        _audit(site, "database.attach", database, by=by, host=host.name)
        send_to_agent("provision", database)
    return database


def send_to_agent(step: str, database: Database) -> None:
    """Send the agent of the database's host its task (by name: sites/database_tasks.py calls this
    module), once the transaction that recorded the change commits."""
    queue = Host.objects.get(name=database.host_name).queue
    name = AGENT_TASKS[step]
    transaction.on_commit(lambda: current_app.send_task(name, args=[database.pk], queue=queue))


def database_ready(database_id: int, network: str, server_address: str) -> Deployment | None:
    """The agent made it: record where it is and give the site a release with its variables."""
    with transaction.atomic():
        database = Database.objects.select_related("site").get(pk=database_id)
        machine.lock_site(database.site)
        updated = Database.objects.filter(pk=database_id, state=Database.State.CREATING).update(
            state=Database.State.READY, network=network, server_address=server_address, error="")
        if not updated:
            return None  # detached meanwhile
        return _release(database.site, f"Attach {database.get_engine_display()} database", database.created_by)


def database_failed(database_id: int, reason: str) -> None:
    Database.objects.filter(pk=database_id, state=Database.State.CREATING).update(
        state=Database.State.FAILED, error=reason[:500])


def _release(site: Site, description: str, by) -> Deployment | None:
    if site.current_release_id is None:
        return None  # nothing deployed yet: the first deploy picks the variables up
    return machine.roll_out(site, Deployment.Trigger.CONFIG, description, SENDER, by=by)


def rotate(database: Database, by=None) -> Database:
    """A new password: the agent sets it on the server, then the site gets a release with it."""
    if database.state != Database.State.READY:
        raise ValidationError("Only a ready database can get a new password.")
    _audit(database.site, "database.rotate", database, by=by)
    with transaction.atomic():
        send_to_agent("rotate", database)
    return database


def password_set(database_id: int, encrypted_password: str, by=None) -> Deployment | None:
    with transaction.atomic():
        database = Database.objects.select_related("site").get(pk=database_id)
        machine.lock_site(database.site)
        Database.objects.filter(pk=database_id).update(encrypted_password=encrypted_password)
        return _release(database.site, f"New {database.get_engine_display()} password", by)


def detach(database: Database, by=None) -> Deployment | None:
    """The database and its data go (the agent drops them); the site's next release lacks its variables."""
    site = database.site
    with transaction.atomic():
        machine.lock_site(site)
        Database.objects.filter(pk=database.pk).update(state=Database.State.DELETING)
        _audit(site, "database.detach", database, by=by)
        send_to_agent("detach", database)
        return _release(site, f"Detach {database.get_engine_display()} database", by)


def write_state_for(size_bytes: int, plan) -> str:
    """Writable up to the plan's size, read-only over it, locked (no connections) past twice it: a
    session may switch read-only off for itself (to delete rows), so the lock is the hard stop."""
    limit = plan.database_mb * MB
    if size_bytes > 2 * limit:
        return Database.Writes.LOCKED
    if size_bytes > limit:
        return Database.Writes.READ_ONLY
    return Database.Writes.WRITABLE


def record_size(database: Database, size_bytes: int, state: str) -> bool:
    """Store the measured size and the write state the server now has; audit a change."""
    Database.objects.filter(pk=database.pk).update(size_bytes=size_bytes, size_checked_at=timezone.now(), writes=state)
    if state == database.writes:
        return False
    _audit(database.site, f"database.{state}", database, by=None, size_mb=round(size_bytes / MB, 1),
           limit_mb=database.site.plan.database_mb)
    log.warning("database %s is now %s", database.name, state, extra={"site": database.site.name})
    return True


def check_sizes(host_name: str) -> int:
    """On the host's agent: measure its databases, record each size, and make those whose state
    changed read-only, locked or writable again. Returns how many changed."""
    ready = list(Database.objects.filter(host_name=host_name, state=Database.State.READY).select_related(
        "site__organization", "site__plan"))
    sizes = {engine: ADMIN[engine].sizes(host_name) for engine in {database.engine for database in ready}}
    changed = 0
    for database in ready:
        size = sizes[database.engine].get(database.name, 0)
        state = write_state_for(size, database.site.plan)
        if state != database.writes:  # applied first: a failure here is tried again next time
            ADMIN[database.engine].set_write_state(host_name, database.name, state,
                                                   database.site.plan.database_connections)
        changed += record_size(database, size, state)
    return changed


def reveal(database: Database, by=None) -> dict[str, str]:
    """The variables the site's containers get, for a member allowed to see secrets (audited)."""
    if database.state != Database.State.READY:
        raise ValidationError("The database is not ready yet.")
    _audit(database.site, "database.reveal", database, by=by)
    return env_of(database)
