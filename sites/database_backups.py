"""The database part of a site's backup (sites/data_backups.py is the whole): one gzipped logical
dump per attached database beside the /data tarball, and their restore into the site's own
databases, on the agent of the site's host (the databases are on that host: sites/database_env.py
places the site there). The dumping and restoring is hosting/dbdump.py.

A part is recorded on the backup as {"engine", "size_bytes", "sha256"}; its file is named for the
backup and the engine, never for anything the customer typed. A restore goes into the database the
site has now for that engine (its name comes from the site, not from the backup), and only after
every part was found whole.
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import Callable

from hosting import dbdump, slug_cache
from hosting.engine import ContainerEngine
from sites.database_models import Database
from sites.models import Site, SiteBackup

PartPath = Callable[[str], Path]  # engine -> where that engine's dump of the backup is kept


def attached(site: Site) -> list[Database]:
    return list(site.databases.filter(state=Database.State.READY).order_by("engine"))


def dump_all(engine: ContainerEngine, site: Site, host: str, path_of: PartPath, max_bytes: int,
             deadline: float) -> list[dict]:
    """A dump of each of the site's ready databases into the store; on any failure none is kept
    (packing's StreamTooLarge/StreamTooSlow, dbdump.DumpFailed, PlatformError go to the caller)."""
    parts: list[dict] = []
    try:
        for database in attached(site):
            if database.host_name != host:
                raise dbdump.DumpFailed(f"its {database.get_engine_display()} database is on {database.host_name}, "
                                        f"not on {host} with the site")
            target = path_of(database.engine)
            packed = dbdump.dump(engine, host, database.engine, database.name, target.parent, max_bytes, deadline)
            os.replace(packed.temporary, target)
            parts.append({"engine": database.engine, "size_bytes": packed.size, "sha256": packed.sha256})
    except BaseException:
        for part in parts:
            path_of(part["engine"]).unlink(missing_ok=True)
        raise
    return parts


def why_not_restorable(backup: SiteBackup, path_of: PartPath) -> str | None:
    """The reason the backup's databases cannot be restored (checked before anything is touched), or None."""
    have = {database.engine: database for database in attached(backup.site)}
    for part in backup.databases:
        label = Database.Engine(part["engine"]).label
        path = path_of(part["engine"])
        if not path.is_file() or slug_cache.file_sha256(path) != part["sha256"]:
            return f"its {label} dump is missing or damaged"
        if part["engine"] not in have:
            return f"it holds a {label} database and the site has none now: attach one first"
    return None


def restore_all(engine: ContainerEngine, backup: SiteBackup, path_of: PartPath, timeout: int) -> None:
    """Each database of the backup replaced by its dump (dbdump.DumpFailed or PlatformError when one fails)."""
    plan = backup.site.plan
    have = {database.engine: database for database in attached(backup.site)}
    for part in backup.databases:
        database = have[part["engine"]]
        dbdump.restore(engine, database.host_name, database.engine, database.name, path_of(part["engine"]),
                       plan.database_connections, database.writes, timeout)


def remove_all(backup: SiteBackup, path_of: PartPath) -> None:
    for part in backup.databases:
        path_of(part["engine"]).unlink(missing_ok=True)
