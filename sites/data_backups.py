"""Backups of a site's /data and of its databases: taken nightly and on request, kept
SITE_BACKUP_KEEP_DAYS and within the plan's backup_mb, listed and downloaded by the organization,
restored into the site.

A site's /data lives on the host that runs it, so that host's agent takes and restores its backups
(hosting/volume_backup.py: the Docker daemon packs /data, the site's own uid unpacks it). The
tarballs are kept in the control plane's store, DATA_DIR/site-backups/<site uuid>-<backup id>.tar.gz,
with their sha256; beside it, one gzipped logical dump per attached database,
<site uuid>-<backup id>.<engine>.sql.gz (sites/database_backups.py), each with its sha256 on the
backup. Separate files rather than one archive: each part is what its tool reads back (tar, psql,
mariadb) and a customer downloads the one they need. A restore checks every part before anything
is touched, replaces the databases and /data, and then restarts the site, so that its processes do
not keep files or connections that are gone. A host that does not share the control plane's disk
makes the parts in a folder of its own and sends them over the internal channel (sites/internal.py:
only the host taking a backup may send its parts, only the host running the site fetch them), and
fetches them, sha256 checked, before a restore.
"""
from __future__ import annotations

import logging
import os
import time
from datetime import timedelta
from functools import partial
from pathlib import Path

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from celery import current_app

from accounts import audit
from core.errors import PlatformError, QueueUnavailable
from core.queue import send_now
from core.routing import host_queue
from hosting import packing, slug_cache, volume_backup
from hosting.engine import ContainerEngine
from hosting.images import os_image
from hosting.limits import limits_for_plan
from hosting.spec import NO_NETWORK, ContainerSpec
from hosting.volumes import QuotaVolumes
from sites import database_backups, services
from sites.database_models import Database
from sites.models import Site, SiteBackup
from sites.workspace import workspace

log = logging.getLogger(__name__)

PACK_SECONDS = 3600
RESTORE_SECONDS = 3600


def store() -> Path:
    return Path(settings.DATA_DIR) / "site-backups"


PARTS = ("data", *Database.Engine.values)  # a backup's files: /data's tarball, a dump per engine


def part_path(backup: SiteBackup, part: str, folder: Path | None = None) -> Path:
    """Flat in the store (or `folder`: a host without the control plane's disk makes them there
    first), which the platform user owns: the web server reads them for downloads."""
    if part not in PARTS:
        raise ValueError(f"{part!r} is not a part of a backup")
    suffix = "tar.gz" if part == "data" else f"{part}.sql.gz"
    return (folder or store()) / f"{backup.site.uuid.hex}-{backup.pk}.{suffix}"


def tarball(backup: SiteBackup) -> Path:
    return part_path(backup, "data")


def dump_file(backup: SiteBackup, engine: str) -> Path:
    """The backup's dump of the site's database of `engine` (one of Database.Engine)."""
    return part_path(backup, engine)


def part(backup: SiteBackup, engine: str) -> dict | None:
    """The backup's record of its dump of the `engine` database, or None when it holds none."""
    return next((held for held in backup.databases if held["engine"] == engine), None)


# --- on the control plane -----------------------------------------------------------------------


def take(site: Site, kind: str = SiteBackup.Kind.MANUAL, by=None) -> SiteBackup:
    """Ask the agent of the site's host for a backup of its /data now."""
    host_name = _host_of(site)
    with transaction.atomic():
        Site.objects.select_for_update().filter(pk=site.pk).first()  # one backup at a time
        if site.backups.filter(state=SiteBackup.State.RUNNING).exists():
            raise ValidationError("A backup of this site is being taken; wait for it to finish.")
        backup = SiteBackup.objects.create(site=site, kind=kind, host_name=host_name, created_by=by)
    _send("sites.agent.backup_data", backup, host_name)
    audit.record(site.organization, "site.backup", site.name, site=site.name, by=by, backup=backup.pk, kind=kind)
    return backup


def restore(backup: SiteBackup, by=None) -> SiteBackup:
    """Ask the agent of the site's host to replace /data with the backup's content, then restart."""
    if backup.state != SiteBackup.State.SUCCEEDED:
        raise ValidationError("Only a backup that was taken completely can be restored.")
    host_name = _host_of(backup.site)
    _send("sites.agent.restore_data", backup, host_name)
    audit.record(backup.site.organization, "site.backup_restore", backup.site.name, site=backup.site.name, by=by,
                 backup=backup.pk, taken=backup.created_at.isoformat())
    return backup


def _host_of(site: Site) -> str:
    instance = site.current_instance
    if instance is None:
        raise ValidationError("The site is not running: its /data is on the host that runs it, so start it first.")
    return instance.host.name


def send_to_host(task_name: str, backup_id: int, host_name: str) -> None:
    """Our interface to Celery (unit tests record it): by name, as the tasks (sites/tasks.py) call this module."""
    send_now(current_app.signature(task_name), [backup_id], queue=host_queue(host_name))


def _send(task_name: str, backup: SiteBackup, host_name: str) -> None:
    try:
        send_to_host(task_name, backup.pk, host_name)
    except QueueUnavailable:
        SiteBackup.objects.filter(pk=backup.pk, state=SiteBackup.State.RUNNING).update(
            state=SiteBackup.State.FAILED, error=QueueUnavailable.MESSAGE, finished_at=timezone.now())
        raise


def nightly() -> int:
    """Beat: a backup of every running site, then the old ones go; returns how many were asked for."""
    asked = 0
    for site in Site.objects.filter(current_instance__isnull=False).select_related("organization",
                                                                                 "current_instance__host"):
        if site.organization.suspended:
            continue
        try:
            take(site, SiteBackup.Kind.NIGHTLY)
            asked += 1
        except (ValidationError, QueueUnavailable) as exc:
            log.warning("no nightly backup of %s: %s", site.name, exc, extra={"site": site.name})
    expire()
    return asked


def expire(now=None) -> int:
    """Backups older than SITE_BACKUP_KEEP_DAYS go, except each site's newest one that succeeded."""
    cutoff = (now or timezone.now()) - timedelta(days=settings.SITE_BACKUP_KEEP_DAYS)
    removed = 0
    for backup in SiteBackup.objects.filter(created_at__lt=cutoff).select_related("site"):
        newest = backup.site.backups.filter(state=SiteBackup.State.SUCCEEDED).first()
        if backup.state == SiteBackup.State.RUNNING or (newest is not None and newest.pk == backup.pk):
            continue
        _remove(backup)
        removed += 1
    for site in Site.objects.filter(backups__isnull=False).distinct():  # those taken on far hosts too
        removed += len(keep_within_plan(site))
    return removed


def keep_within_plan(site: Site) -> list[int]:
    """The oldest backups go while the site's backups hold more than its plan's backup_mb; the
    newest stays whatever its size (taking it checked it fits alone)."""
    limit = site.plan.backup_mb * 2**20
    done = list(site.backups.filter(state=SiteBackup.State.SUCCEEDED).order_by("-created_at", "-id"))
    total, removed = sum(backup.size_bytes or 0 for backup in done), []
    for backup in reversed(done[1:]):
        if total <= limit:
            break
        total -= backup.size_bytes or 0
        removed.append(backup.pk)
        _remove(backup)
    return removed


def _remove(backup: SiteBackup) -> None:
    tarball(backup).unlink(missing_ok=True)
    database_backups.remove_all(backup, partial(dump_file, backup))
    backup.delete()


# --- on the agent of the site's host ------------------------------------------------------------


def _spec(site: Site, backup: SiteBackup, empty_app: Path) -> ContainerSpec:
    volume = QuotaVolumes(settings.VOLUMES_DIR).ensure(site.uuid.hex, site.plan.disk_mb, site.uid)
    return ContainerSpec(site=site.name, release="backup", instance=f"b{backup.pk}", image=os_image(),
                         command=("true",), limits=limits_for_plan(site.plan), slug_dir=empty_app,
                         data_dir=volume, host_port=None, network=NO_NETWORK, uid=site.uid)


def run_backup(backup_id: int, engine: ContainerEngine) -> SiteBackup | None:
    backup = SiteBackup.objects.select_related("site__plan", "site__organization").filter(
        pk=backup_id, state=SiteBackup.State.RUNNING).first()
    if backup is None:
        return None  # a redelivery of one that ended
    space = workspace(backup.site)
    empty_app = space.new_folder(space.builds, f"backup-{backup.pk}-{time.monotonic_ns()}")
    # A host without the control plane's disk makes the parts in a folder of its own, then sends them.
    folder = space.new_folder(space.builds, f"backup-parts-{backup.pk}-{time.monotonic_ns()}") \
        if slug_cache.remote() else None
    try:
        return _take(engine, backup, empty_app, folder)
    finally:
        space.throw_away(empty_app)
        if folder is not None:
            space.throw_away(folder)


def _take(engine: ContainerEngine, backup: SiteBackup, empty_app: Path, folder: Path | None) -> SiteBackup:
    site = backup.site
    limit, deadline = site.plan.backup_mb * 2**20, time.monotonic() + PACK_SECONDS
    try:
        packed = volume_backup.pack_volume(engine, _spec(site, backup, empty_app),
                                           part_path(backup, "data", folder).parent, limit, deadline)
        os.replace(packed.temporary, part_path(backup, "data", folder))
        dumps = database_backups.dump_all(engine, site, backup.host_name,
                                          lambda part: part_path(backup, part, folder), limit, deadline)
    except packing.StreamTooLarge:
        return _fail(backup, f"/data or a database is larger than the plan's backup storage ({site.plan.backup_mb} MB)"
                             " as a tarball or dump (sparse files count at their full size).")
    except packing.StreamTooSlow:
        return _fail(backup, "Packing /data and dumping the databases took longer than an hour.")
    except PlatformError as exc:  # the dump tool failed, the database server does not answer
        return _fail(backup, f"A database could not be dumped: {exc}")
    total = packed.size + sum(held["size_bytes"] for held in dumps)
    if total > limit:  # each part fitted alone: together, as stored, they must too
        for held in dumps:
            part_path(backup, held["engine"], folder).unlink(missing_ok=True)
        return _fail(backup, f"/data and the databases together are larger than the plan's backup storage "
                             f"({site.plan.backup_mb} MB) once compressed.")
    if folder is not None:
        try:
            for part, sha256 in [("data", packed.sha256), *((held["engine"], held["sha256"]) for held in dumps)]:
                slug_cache.send_file(f"/internal/v1/backups/{backup.pk}/{part}", part_path(backup, part, folder),
                                     f"the backup's {part}", {"X-Content-Sha256": sha256})
        except PlatformError as exc:  # what arrived goes with the failed backup's expiry
            return _fail(backup, f"The backup could not be sent to the control plane: {exc}")
    SiteBackup.objects.filter(pk=backup.pk).update(state=SiteBackup.State.SUCCEEDED, size_bytes=total,
                                                   sha256=packed.sha256, databases=dumps, finished_at=timezone.now())
    if folder is None:  # else the control plane's nightly expiry does it: the files are on its disk
        keep_within_plan(site)
    return SiteBackup.objects.get(pk=backup.pk)


def _fail(backup: SiteBackup, why: str) -> SiteBackup:
    tarball(backup).unlink(missing_ok=True)
    SiteBackup.objects.filter(pk=backup.pk).update(state=SiteBackup.State.FAILED, error=why,
                                                   finished_at=timezone.now())
    log.warning("backup %s of %s failed: %s", backup.pk, backup.site.name, why, extra={"site": backup.site.name})
    return SiteBackup.objects.get(pk=backup.pk)


def run_restore(backup_id: int, engine: ContainerEngine) -> None:
    backup = SiteBackup.objects.select_related("site__plan", "site__organization").get(pk=backup_id)
    space = workspace(backup.site)
    # A host without the control plane's disk fetches the parts first (sha256 checked on the way).
    folder = space.new_folder(space.builds, f"restore-parts-{backup.pk}-{time.monotonic_ns()}") \
        if slug_cache.remote() else None
    try:
        if folder is not None:
            try:
                _fetch_parts(backup, folder)
            except PlatformError as exc:
                return _restore_failed(backup, f"the backup could not be fetched intact: {exc}; "
                                               "/data and the databases were not touched")
        return _restore(engine, backup, folder)
    finally:
        if folder is not None:
            space.throw_away(folder)


def _fetch_parts(backup: SiteBackup, folder: Path) -> None:
    for part, sha256 in [("data", backup.sha256), *((held["engine"], held["sha256"]) for held in backup.databases)]:
        slug_cache.download(f"/internal/v1/backups/{backup.pk}/{part}", part_path(backup, part, folder), sha256)


def _restore(engine: ContainerEngine, backup: SiteBackup, folder: Path | None) -> None:
    site, path = backup.site, part_path(backup, "data", folder)
    path_of = partial(part_path, backup, folder=folder)
    if not path.is_file() or slug_cache.file_sha256(path) != backup.sha256:
        return _restore_failed(backup, "the backup is missing or damaged; /data and the databases were not touched")
    unusable = database_backups.why_not_restorable(backup, path_of)
    if unusable:
        return _restore_failed(backup, f"{unusable}; /data and the databases were not touched")
    try:  # the databases first: when one fails, /data is still as it was
        database_backups.restore_all(engine, backup, path_of, RESTORE_SECONDS)
    except PlatformError as exc:  # that database was emptied: say so, a second restore may be asked for
        return _restore_failed(backup, f"{exc}; that database may be left empty, /data was not touched")
    space = workspace(site)
    empty_app = space.new_folder(space.builds, f"restore-{backup.pk}-{time.monotonic_ns()}")
    try:
        result = volume_backup.restore_volume(engine, _spec(site, backup, empty_app), path, RESTORE_SECONDS)
    finally:
        space.throw_away(empty_app)
    if result.exit_code != 0:
        why = "it timed out" if result.timed_out else result.output.strip()[-300:]
        return _restore_failed(backup, f"/data: {why} (the databases were restored)")
    audit.record(site.organization, "site.backup_restored", site.name, site=site.name, backup=backup.pk)
    services.restart(site)


def _restore_failed(backup: SiteBackup, why: str) -> None:
    """The customer reads it in the audit log (and staff in the platform's log)."""
    site = backup.site
    log.warning("restoring backup %s of %s failed: %s", backup.pk, site.name, why, extra={"site": site.name})
    audit.record(site.organization, "site.backup_restore_failed", site.name, site=site.name, backup=backup.pk,
                 reason=why)

