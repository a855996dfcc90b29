"""Logical backups of one database of the host's server and their restore: pg_dump and psql,
mariadb-dump and mariadb, run inside the server's own container (docker exec).

Why in the server's container rather than a one-off container on the database's network: its
image holds the client tools of exactly the server's version (a dump of a newer server cannot be
read by an older pg_dump); it reaches the server through its Unix socket as the administrative
account, without a password or an address on the site's network; it works while the site's own
role is read-only or locked (over its size); and it starts no container. The dump streams out of
the exec over the Docker API and is gzipped and hashed as it comes (hosting/packing.py): it never
lands uncompressed on the host. Database names are checked (DATABASE_NAME) before they reach a
command line, and go as arguments, never into a shell's text.

Restoring is limited to that one database: the agent locks the site's role out and drops and
recreates the database (hosting/dbadmin*.recreate: the role, its password and grants stay), then
PostgreSQL's psql runs the dump as the superuser who first becomes the site's role (SET ROLE: what
it creates is the site's, and it may do only what the site's role may), MariaDB's client with
--one-database (statements for any other database are skipped). The dump reaches the server
through the server's own directory (its /var/lib/hosting-db), readable by the server's user only,
and is removed afterwards.
"""
from __future__ import annotations

import os
import shutil
import time
import uuid
from pathlib import Path

from core.errors import PlatformError
from hosting import dbadmin, dbadmin_mariadb, dbserver, packing
from hosting.engine import ContainerEngine

IN_SERVER = "/var/lib/hosting-db"  # the server's directory (dbserver.server_dir) inside its container
ADMIN = {"postgresql": dbadmin, "mariadb": dbadmin_mariadb}
# Fixed text; the dump's path and the checked database name come as $1 and $2.
PG_RESTORE = ('set -o pipefail; gunzip -c "$1" | psql -X -q -v ON_ERROR_STOP=1 --single-transaction '
              '-h /run/postgresql -U postgres -d "$2" -c "SET ROLE \\"$2\\"" -f -')
MY_RESTORE = ('set -o pipefail; gunzip -c "$1" | mariadb --socket=/run/mysqld/mysqld.sock --user=mysql '
              '--one-database "$2"')


class DumpFailed(PlatformError):
    """pg_dump, mariadb-dump or the restore's client ended with an error (its message attached)."""


def _kind(engine_name: str) -> dbserver.Kind:
    return dbserver.KINDS[engine_name]


def _user(kind: dbserver.Kind) -> str:
    return f"{kind.uid}:{kind.uid}"


def dump_command(engine_name: str, name: str, seconds: int = 3600) -> list[str]:
    """The dump tool's command line, killed after `seconds` (it may wait on a lock without printing,
    and the exec's stream is read without a timeout)."""
    dbadmin.checked_name(name)
    if engine_name == "postgresql":
        # No owners or grants: a restore creates everything as the site's role, whatever it was.
        tool = ["pg_dump", "-h", "/run/postgresql", "-U", "postgres", "--no-owner", "--no-privileges", name]
    else:
        tool = ["mariadb-dump", "--socket=/run/mysqld/mysqld.sock", "--user=mysql", "--single-transaction",
                "--routines", "--triggers", "--events", "--hex-blob", "--skip-dump-date", name]
    return ["timeout", str(max(1, int(seconds))), *tool]


def _ready(engine: ContainerEngine, host: str, engine_name: str) -> None:
    dbserver.ensure_server(engine, host, _kind(engine_name))
    ADMIN[engine_name].wait_until_ready(host)
    if engine_name == "mariadb":
        dbadmin_mariadb.ensure_local_operator(host)


def dump(engine: ContainerEngine, host: str, engine_name: str, name: str, folder: Path, max_bytes: int,
         deadline: float) -> packing.Packed:
    """A gzipped plain-SQL dump of database `name` in a temporary file of `folder` (the caller renames
    it into place); packing's StreamTooLarge/StreamTooSlow past `max_bytes`/`deadline`, DumpFailed
    when the dump tool fails, with nothing left behind."""
    command = dump_command(engine_name, name, int(deadline - time.monotonic()))
    _ready(engine, host, engine_name)
    packed: dict[str, packing.Packed] = {}
    code, errors = engine.exec_stream(
        dbserver.server_name(host, _kind(engine_name)), command, _user(_kind(engine_name)),
        lambda out: packed.setdefault("file", packing.pack(out, folder, max_bytes, deadline)))
    if code != 0 or "file" not in packed:
        if "file" in packed:
            packed["file"].temporary.unlink(missing_ok=True)
        raise DumpFailed(f"{command[2]} of {name} failed (exit {code}{', timed out' if code == 124 else ''}): "
                         f"{errors.strip()[-300:]}")
    return packed["file"]


def restore(engine: ContainerEngine, host: str, engine_name: str, name: str, dump_file: Path,
            connections: int, writes: str, timeout: int) -> None:
    """Replace database `name`'s content with the gzipped dump; the site's role is locked out meanwhile
    and gets `writes` (its write state) back at the end, whatever happened."""
    admin, kind = ADMIN[engine_name], _kind(engine_name)
    dbadmin.checked_name(name)
    _ready(engine, host, engine_name)
    inside = f"restore-{uuid.uuid4().hex}.sql.gz"
    copy = dbserver.server_dir(host, kind) / inside
    shutil.copyfile(dump_file, copy)
    os.chmod(copy, 0o600)
    _own(copy, kind.uid)
    try:
        admin.set_write_state(host, name, "locked", connections)  # the site's sessions end, none start
        admin.recreate(host, name)
        script = PG_RESTORE if engine_name == "postgresql" else MY_RESTORE
        code, output = engine.exec_command(
            dbserver.server_name(host, kind),
            ["timeout", str(int(timeout)), "bash", "-c", script, "restore", f"{IN_SERVER}/{inside}", name],
            _user(kind))
        if code != 0:
            raise DumpFailed(f"restoring {name} failed (exit {code}): {output.strip()[-300:]}")
    finally:
        copy.unlink(missing_ok=True)
        admin.set_write_state(host, name, writes, connections)


def _own(path: Path, uid: int) -> None:
    try:
        os.chown(path, uid, uid)
    except PermissionError:  # unit tests run unprivileged
        pass
