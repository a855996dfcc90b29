"""`make bench` (databases): what an idle database costs in the chosen shape, one PostgreSQL server
per host with a database, a role and a private network per site (hosting/dbserver.py).

A throwaway server on this machine's Docker daemon (its own DATA_DIR and host name), measured idle
with no database, then with N databases made by `hosting.dbadmin.provision` (as the agent makes
them), then with one idle connection held to each (an app's pool keeps one open). Memory is the
server container's cgroup usage as `docker stats` shows it, and its processes' anonymous memory.
"""
from __future__ import annotations

import os
import statistics
import sys
import tempfile
import time

from bench.report import write_section
from launcher import say

DATABASES = int(os.environ.get("DATABASE_BENCH_COUNT", "20"))
HOST = "bench-db"


def container_memory_mib(engine, name: str) -> tuple[float, float]:
    """(the container's memory less inactive page cache, as `docker stats` shows it; its processes'
    anonymous memory alone), each the median of 5 reads, in MiB."""
    shown, anonymous = [], []
    for _ in range(5):
        raw = engine.client.containers.get(name).stats(stream=False)["memory_stats"]
        stats = raw.get("stats", {})
        shown.append((raw.get("usage", 0) - stats.get("total_inactive_file", stats.get("inactive_file", 0))) / (1 << 20))
        anonymous.append(stats.get("total_rss", stats.get("anon", 0)) / (1 << 20))
        time.sleep(0.5)
    return statistics.median(shown), statistics.median(anonymous)


def _session(engine_name: str, host: str, name: str):
    """An idle session to database `name` through the server's socket, as an app's pool holds one."""
    import psycopg
    import pymysql

    from hosting import dbserver

    if engine_name == "postgresql":
        return psycopg.connect(host=str(dbserver.socket_dir(host)), user="postgres", dbname=name)
    return pymysql.connect(unix_socket=str(dbserver.socket_dir(host, dbserver.MARIADB) / "mysqld.sock"),
                           user="root", database=name)


def measure(engine_name: str) -> dict:
    from hosting import dbadmin, dbadmin_mariadb, dbserver
    from hosting.engine import ContainerEngine

    kind, admin = dbserver.KINDS[engine_name], {"postgresql": dbadmin, "mariadb": dbadmin_mariadb}[engine_name]
    engine = ContainerEngine()
    names = [f"site_{index:032x}" for index in range(1, DATABASES + 1)]
    held = []
    try:
        dbserver.ensure_server(engine, HOST, kind)
        admin.wait_until_ready(HOST)
        time.sleep(3)
        server = dbserver.server_name(HOST, kind)
        empty = container_memory_mib(engine, server)
        made = []
        for name in names:
            started = time.monotonic()
            admin.provision(engine, HOST, name, "bench-password", 10)
            made.append(time.monotonic() - started)
        time.sleep(3)
        with_databases = container_memory_mib(engine, server)
        held = [_session(engine_name, HOST, name) for name in names]
        time.sleep(3)
        with_sessions = container_memory_mib(engine, server)
        return {"empty": empty, "databases": with_databases, "sessions": with_sessions,
                "provision_median": statistics.median(made)}
    finally:
        for connection in held:
            connection.close()
        for name in names:
            engine.remove_network_with_members(dbserver.network_name(name, kind))
        engine.remove(dbserver.server_name(HOST, kind))
        engine.remove_network_with_members(dbserver.server_network(HOST, kind))


def _rows(label: str, result: dict) -> tuple[list[str], float]:
    n = DATABASES
    (empty, empty_anon), (made, made_anon), (held, held_anon) = result["empty"], result["databases"], result["sessions"]
    per_session_anon = (held_anon - empty_anon) / n
    return [
        f"| {label}, no database | {empty:.1f} MiB | | {empty_anon:.1f} MiB | | |",
        f"| {label}, {n} idle databases | {made:.1f} MiB | {(made - empty) / n:.2f} MiB | {made_anon:.1f} MiB | "
        f"{(made_anon - empty_anon) / n:.2f} MiB | {result['provision_median'] * 1000:.0f} ms |",
        f"| {label}, {n} idle databases, one idle session each | {held:.1f} MiB | {(held - empty) / n:.2f} MiB | "
        f"{held_anon:.1f} MiB | {per_session_anon:.2f} MiB | |",
    ], per_session_anon


def main() -> None:
    import django  # here: the bench's own DATA_DIR is in the environment before settings load

    started = time.monotonic()
    say(f"databases: one server per engine, {DATABASES} databases, idle")
    with tempfile.TemporaryDirectory(prefix="hosting-bench-db-") as work:
        os.environ.update({"DATA_DIR": work, "DJANGO_SETTINGS_MODULE": "config.settings"})
        django.setup()
        results = {engine: measure(engine) for engine in ("postgresql", "mariadb")}
    pg, pg_session = _rows("PostgreSQL 17", results["postgresql"])
    my, my_session = _rows("MariaDB 11.8", results["mariadb"])
    write_section("databases", "Databases: memory per idle database", "\n".join([
        "One server per engine per host (Debian's packages); each site's database is a database, a role (an account)",
        f"and a private network of it. {DATABASES} databases made as the agent makes them (`hosting.dbadmin*.provision`),",
        "then one idle session held to each. Memory of the server's container, median of 5 reads, two ways: as",
        "`docker stats` shows it, and its processes' own (anonymous) memory.",
        "",
        "| | server memory (docker stats) | per database | processes' own memory | per database | attach, median |",
        "|---|---:|---:|---:|---:|---:|",
        *pg, *my,
        "",
        "The docker-stats column includes the shared buffers (PostgreSQL's shared memory, at most `shared_buffers`,",
        "64 MB) and the page cache of the files just written, filled by making the databases and bounded whatever",
        "their number; the processes' own memory is what each further idle database or session adds for good.",
        "A container per database would cost at least a whole idle server (each engine's first row) plus its",
        "containerd shim (about 13.6 MiB, FACTS.md) for every database.",
        "",
        f"The run took {time.monotonic() - started:.0f} s.",
    ]))
    say(f"databases: PostgreSQL {pg_session:.2f} MiB, MariaDB {my_session:.2f} MiB per idle database with a session")


if __name__ == "__main__":
    sys.exit(main())
