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


def measure() -> dict:
    import django  # here: the bench's own DATA_DIR is in the environment before settings load

    django.setup()
    import psycopg

    from hosting import dbadmin, dbserver
    from hosting.engine import ContainerEngine

    engine = ContainerEngine()
    names = [f"site_{index:032x}" for index in range(1, DATABASES + 1)]
    held = []
    try:
        dbserver.ensure_server(engine, HOST)
        dbadmin.wait_until_ready(HOST)
        time.sleep(3)
        server = dbserver.server_name(HOST)
        empty = container_memory_mib(engine, server)
        made = []
        for name in names:
            started = time.monotonic()
            dbadmin.provision(engine, HOST, name, "bench-password", 10)
            made.append(time.monotonic() - started)
        time.sleep(3)
        with_databases = container_memory_mib(engine, server)
        for name in names:  # an idle session in each, as an app's pool holds one
            held.append(psycopg.connect(host=str(dbserver.socket_dir(HOST)), user="postgres", dbname=name))
        time.sleep(3)
        with_sessions = container_memory_mib(engine, server)
        disk = dbadmin.sizes(HOST)
        return {"empty": empty, "databases": with_databases, "sessions": with_sessions,
                "provision_median": statistics.median(made), "disk_mib": statistics.median(disk.values()) / (1 << 20)}
    finally:
        for connection in held:
            connection.close()
        for name in names:
            engine.remove_network_with_members(dbserver.network_name(name))
        engine.remove(dbserver.server_name(HOST))
        engine.remove_network_with_members(dbserver.server_network(HOST))


def main() -> None:
    started = time.monotonic()
    say(f"databases: one server, {DATABASES} databases, idle")
    with tempfile.TemporaryDirectory(prefix="hosting-bench-db-") as work:
        os.environ.update({"DATA_DIR": work, "DJANGO_SETTINGS_MODULE": "config.settings"})
        result = measure()
    n = DATABASES
    (empty, empty_anon), (made, made_anon), (held, held_anon) = result["empty"], result["databases"], result["sessions"]
    per_database, per_database_anon = (made - empty) / n, (made_anon - empty_anon) / n
    per_session, per_session_anon = (held - empty) / n, (held_anon - empty_anon) / n
    write_section("databases", "Databases: memory per idle database", "\n".join([
        "One PostgreSQL 17 server (Debian's package) per host; each site's database is a database, a role and a",
        f"private network of it. {n} databases made as the agent makes them (`hosting.dbadmin.provision`), then one",
        "idle session held to each. Memory of the server's container, median of 5 reads, two ways:",
        "",
        "| | server memory (docker stats) | per database | processes' own memory | per database |",
        "|---|---:|---:|---:|---:|",
        f"| server, no database | {empty:.1f} MiB | | {empty_anon:.1f} MiB | |",
        f"| {n} idle databases, no session | {made:.1f} MiB | {per_database:.2f} MiB | {made_anon:.1f} MiB | "
        f"{per_database_anon:.2f} MiB |",
        f"| {n} idle databases, one idle session each | {held:.1f} MiB | {per_session:.2f} MiB | {held_anon:.1f} MiB | "
        f"{per_session_anon:.2f} MiB |",
        "",
        "The docker-stats column includes the shared buffers (shared memory, at most `shared_buffers`, 64 MB) and",
        "the page cache of the files just written, both filled by making the databases and bounded whatever their",
        "number; the processes' own (anonymous) memory is what each further idle database or session adds for good.",
        "",
        f"Each empty database takes {result['disk_mib']:.1f} MiB on disk (a copy of template1); attaching one took "
        f"{result['provision_median'] * 1000:.0f} ms (median: role, database, network, pg_hba.conf, reload).",
        "A container per database would cost at least a whole idle server (the first row) plus its containerd shim",
        "(about 13.6 MiB, FACTS.md) for every database.",
        "",
        f"The run took {time.monotonic() - started:.0f} s.",
    ]))
    say(f"databases: {per_database_anon:.2f} MiB per idle database, {per_session_anon:.2f} MiB with a session each")


if __name__ == "__main__":
    sys.exit(main())
