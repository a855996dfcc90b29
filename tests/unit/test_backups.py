"""Backups: retention, the manifest and slug checks, refusing a target that holds a platform, and a
round trip through the test database (rows, files, and fresh ids after the restore)."""
from __future__ import annotations

import gzip
import hashlib
import json
import os
import shutil
import tarfile
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command
from django.db import connection

from accounts.models import Organization, Plan
from accounts.services import create_organization
from backups import archive
from backups.archive import BackupRefused, check_slugs
from backups.database import one_moment
from backups.retention import backup_name, backups_to_delete
from backups.services import create_backup, restore_backup
from backups.tasks import nightly_backup
from core.routing import PROXY_QUEUE
from sites.pipeline.machine import create_release
from sites.models import Release, Site, Slug
from sites.services import create_site
from tests.integration.support.deploying import seed_plans

NOW = datetime(2026, 11, 27, 3, 0, tzinfo=timezone.utc)


@pytest.fixture
def data_dir(settings, tmp_path):
    data = tmp_path / "data"
    (data / "secrets").mkdir(parents=True)
    settings.DATA_DIR = data
    settings.GIT_ROOT = data / "git"
    settings.SLUGS_DIR = data / "slugs"
    settings.CERTS_DIR = data / "certs"
    settings.SUPPORT_DIR = data / "support"
    return data


def _backup_files(directory: Path, ages_in_days: list[float]) -> list[Path]:
    paths = [directory / backup_name(NOW - timedelta(days=age)) for age in ages_in_days]
    for path in paths:
        path.write_bytes(b"x")
    return paths


def test_it_deletes_backups_older_than_the_kept_days_only(tmp_path):
    fresh, last_day, old, older = _backup_files(tmp_path, [0.5, 13.9, 14.1, 30])
    (tmp_path / "backup-notes.txt").write_text("the operator's")

    assert sorted(backups_to_delete(tmp_path, 14, NOW)) == sorted([old, older])


def test_it_keeps_the_newest_backup_however_old(tmp_path):
    newest, oldest = _backup_files(tmp_path, [20, 40])

    assert backups_to_delete(tmp_path, 14, NOW) == [oldest]


def _archive_with(tmp_path: Path, manifest: dict | None) -> Path:
    path = tmp_path / "backup.tar.gz"
    with tarfile.open(path, "w:gz") as tar:
        if manifest is not None:
            archive.add_bytes(tar, archive.MANIFEST, json.dumps(manifest).encode())
    return path


def test_it_refuses_an_archive_without_a_manifest_or_of_another_format_version(tmp_path, data_dir, db):
    with pytest.raises(BackupRefused, match="not a backup of this platform"):
        restore_backup(_archive_with(tmp_path, None))
    with pytest.raises(BackupRefused, match="format version 99"):
        restore_backup(_archive_with(tmp_path, {"format": archive.FORMAT, "format_version": 99}))
    (tmp_path / "plain.tar.gz").write_bytes(gzip.compress(b"not a tar"))
    with pytest.raises(BackupRefused, match="cannot be read"):
        restore_backup(tmp_path / "plain.tar.gz")


def test_it_refuses_a_backup_of_a_newer_platform(tmp_path, data_dir, db):
    manifest = {"format": archive.FORMAT, "format_version": archive.FORMAT_VERSION,
                "migrations": {"sites": ["9999_from_the_future"]}}
    with pytest.raises(BackupRefused, match="newer platform"):
        restore_backup(_archive_with(tmp_path, manifest))


def _slug_file(folder: Path, content: bytes, name: str | None = None) -> str:
    folder.mkdir(parents=True, exist_ok=True)
    sha = hashlib.sha256(content).hexdigest()
    (folder / f"{name or sha}.tar.gz").write_bytes(content)
    return sha


def test_it_refuses_a_slug_that_does_not_match_its_checksum_or_is_missing(tmp_path):
    good = _slug_file(tmp_path / "slugs", b"good slug")
    check_slugs(tmp_path, {"slugs": [good]})

    with pytest.raises(BackupRefused, match="is missing"):
        check_slugs(tmp_path, {"slugs": [good, "a" * 64]})
    _slug_file(tmp_path / "slugs", b"tampered", name="b" * 64)
    with pytest.raises(BackupRefused, match="does not match its sha256"):
        check_slugs(tmp_path, {"slugs": [good]})


WWW_DATA_GID = 33  # Debian's www-data


def _certificate_key(data_dir: Path) -> Path:
    key = data_dir / "certs" / "shop.example.com" / "privkey.pem"
    key.parent.mkdir(parents=True)
    key.write_text("KEY")
    os.chown(key, 0, WWW_DATA_GID)
    key.chmod(0o640)
    (data_dir / "letsencrypt" / "config" / "accounts").mkdir(parents=True)
    (data_dir / "letsencrypt" / "config" / "accounts" / "account.json").write_text("{}")
    return key


def _deployed_site(data_dir: Path) -> Site:
    seed_plans(Plan)  # an earlier transactional test may have flushed what migrations seeded
    site = create_site(create_organization("acme", "owner@example.com"), "shop")
    sha = _slug_file(data_dir / "slugs", b"the slug of v1")
    release = create_release(site, Slug.objects.create(site=site, sha256=sha, size_bytes=14, runtime="static",
                                                       source="x"), "cfg", "Deploy")
    Site.objects.filter(pk=site.pk).update(current_release=release)
    assert (data_dir / "git" / f"{site.uuid.hex}.git" / "HEAD").exists()  # create_site made the repository
    return site


def test_it_refuses_a_target_that_holds_a_platform_unless_forced(tmp_path, data_dir, transactional_db):
    _deployed_site(data_dir)
    path, _ = create_backup(tmp_path / "backups")

    with pytest.raises(BackupRefused, match="already holds organizations or sites"):
        restore_backup(path)
    Site.objects.all().delete()
    Organization.objects.all().delete()
    with pytest.raises(BackupRefused, match="already holds git repositories"):
        restore_backup(path)
    restore_backup(path, force=True)
    assert Site.objects.filter(name="shop").exists()


def test_it_restores_rows_and_files_and_new_rows_get_fresh_ids(tmp_path, data_dir, transactional_db):
    site = _deployed_site(data_dir)
    (data_dir / "secrets" / "fernet_key").write_text("the key\n")
    key = _certificate_key(data_dir)
    (data_dir / "support").mkdir(mode=0o700)
    (data_dir / "support" / "3f2a9c").write_bytes(b"a customer's screenshot")
    path, manifest = create_backup(tmp_path / "backups")
    assert path.stat().st_mode & 0o777 == 0o600
    assert manifest["counts"]["sites"] == 1 and len(manifest["slugs"]) == 1
    old_release_id = Release.objects.get().pk
    for folder in ("git", "slugs", "secrets", "certs", "letsencrypt", "support"):
        for entry in (data_dir / folder).iterdir():
            entry.unlink() if entry.is_file() else shutil.rmtree(entry)
    call_command("flush", interactive=False, verbosity=0)

    restore_backup(path)

    restored = Site.objects.get(name="shop")
    assert (restored.uuid, restored.current_release_id) == (site.uuid, old_release_id)
    assert (data_dir / "secrets" / "fernet_key").read_text() == "the key\n"
    assert (data_dir / "git" / f"{site.uuid.hex}.git" / "HEAD").exists()
    assert (data_dir / "slugs" / f"{manifest['slugs'][0]}.tar.gz").exists()
    assert (data_dir / "letsencrypt" / "config" / "accounts" / "account.json").read_text() == "{}"
    assert (data_dir / "support" / "3f2a9c").read_bytes() == b"a customer's screenshot"
    # nginx's workers read keys through their group: owner, group and mode come back as they were.
    restored_key = key.stat()
    assert (restored_key.st_gid, restored_key.st_mode & 0o777, key.read_text()) == (WWW_DATA_GID, 0o640, "KEY")
    newer = create_release(restored, restored.current_release.slug, "cfg", "After the restore")
    assert newer.pk > old_release_id


def test_it_runs_the_nightly_backup_as_root_and_deletes_the_old_ones(tmp_path, data_dir, settings, transactional_db):
    settings.BACKUP_DIR = tmp_path / "backups"
    settings.BACKUP_KEEP_DAYS = 14
    settings.BACKUP_DIR.mkdir()
    old = _backup_files(settings.BACKUP_DIR, [20])[0]

    made = Path(nightly_backup())

    assert made.exists() and not old.exists()
    entry = settings.CELERY_BEAT_SCHEDULE["nightly-backup"]
    assert entry["task"] == nightly_backup.name and entry["options"]["queue"] == PROXY_QUEUE


def test_the_restore_command_refuses_in_one_sentence(tmp_path, data_dir, db):
    (tmp_path / "plain.tar.gz").write_bytes(b"not even gzip")

    with pytest.raises(CommandError, match=r"^Nothing was restored: .* cannot be read as a backup archive .*\.$"):
        call_command("restore", str(tmp_path / "plain.tar.gz"))


def test_it_dumps_the_database_from_one_snapshot(transactional_db):
    with one_moment(), connection.cursor() as cursor:
        cursor.execute("SHOW transaction_isolation")
        isolation = cursor.fetchone()[0]

    assert isolation == "repeatable read"  # PostgreSQL's default would take a snapshot per statement
