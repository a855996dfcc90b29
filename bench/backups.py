"""`make bench` (backups): backup and restore time per GB of a site's /data and of its databases,
through the code the agent runs (hosting/volume_backup.py for /data, hosting/dbdump.py for the
databases, in the host's real PostgreSQL and MariaDB servers).

A throwaway DATA_DIR and host name on this machine's Docker daemon. /data: a quota volume filled
with BACKUP_BENCH_DATA_MB of files (half incompressible bytes, half text lines), packed into a
gzipped tarball and restored (emptied and unpacked by a one-off container of a 1-CPU plan).
Databases: one per engine, filled with BACKUP_BENCH_DB_MB of rows (a primary key, a text column of
128 characters, a number), dumped and restored (dropped, recreated, refilled). Each step is run
BACKUP_BENCH_RUNS times; the tables show medians, in seconds and in seconds per GB of the data as
it is on disk (the files' bytes; the database's size as the server counts it).
"""
from __future__ import annotations

import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

from bench.report import write_section
from launcher import say

DATA_MB = int(os.environ.get("BACKUP_BENCH_DATA_MB", "512"))
DB_MB = int(os.environ.get("BACKUP_BENCH_DB_MB", "256"))
RUNS = int(os.environ.get("BACKUP_BENCH_RUNS", "3"))
HOST = "bench-bk"
UID = 64999
CHUNK = 8 * 2**20
GB = 2**30


def _timed(step) -> float:
    started = time.monotonic()
    step()
    return time.monotonic() - started


def _fill_volume(volume: Path, megabytes: int) -> int:
    """Files of 8 MB in /data, every other one random (a JPEG, a zip), the rest text (logs, JSON)."""
    written = 0
    line = b'{"order": %d, "customer": "someone@example.com", "items": [3, 5, 8], "paid": true}\n'
    for number in range(max(1, megabytes * 2**20 // CHUNK)):
        folder = volume / f"uploads-{number % 8}"
        folder.mkdir(exist_ok=True)
        os.chown(folder, UID, UID)
        if number % 2:
            content = os.urandom(CHUNK)
        else:
            content = b"".join(line % (number * 100000 + n) for n in range(CHUNK // len(line) + 1))[:CHUNK]
        path = folder / f"file-{number}.bin"
        path.write_bytes(content)
        os.chown(path, UID, UID)
        written += len(content)
    return written


def measure_data(engine) -> dict:
    from django.conf import settings

    from hosting import volume_backup
    from hosting.images import os_image
    from hosting.spec import NO_NETWORK, ContainerSpec, ResourceLimits
    from hosting.volumes import QuotaVolumes

    volumes = QuotaVolumes(settings.VOLUMES_DIR)
    volume = volumes.ensure("bench-backup", DATA_MB * 3, UID)
    empty_app = Path(settings.DATA_DIR) / "empty-app"
    empty_app.mkdir()
    store = Path(settings.DATA_DIR) / "site-backups"
    try:
        size = _fill_volume(volume, DATA_MB)
        packs, restores, tarball_size = [], [], 0
        for run in range(RUNS):
            spec = ContainerSpec(site="bench-backup", release="backup", instance=f"b{run}", image=os_image(),
                                 command=("true",), limits=ResourceLimits(memory_mb=512, cpu_millicores=1000, pids=256),
                                 slug_dir=empty_app, data_dir=volume, host_port=None, network=NO_NETWORK, uid=UID)
            packed = {}
            packs.append(_timed(lambda: packed.setdefault("p", volume_backup.pack_volume(
                engine, spec, store, 4 * DATA_MB * 2**20, time.monotonic() + 3600))))
            tarball = store / "data.tar.gz"
            os.replace(packed["p"].temporary, tarball)
            tarball_size = packed["p"].size
            result = {}
            restores.append(_timed(lambda: result.setdefault("r", volume_backup.restore_volume(engine, spec, tarball,
                                                                                                3600))))
            assert result["r"].exit_code == 0, result["r"].output
        return {"size": size, "stored": tarball_size, "backup": packs, "restore": restores}
    finally:
        volumes.remove("bench-backup")


def _fill_database(engine_name: str, name: str, megabytes: int) -> None:
    """Rows of about 180 bytes (a key, 128 characters of text, a number) up to `megabytes`."""
    import psycopg
    import pymysql

    from hosting import dbserver

    rows = megabytes * 2**20 // 180
    if engine_name == "postgresql":
        with psycopg.connect(host=str(dbserver.socket_dir(HOST)), user="postgres", dbname=name,
                             autocommit=True) as conn:
            conn.execute(f"SET ROLE {name}")
            conn.execute("CREATE TABLE orders (id bigint PRIMARY KEY, body text, amount int)")
            conn.execute("INSERT INTO orders SELECT g, md5(g::text) || md5((g + 1)::text) || md5((g + 2)::text) "
                         "|| md5((g + 3)::text), g %% 1000 FROM generate_series(1, %s) g", [rows])
        return
    conn = pymysql.connect(unix_socket=str(dbserver.socket_dir(HOST, dbserver.MARIADB) / "mysqld.sock"), user="root",
                           database=name, autocommit=True)
    with conn.cursor() as cursor:
        cursor.execute("CREATE TABLE orders (id bigint PRIMARY KEY, body text, amount int)")
        for start in range(0, rows, 200000):  # in steps: one statement this big would fill the binlog cache
            cursor.execute(f"INSERT INTO orders SELECT seq, CONCAT(MD5(seq), MD5(seq + 1), MD5(seq + 2), MD5(seq + 3)),"
                           f" seq % 1000 FROM seq_{start + 1}_to_{min(rows, start + 200000)}")
        cursor.execute("ANALYZE TABLE orders")  # information_schema's sizes are the statistics' (sizes())
        cursor.fetchall()
    conn.close()


def measure_database(engine, engine_name: str) -> dict:
    from django.conf import settings

    from hosting import dbdump, dbserver

    kind, admin = dbserver.KINDS[engine_name], dbdump.ADMIN[engine_name]
    name = "site_" + "b" * 32
    store = Path(settings.DATA_DIR) / "site-backups"
    try:
        dbserver.ensure_server(engine, HOST, kind)
        admin.wait_until_ready(HOST)
        admin.provision(engine, HOST, name, "bench-password", 10)
        _fill_database(engine_name, name, DB_MB)
        size = admin.sizes(HOST)[name]
        dumps, restores, stored = [], [], 0
        for _ in range(RUNS):
            packed = {}
            dumps.append(_timed(lambda: packed.setdefault("p", dbdump.dump(engine, HOST, engine_name, name, store,
                                                                            8 * DB_MB * 2**20,
                                                                            time.monotonic() + 3600))))
            dump = store / f"{engine_name}.sql.gz"
            os.replace(packed["p"].temporary, dump)
            stored = packed["p"].size
            restores.append(_timed(lambda: dbdump.restore(engine, HOST, engine_name, name, dump, 10, "writable", 3600)))
        return {"size": size, "stored": stored, "backup": dumps, "restore": restores}
    finally:
        engine.remove_network_with_members(dbserver.network_name(name, kind))
        engine.remove(dbserver.server_name(HOST, kind))
        engine.remove_network_with_members(dbserver.server_network(HOST, kind))


def _row(label: str, result: dict) -> str:
    backup, restore = statistics.median(result["backup"]), statistics.median(result["restore"])
    gb = result["size"] / GB
    return (f"| {label} | {result['size'] / 2**20:.0f} MB | {result['stored'] / 2**20:.0f} MB | {backup:.1f} s | "
            f"{backup / gb:.0f} s | {restore:.1f} s | {restore / gb:.0f} s |")


def main() -> None:
    import django  # here: the bench's own DATA_DIR is in the environment before settings load

    started = time.monotonic()
    say(f"backups: /data of {DATA_MB} MB and databases of {DB_MB} MB, {RUNS} runs each")
    with tempfile.TemporaryDirectory(prefix="hosting-bench-bk-") as work:
        os.environ.update({"DATA_DIR": work, "DJANGO_SETTINGS_MODULE": "config.settings"})
        django.setup()
        from hosting.engine import ContainerEngine

        with ContainerEngine(timeout=3600) as engine:
            results = {"data": measure_data(engine)}
            for engine_name in ("postgresql", "mariadb"):
                results[engine_name] = measure_database(engine, engine_name)
    rows = [_row("/data (tarball)", results["data"]), _row("PostgreSQL 17 (pg_dump, psql)", results["postgresql"]),
            _row("MariaDB 11.8 (mariadb-dump, mariadb)", results["mariadb"])]
    write_section("backups", "Backups: backup and restore time per GB", "\n".join([
        "A site's backup through the agent's own code: /data packed by the Docker daemon and gzipped",
        "(`hosting/volume_backup.py`), restored by a one-off container of a 1-CPU plan; each database dumped and",
        "restored in its host's server (`hosting/dbdump.py`: dropped, recreated, refilled, indexes rebuilt).",
        f"/data: {DATA_MB} MB of files, half random bytes, half text lines. Databases: {DB_MB} MB of rows (a key,",
        f"128 characters of text, a number). Medians of {RUNS} runs; per GB of the data as it is on disk (the",
        "files' bytes, the database's size as its server counts it).",
        "",
        "| part | size | stored (gzip) | backup | per GB | restore | per GB |",
        "|---|---:|---:|---:|---:|---:|---:|",
        *rows,
        "",
        f"The run took {time.monotonic() - started:.0f} s.",
    ]))
    for row in rows:
        say(f"backups: {row}")


if __name__ == "__main__":
    sys.exit(main())
