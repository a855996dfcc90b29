"""The SQL side of the host's PostgreSQL server: roles, databases, sizes, write locks.

The agent (root) talks to the server through its Unix socket, in a host directory only root and
the server's own user can enter (hosting/dbserver.py), as the superuser `postgres`. Every name is
checked against DATABASE_NAME and quoted with psycopg's sql.Identifier; passwords go as literals
that psycopg quotes (PostgreSQL takes no bind parameters in CREATE/ALTER ROLE).
"""
from __future__ import annotations

import functools
import re
import time
from typing import Callable

import psycopg
from psycopg import sql

from core.errors import PlatformError, TransientError
from hosting import dbserver
from hosting.engine import ContainerEngine

# What every database and role name looks like: generated from the site's uuid, never typed by anyone.
DATABASE_NAME = re.compile(r"site_[0-9a-f]{32}")


class DatabaseServerUnavailable(TransientError):
    """The host's database server does not answer (starting, restarting)."""


def _sql_errors(fn: Callable) -> Callable:
    """The server's refusals as ours (a platform error with PostgreSQL's message)."""
    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except psycopg.OperationalError as exc:
            raise DatabaseServerUnavailable(f"The database server stopped answering: {exc}") from None
        except psycopg.Error as exc:
            raise PlatformError(f"The database server refused: {exc}") from None
    return wrapper


def checked_name(name: str) -> str:
    if not DATABASE_NAME.fullmatch(name):
        raise ValueError(f"{name!r} is not a database name this platform made")
    return name


def _checked(name: str) -> sql.Identifier:
    return sql.Identifier(checked_name(name))


def connect(host: str) -> psycopg.Connection:
    try:
        return psycopg.connect(host=str(dbserver.socket_dir(host)), port=dbserver.PORT, user="postgres",
                               dbname="postgres", autocommit=True, connect_timeout=5)
    except psycopg.OperationalError as exc:
        raise DatabaseServerUnavailable(f"The database server of {host} does not answer: {exc}") from None


def wait_until_ready(host: str, timeout: float = 90) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            with connect(host) as conn:
                conn.execute("SELECT 1")
            return
        except DatabaseServerUnavailable:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.5)


@_sql_errors
def provision(engine: ContainerEngine, host: str, name: str, password: str, connections: int,
              size_mb: int = 0) -> dbserver.DatabaseNetwork:
    """The role and database `name` (created, or their password and limit set again: idempotent for a
    retried task), reachable from their own network only. `size_mb` also caps the role's temporary
    files (a superuser setting: the role cannot lift it), which the size check does not see."""
    dbserver.ensure_server(engine, host)
    wait_until_ready(host)
    ident = _checked(name)
    with connect(host) as conn:
        exists = conn.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", [name]).fetchone()
        verb = sql.SQL("ALTER ROLE") if exists else sql.SQL("CREATE ROLE")
        conn.execute(sql.SQL("{} {} LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION CONNECTION LIMIT {} "
                             "PASSWORD {}").format(verb, ident, sql.Literal(int(connections)), sql.Literal(password)))
        if size_mb:
            conn.execute(sql.SQL("ALTER ROLE {} SET temp_file_limit = {}").format(
                ident, sql.Literal(f"{int(size_mb)}MB")))
        if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone():
            conn.execute(sql.SQL("CREATE DATABASE {} OWNER {}").format(ident, ident))
        # No other role may connect to it (pg_hba.conf says so too), nor this role to the others.
        conn.execute(sql.SQL("REVOKE ALL ON DATABASE {} FROM PUBLIC").format(ident))
        conn.execute("REVOKE ALL ON DATABASE postgres, template1 FROM PUBLIC")
    network = dbserver.ensure_database_network(engine, host, name)
    dbserver.write_hba(engine, host)
    reload(host)
    return network


@_sql_errors
def reload(host: str) -> None:
    with connect(host) as conn:
        conn.execute("SELECT pg_reload_conf()")


@_sql_errors
def set_password(host: str, name: str, password: str) -> None:
    """New connections need the new password; sessions already open go on until they end."""
    with connect(host) as conn:
        conn.execute(sql.SQL("ALTER ROLE {} PASSWORD {}").format(_checked(name), sql.Literal(password)))


@_sql_errors
def deprovision(engine: ContainerEngine, host: str, name: str) -> None:
    """The database, its role and its network are gone (idempotent)."""
    ident = _checked(name)
    dbserver.ensure_server(engine, host)
    wait_until_ready(host)
    with connect(host) as conn:
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(ident))
        conn.execute(sql.SQL("DROP ROLE IF EXISTS {}").format(ident))
    dbserver.remove_database_network(engine, host, name)
    reload(host)


@_sql_errors
def recreate(host: str, name: str) -> None:
    """The database dropped (its sessions ended) and made again, empty, owned by its role: a restore
    (hosting/dbdump.py) fills it. The role, its password and its limits stay."""
    ident = _checked(name)
    with connect(host) as conn:
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(ident))
        conn.execute(sql.SQL("CREATE DATABASE {} OWNER {}").format(ident, ident))
        conn.execute(sql.SQL("REVOKE ALL ON DATABASE {} FROM PUBLIC").format(ident))


def purge_if_here(engine: ContainerEngine, host: str, name: str) -> bool:
    """A deleted site's database goes from the host that holds it (its network says so); other hosts
    do nothing, and start no server for it."""
    _checked(name)
    if not engine.network_exists(dbserver.network_name(name)):
        return False
    deprovision(engine, host, name)
    return True


@_sql_errors
def sizes(host: str) -> dict[str, int]:
    """{database name: bytes on disk} of the platform's databases on this server."""
    with connect(host) as conn:
        rows = conn.execute("SELECT datname, pg_database_size(oid) FROM pg_database WHERE datname ~ %s",
                            [f"^{DATABASE_NAME.pattern}$"]).fetchall()
    return {name: int(size) for name, size in rows}


@_sql_errors
def set_write_state(host: str, name: str, state: str, connections: int) -> None:
    """`writable`, `read_only` (over its size: new transactions are read-only, reads go on) or
    `locked` (far over: the role may not connect at all). Open sessions are ended so that the next
    one starts under the new rule."""
    ident = _checked(name)
    with connect(host) as conn:
        if state == "writable":
            conn.execute(sql.SQL("ALTER DATABASE {} RESET default_transaction_read_only").format(ident))
        else:
            conn.execute(sql.SQL("ALTER DATABASE {} SET default_transaction_read_only = on").format(ident))
        limit = 0 if state == "locked" else int(connections)
        conn.execute(sql.SQL("ALTER ROLE {} CONNECTION LIMIT {}").format(ident, sql.Literal(limit)))
        conn.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s", [name])
