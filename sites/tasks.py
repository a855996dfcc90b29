"""The sites app's Celery tasks, as Celery's autodiscovery finds them: the deploy pipeline's live in
sites/pipeline/tasks.py (imported here so that every worker registers them under their names)."""
from __future__ import annotations

from celery import shared_task

from core.tasks import PlatformTask
from hosting.engine import ContainerEngine
from sites import data_backups, domains
from sites.database_tasks import (  # noqa: F401 (registered with Celery by this import)
    check_database_sizes,
    check_database_sizes_on_host,
    detach_database,
    provision_database,
    rotate_database,
)
from sites.pipeline.archives import sweep_source_archives
from sites.run_tasks import run_command, tick_schedules  # noqa: F401 (registered with Celery by this import)
from sites.pipeline.tasks import (  # noqa: F401 (registered with Celery by this import)
    build,
    empty_trash,
    finish_deployment,
    forget_slugs,
    purge_site_on_host,
    purge_site_repository,
    purge_site_routes_and_repo,
    start_release,
    stop_instance,
    stop_site,
)


@shared_task(base=PlatformTask, name="sites.expire_pending_domains")
def expire_pending_domains() -> int:
    """Beat: custom domain claims not verified within 7 days go, with their tokens."""
    return domains.expire_pending_domains()


@shared_task(base=PlatformTask, name="sites.sweep_source_archives")
def sweep_archives() -> int:
    """Beat: source archives that hosts without the control plane's disk built from, once built."""
    return len(sweep_source_archives())


@shared_task(base=PlatformTask, name="sites.nightly_site_backups")
def nightly_site_backups() -> int:
    """Beat: a backup of every running site's /data and databases; the old ones go."""
    return data_backups.nightly()


@shared_task(base=PlatformTask, name="sites.agent.backup_data")
def backup_data(backup_id: int) -> None:
    with ContainerEngine() as engine:
        data_backups.run_backup(backup_id, engine)


@shared_task(base=PlatformTask, name="sites.agent.restore_data")
def restore_data(backup_id: int) -> None:
    with ContainerEngine() as engine:
        data_backups.run_restore(backup_id, engine)
