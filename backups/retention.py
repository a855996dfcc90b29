"""Which backups the nightly run deletes: those older than BACKUP_KEEP_DAYS, never the newest."""
from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone
from pathlib import Path

# backup-20261127T030000Z.tar.gz: the time is in the name, so a copy (new mtime) ages the same.
NAME = re.compile(r"^backup-(\d{8}T\d{6}Z)\.tar\.gz$")
TIME_FORMAT = "%Y%m%dT%H%M%SZ"


def backup_name(when: datetime) -> str:
    return f"backup-{when.astimezone(timezone.utc).strftime(TIME_FORMAT)}.tar.gz"


def backup_time(path: Path) -> datetime | None:
    match = NAME.match(path.name)
    if not match:
        return None
    return datetime.strptime(match.group(1), TIME_FORMAT).replace(tzinfo=timezone.utc)


def backups_to_delete(directory: Path, keep_days: int, now: datetime) -> list[Path]:
    """Backups made more than `keep_days` before `now`. The newest always stays, however old: a
    nightly run that failed for weeks must not leave the operator with nothing. Files not named
    by `backup_name` are not ours and stay."""
    dated = sorted((when, path) for path in directory.iterdir() if (when := backup_time(path)) is not None)
    if not dated:
        return []
    cutoff = now - timedelta(days=keep_days)
    return [path for when, path in dated[:-1] if when < cutoff]


def prune_backups(directory: Path, keep_days: int, now: datetime) -> list[Path]:
    deleted = backups_to_delete(directory, keep_days, now)
    for path in deleted:
        path.unlink(missing_ok=True)
    return deleted
