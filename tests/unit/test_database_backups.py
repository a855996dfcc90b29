"""The databases in a site's backup at their own interfaces: what a backup records and lists, the
per-database download, a restore that refuses before touching anything when a part is damaged or
its database is gone, and the order of a database's restore on each engine (locked out, recreated,
refilled limited to that database, its write state back). The real pg_dump/psql and mariadb-dump
in the servers' containers are tests/integration/test_database_backups.py."""
from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from accounts.models import AuditEvent
from hosting import dbdump, packing, volume_backup
from hosting.spec import OneOffResult
from sites import data_backups, database_backups
from sites.models import Site, SiteBackup
from sites.workspace import Workspace
from tests.portal_data import seed_database
from tests.unit.test_data_backups import DUMP, backed_up

pytestmark = pytest.mark.django_db


class FakeEngine:
    """Records what was run in which container (the daemon's side is the integration tier's)."""

    def __init__(self, code: int = 0) -> None:
        self.code, self.runs = code, []

    def run_once(self, spec, timeout, on_line=None, keep=False):
        self.runs.append(("run_once", spec.command))
        return OneOffResult(0, False, "", False)

    def exec_command(self, name, command, user):
        self.runs.append(("exec", name, command, user))
        return self.code, "ERROR: relation already exists"


def fake_workspace(monkeypatch, tmp_path: Path) -> None:
    """The site's build disk as plain folders (the real one is a loop-mounted quota volume: the
    integration tier's, and one per test run would be left mounted)."""
    folders = {name: tmp_path / "workspace" / name for name in ("cache", "builds", "sources", "slugs", "trash")}
    for folder in folders.values():
        folder.mkdir(parents=True)
    monkeypatch.setattr(data_backups, "workspace", lambda site: Workspace(root=tmp_path / "workspace", uid=site.uid,
                                                                          **folders))


@pytest.fixture
def agent(monkeypatch, tmp_path):
    """The agent's surroundings without Docker: this host shares the store, /data's spec is a stub."""
    fake_workspace(monkeypatch, tmp_path)
    monkeypatch.setattr(data_backups.slug_cache, "remote", lambda: False)
    monkeypatch.setattr(data_backups, "_spec", lambda site, backup, empty_app: _Spec())
    monkeypatch.setattr(data_backups.services, "restart", lambda site: None)


class _Spec:
    command = ("true",)
    extra_mounts = ()


def _packed(folder: Path, content: bytes) -> packing.Packed:
    folder.mkdir(parents=True, exist_ok=True)
    temporary = folder / f".{hashlib.sha256(content).hexdigest()[:8]}.tmp"
    temporary.write_bytes(content)
    return packing.Packed(temporary, hashlib.sha256(content).hexdigest(), len(content))


def test_a_backup_holds_a_dump_of_each_database_counted_in_its_size_and_listed(world, monkeypatch, agent):
    backed_up(world, monkeypatch)  # the site runs on h1
    seed_database(world["site"])
    site = Site.objects.get(pk=world["site"].pk)
    dumped = []
    monkeypatch.setattr(volume_backup, "pack_volume", lambda engine, spec, folder, limit, deadline:
                        _packed(folder, b"the tarball"))
    monkeypatch.setattr(dbdump, "dump", lambda engine, host, kind, name, folder, limit, deadline:
                        dumped.append((host, kind, name)) or _packed(folder, b"-- the dump"))
    backup = data_backups.take(site)
    done = data_backups.run_backup(backup.pk, FakeEngine())

    assert done.state == "succeeded" and dumped == [("h1", "postgresql", f"site_{site.uuid.hex}")]
    assert done.databases == [{"engine": "postgresql", "size_bytes": 11,
                               "sha256": hashlib.sha256(b"-- the dump").hexdigest()}]
    assert done.size_bytes == len(b"the tarball") + len(b"-- the dump")  # the plan's backup_mb counts both
    assert data_backups.dump_file(done, "postgresql").read_bytes() == b"-- the dump"
    listed = world["client"]("viewer").get("/api/v1/sites/shop/backups/").json()[0]
    assert listed["databases"] == [{"engine": "postgresql", "size_bytes": 11, "sha256": done.databases[0]["sha256"]}]

    data_backups._remove(done)  # expiry and the plan's limit remove every part
    assert not data_backups.dump_file(done, "postgresql").exists() and not data_backups.tarball(done).exists()


def test_a_failed_dump_fails_the_backup_and_keeps_no_part(world, monkeypatch, agent):
    backed_up(world, monkeypatch)
    seed_database(world["site"])

    def refuse(*args):
        raise dbdump.DumpFailed("pg_dump of site_x failed (exit 1): permission denied")

    monkeypatch.setattr(volume_backup, "pack_volume", lambda engine, spec, folder, limit, deadline:
                        _packed(folder, b"the tarball"))
    monkeypatch.setattr(dbdump, "dump", refuse)
    backup = data_backups.take(Site.objects.get(pk=world["site"].pk))
    failed = data_backups.run_backup(backup.pk, FakeEngine())
    assert failed.state == "failed" and "could not be dumped" in failed.error and "permission denied" in failed.error
    assert not data_backups.tarball(failed).exists() and not data_backups.dump_file(failed, "postgresql").exists()


def test_parts_that_fit_the_plan_alone_but_not_together_fail_the_backup_and_keep_nothing(world, monkeypatch, agent):
    backed_up(world, monkeypatch)
    seed_database(world["site"])
    site = Site.objects.get(pk=world["site"].pk)
    site.plan.backup_mb = 1
    site.plan.save()
    monkeypatch.setattr(volume_backup, "pack_volume", lambda engine, spec, folder, limit, deadline:
                        _packed(folder, b"t" * 600_000))
    monkeypatch.setattr(dbdump, "dump", lambda engine, host, kind, name, folder, limit, deadline:
                        _packed(folder, b"d" * 600_000))
    failed = data_backups.run_backup(data_backups.take(site).pk, FakeEngine())
    assert failed.state == "failed" and "together are larger than the plan's backup storage (1 MB)" in failed.error
    assert not data_backups.tarball(failed).exists() and not data_backups.dump_file(failed, "postgresql").exists()


def test_admins_download_each_databases_dump_and_nothing_else(world, monkeypatch):
    backup = backed_up(world, monkeypatch)
    base = f"/api/v1/sites/shop/backups/{backup.pk}/download"
    assert world["client"]("developer").get(f"{base}/postgresql/").status_code == 403
    download = world["client"]("admin").get(f"{base}/postgresql/")
    assert download.status_code == 200 and b"".join(download.streaming_content) == DUMP
    assert download["Content-Disposition"].startswith('attachment; filename="shop-postgresql-')
    assert download["Content-Disposition"].endswith('.sql.gz"')
    assert world["client"]("admin").get(f"{base}/mariadb/").status_code == 404  # it holds none
    assert world["client"]("admin").get(f"{base}/..%2F..%2Fetc/").status_code == 404


def _restore_failure(site_name: str) -> str:
    return AuditEvent.objects.get(action="site.backup_restore_failed", site_name=site_name).detail["reason"]


@pytest.mark.parametrize("damage", ["changed", "missing"])
def test_a_damaged_or_missing_dump_fails_the_restore_before_anything_is_touched(world, monkeypatch, agent, damage):
    backup = backed_up(world, monkeypatch)
    seed_database(world["site"])
    path = data_backups.dump_file(backup, "postgresql")
    path.write_bytes(b"-- someone else's dump") if damage == "changed" else path.unlink()
    touched = []
    monkeypatch.setattr(dbdump, "restore", lambda *args: touched.append(args))
    engine = FakeEngine()
    data_backups.run_restore(backup.pk, engine)
    assert touched == [] and engine.runs == []  # neither the database nor /data
    assert _restore_failure("shop") == ("its PostgreSQL dump is missing or damaged; "
                                       "/data and the databases were not touched")
    assert not AuditEvent.objects.filter(action="site.backup_restored").exists()


def test_a_backups_database_the_site_no_longer_has_fails_the_restore_clearly(world, monkeypatch, agent):
    backup = backed_up(world, monkeypatch)  # holds a PostgreSQL dump; the site has no database now
    engine = FakeEngine()
    data_backups.run_restore(backup.pk, engine)
    assert engine.runs == []
    assert "holds a PostgreSQL database and the site has none now: attach one first" in _restore_failure("shop")


def test_a_restore_puts_back_the_sites_own_database_then_data_then_restarts(world, monkeypatch, agent):
    backup = backed_up(world, monkeypatch)
    database = seed_database(world["site"])
    order = []
    monkeypatch.setattr(dbdump, "restore", lambda engine, host, kind, name, path, connections, writes, timeout:
                        order.append(("database", host, kind, name, path.read_bytes(), writes)))
    monkeypatch.setattr(volume_backup, "restore_volume", lambda engine, spec, tarball, timeout:
                        order.append(("data", tarball.read_bytes())) or OneOffResult(0, False, "", False))
    monkeypatch.setattr(data_backups.services, "restart", lambda site: order.append(("restart", site.name)))
    data_backups.run_restore(backup.pk, FakeEngine())
    assert order == [("database", "h1", "postgresql", database.name, DUMP, "writable"),
                     ("data", b"tarball of shop's /data"), ("restart", "shop")]
    assert AuditEvent.objects.filter(action="site.backup_restored", site_name="shop").exists()


def test_a_database_that_fails_to_restore_is_reported_and_data_left_alone(world, monkeypatch, agent):
    backup = backed_up(world, monkeypatch)
    seed_database(world["site"])

    def refuse(*args):
        raise dbdump.DumpFailed("restoring site_x failed (exit 3): ERROR:  out of shared memory")

    monkeypatch.setattr(dbdump, "restore", refuse)
    engine = FakeEngine()
    data_backups.run_restore(backup.pk, engine)
    assert engine.runs == []  # /data untouched
    assert _restore_failure("shop") == ("restoring site_x failed (exit 3): ERROR:  out of shared memory; "
                                       "that database may be left empty, /data was not touched")


class FakeAdmin:
    def __init__(self, calls: list) -> None:
        self.calls = calls

    def wait_until_ready(self, host):
        pass

    def set_write_state(self, host, name, state, connections):
        self.calls.append(("write_state", name, state))

    def recreate(self, host, name):
        self.calls.append(("recreate", name))

    def ensure_local_operator(self, host):
        self.calls.append(("operator",))


@pytest.mark.parametrize("kind", ["postgresql", "mariadb"])
@pytest.mark.parametrize("code", [0, 1])
def test_a_databases_restore_locks_recreates_refills_it_alone_and_gives_its_write_state_back(
        monkeypatch, settings, tmp_path, kind, code):
    settings.DATA_DIR = tmp_path
    calls: list = []
    admin = FakeAdmin(calls)
    monkeypatch.setattr(dbdump, "ADMIN", {kind: admin})
    monkeypatch.setattr(dbdump, "dbadmin_mariadb", admin)
    monkeypatch.setattr(dbdump.dbserver, "ensure_server", lambda engine, host, kind: None)
    dbdump.dbserver.server_dir("h1", dbdump.dbserver.KINDS[kind]).mkdir(parents=True)
    dump = tmp_path / "part.sql.gz"
    dump.write_bytes(b"dump")
    engine = FakeEngine(code)
    name = "site_" + "a" * 32

    def restore():
        dbdump.restore(engine, "h1", kind, name, dump, 5, "read_only", 60)

    if code:
        with pytest.raises(dbdump.DumpFailed, match="relation already exists"):
            restore()
    else:
        restore()
    [(_, container, command, user)] = [run for run in engine.runs if run[0] == "exec"]
    assert container == dbdump.dbserver.server_name("h1", dbdump.dbserver.KINDS[kind])
    assert user == {"postgresql": "5432:5432", "mariadb": "3306:3306"}[kind]
    assert command[-1] == name and command[-2].startswith("/var/lib/hosting-db/restore-")
    script = command[command.index("-c") + 1]
    assert ('SET ROLE' in script) if kind == "postgresql" else ("--one-database" in script)
    assert [c for c in calls if c[0] != "operator"] == [("write_state", name, "locked"), ("recreate", name),
                                                        ("write_state", name, "read_only")]
    assert not list(dbdump.dbserver.server_dir("h1", dbdump.dbserver.KINDS[kind]).glob("restore-*"))  # removed


def test_a_name_the_platform_did_not_make_never_reaches_a_command(tmp_path):
    for bad in ("site_x; DROP DATABASE postgres", "postgres", "-Fc"):
        with pytest.raises(ValueError):
            dbdump.dump_command("postgresql", bad)
        with pytest.raises(ValueError):
            dbdump.restore(FakeEngine(), "h1", "mariadb", bad, tmp_path / "x", 5, "writable", 60)
    assert dbdump.dump_command("mariadb", "site_" + "b" * 32, 60)[:3] == ["timeout", "60", "mariadb-dump"]
    assert dbdump.dump_command("mariadb", "site_" + "b" * 32)[-1] == "site_" + "b" * 32
