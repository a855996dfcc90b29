"""The nightly backup (beat, BACKUP_HOUR), sent to the `proxy` queue on purpose: its worker runs as
root on the control plane's machine, beside the database, secrets, repositories, certificates and
that machine's slugs; the control worker is unprivileged and cannot read slugs or keys, and an
agent's slots belong to builds."""
from __future__ import annotations

import logging
from datetime import datetime, timezone
from pathlib import Path

from celery import shared_task
from django.conf import settings

from backups.retention import prune_backups
from backups.services import create_backup

log = logging.getLogger(__name__)


@shared_task(name="backups.nightly_backup")
def nightly_backup() -> str:
    directory = Path(settings.BACKUP_DIR)
    path, manifest = create_backup(directory)
    deleted = prune_backups(directory, settings.BACKUP_KEEP_DAYS, datetime.now(timezone.utc))
    log.info("backup written to %s; %d older than %d days deleted", path, len(deleted), settings.BACKUP_KEEP_DAYS)
    if manifest["missing_slugs"]:
        log.warning("%d slugs were not on this machine and are not in the backup", len(manifest["missing_slugs"]))
    return str(path)
