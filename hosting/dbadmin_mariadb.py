"""The SQL side of the host's MariaDB server: accounts, databases, sizes, write grants.

The agent (root) connects through the server's Unix socket as MariaDB's root (unix_socket
authentication: the socket's peer is uid 0), in a host directory only root and the server's user
may enter. Each site's account exists for its own database network's subnet only
('site_<uuid>'@'10.215.0.32/255.255.255.224'), which is MariaDB's way of pg_hba.conf: the same name
and password from any other address is no account at all. Names are checked against DATABASE_NAME
and quoted as identifiers; values go as PyMySQL's escaped literals.
"""
from __future__ import annotations

import functools
import ipaddress
import time
from typing import Callable

import pymysql

from core.errors import PlatformError
from hosting import dbserver
from hosting.dbadmin import DATABASE_NAME, DatabaseServerUnavailable
from hosting.engine import ContainerEngine

KIND = dbserver.MARIADB
WRITES = "SELECT, INSERT, UPDATE, DELETE, CREATE, DROP, INDEX, ALTER, CREATE TEMPORARY TABLES, LOCK TABLES, " \
         "CREATE VIEW, SHOW VIEW, CREATE ROUTINE, ALTER ROUTINE, EXECUTE, TRIGGER, REFERENCES, EVENT"
# Over its size: reads, and deleting rows (so that it can shrink), but nothing that adds.
READ_ONLY = "SELECT, DELETE, SHOW VIEW, EXECUTE, LOCK TABLES"


def _name(name: str) -> str:
    if not DATABASE_NAME.fullmatch(name):
        raise ValueError(f"{name!r} is not a database name this platform made")
    return f"`{name}`"  # [a-z0-9_] only: nothing to escape


def _errors(fn: Callable) -> Callable:
    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except pymysql.err.OperationalError as exc:
            if exc.args and exc.args[0] in (2002, 2003, 2006, 2013):  # no server, gone away
                raise DatabaseServerUnavailable(f"The MariaDB server does not answer: {exc}") from None
            raise PlatformError(f"The MariaDB server refused: {exc}") from None
        except pymysql.err.MySQLError as exc:
            raise PlatformError(f"The MariaDB server refused: {exc}") from None
    return wrapper


def connect(host: str) -> pymysql.connections.Connection:
    try:
        return pymysql.connect(unix_socket=str(dbserver.socket_dir(host, KIND) / "mysqld.sock"), user="root",
                               autocommit=True, connect_timeout=5)
    except pymysql.err.OperationalError as exc:
        raise DatabaseServerUnavailable(f"The MariaDB server of {host} does not answer: {exc}") from None


def wait_until_ready(host: str, timeout: float = 90) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            connect(host).close()
            return
        except DatabaseServerUnavailable:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.5)


def account(name: str, subnet: str) -> str:
    network = ipaddress.ip_network(subnet)
    return f"{_name(name).replace('`', chr(39))}@'{network.network_address}/{network.netmask}'"


def _run(host: str, *statements: tuple[str, tuple]) -> list:
    with connect(host) as conn, conn.cursor() as cursor:
        rows: list = []
        for statement, values in statements:
            cursor.execute(statement, values or None)
            rows = list(cursor.fetchall())
        return rows


@_errors
def provision(engine: ContainerEngine, host: str, name: str, password: str, connections: int,
              size_mb: int = 0) -> dbserver.DatabaseNetwork:
    """The database and its account for its own network's subnet only (idempotent)."""
    dbserver.ensure_server(engine, host, KIND)
    wait_until_ready(host)
    network = dbserver.ensure_database_network(engine, host, name, KIND)
    who = account(name, network.subnet)
    _run(host,
         (f"CREATE DATABASE IF NOT EXISTS {_name(name)} CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci", ()),
         (f"CREATE USER IF NOT EXISTS {who} IDENTIFIED BY %s", (password,)),
         (f"ALTER USER {who} IDENTIFIED BY %s WITH MAX_USER_CONNECTIONS {int(connections)}", (password,)),
         (f"GRANT {WRITES} ON {_name(name)}.* TO {who}", ()))
    return network


def _accounts(host: str, name: str) -> list[str]:
    rows = _run(host, ("SELECT Host FROM mysql.user WHERE User = %s", (name,)))
    return [f"{_name(name).replace('`', chr(39))}@'{row[0]}'" for row in rows]


@_errors
def set_password(host: str, name: str, password: str) -> None:
    for who in _accounts(host, name):
        _run(host, (f"ALTER USER {who} IDENTIFIED BY %s", (password,)))


@_errors
def deprovision(engine: ContainerEngine, host: str, name: str) -> None:
    dbserver.ensure_server(engine, host, KIND)
    wait_until_ready(host)
    for who in _accounts(host, name):
        _run(host, (f"DROP USER IF EXISTS {who}", ()))
    _run(host, (f"DROP DATABASE IF EXISTS {_name(name)}", ()))
    dbserver.remove_database_network(engine, host, name, KIND)


@_errors
def recreate(host: str, name: str) -> None:
    """The database dropped and made again, empty (its account's grants on it stay): a restore
    (hosting/dbdump.py) fills it."""
    _run(host, (f"DROP DATABASE IF EXISTS {_name(name)}", ()),
         (f"CREATE DATABASE {_name(name)} CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci", ()))


@_errors
def ensure_local_operator(host: str) -> None:
    """The account the dump and restore tools use inside the server's container, where they run as
    the server's own user (`mysql`, without the capabilities to reach root's socket login): that
    user through the Unix socket only, which only the server's user and the agent can enter. It may
    do what root may; the server's user owns every data file anyway."""
    _run(host, ("CREATE USER IF NOT EXISTS 'mysql'@'localhost' IDENTIFIED VIA unix_socket", ()),
         ("GRANT ALL PRIVILEGES ON *.* TO 'mysql'@'localhost'", ()))


def purge_if_here(engine: ContainerEngine, host: str, name: str) -> bool:
    _name(name)
    if not engine.network_exists(dbserver.network_name(name, KIND)):
        return False
    deprovision(engine, host, name)
    return True


@_errors
def sizes(host: str) -> dict[str, int]:
    rows = _run(host, ("SELECT table_schema, COALESCE(SUM(data_length + index_length + data_free), 0) "
                       "FROM information_schema.tables WHERE table_schema LIKE 'site\\\\_%%' GROUP BY table_schema", ()))
    return {row[0]: int(row[1]) for row in rows if DATABASE_NAME.fullmatch(row[0])}


@_errors
def set_write_state(host: str, name: str, state: str, connections: int) -> None:
    """Grants, which the account cannot change: read-only keeps SELECT and DELETE; locked, the
    account may not log in. Open sessions are ended so the next one starts under the new grants."""
    for who in _accounts(host, name):
        statements = [(f"REVOKE ALL PRIVILEGES ON {_name(name)}.* FROM {who}", ()),
                      (f"GRANT {WRITES if state == 'writable' else READ_ONLY} ON {_name(name)}.* TO {who}", ()),
                      (f"ALTER USER {who} ACCOUNT {'LOCK' if state == 'locked' else 'UNLOCK'}", ())]
        _run(host, *statements)
    for row in _run(host, ("SELECT id FROM information_schema.processlist WHERE user = %s", (name,))):
        _run(host, (f"KILL CONNECTION {int(row[0])}", ()))
