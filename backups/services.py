"""Back up the platform's own state into one archive, and restore it onto a fresh machine.

What is in a backup and what is not is listed in the README (Backup and restore). In short: the
database, the secrets, the sites' git repositories, the slugs of the releases a site runs or can
roll back to, the issued certificates with certbot's account, and the support tickets' attachments. Not in it: what the platform
makes again from those (the edge's config and routes, unpacked slugs, build caches, images), and
the sites' /data volumes, which are the tenants' own content (the root agent never reads them).
"""
from __future__ import annotations

import errno
import json
import logging
import os
import shutil
import tarfile
import tempfile
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

from django.conf import settings
from django.db import connection

from core.commands import CommandFailed, run
from accounts.models import Organization
from backups import archive
from backups.archive import BackupRefused
from backups.database import (
    applied_migrations,
    database_has_platform_data,
    dump_database,
    load_database,
    one_moment,
    unknown_migrations,
)
from backups.retention import backup_name
from hosting.models import Host
from proxy.models import Certificate
from sites.git import Repository
from sites.models import Release, Site, Slug
from sites.pipeline.release import slug_tarball_path
from sites.slugs import kept_slug_ids

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Part:
    """A folder of the platform's files, kept in the archive under `name`."""

    name: str
    path: Path


def file_parts() -> list[Part]:
    data = Path(settings.DATA_DIR)
    return [Part("secrets", data / "secrets"), Part("git", Path(settings.GIT_ROOT)),
            Part(archive.SLUGS, Path(settings.SLUGS_DIR)), Part("certs", Path(settings.CERTS_DIR)),
            Part("letsencrypt", data / "letsencrypt"), Part("support", Path(settings.SUPPORT_DIR))]


def platform_revision() -> str:
    try:
        result = run(["git", "rev-parse", "HEAD"], doing="reading the platform's revision", timeout=30,
                     cwd=settings.BASE_DIR, check=False)
    except CommandFailed:  # no git, or it hung: the archive still says what it can
        return "unknown"
    return result.stdout.strip() if result.returncode == 0 else "unknown"


def _snapshot(dump: Path) -> dict:
    """Dump the database and read what the archive must hold, all in one moment of it."""
    with one_moment():
        dump_database(dump)
        sites = list(Site.objects.order_by("pk"))
        kept = set().union(*(kept_slug_ids(site) for site in sites)) if sites else set()
        return {
            "database_engine": connection.vendor,
            "counts": {"organizations": Organization.objects.count(), "sites": len(sites),
                       "releases": Release.objects.count(), "slugs": len(kept),
                       "certificates": Certificate.objects.filter(state=Certificate.State.ISSUED).count()},
            "hosts": sorted(Host.objects.values_list("name", flat=True)),
            "site_uuids": [site.uuid.hex for site in sites],
            "slugs": sorted(set(Slug.objects.filter(pk__in=kept).values_list("sha256", flat=True))),
            "migrations": applied_migrations(),
        }


def create_backup(directory: Path, now: datetime | None = None) -> tuple[Path, dict]:
    """Write one archive of the platform's state into `directory`; returns its path and manifest.

    Slug tarballs that are not on this machine (built on another host) are named in the
    manifest's `missing_slugs`: their sites need a new deploy after a restore."""
    now = now or datetime.now(timezone.utc)
    directory.mkdir(mode=0o700, parents=True, exist_ok=True)
    target = directory / backup_name(now)
    staging = Path(tempfile.mkdtemp(prefix=".backup-", dir=directory))
    partial = directory / f".{target.name}.partial"
    try:
        facts = _snapshot(staging / archive.DATABASE)
        present = _hold_slugs(facts["slugs"], staging / archive.SLUGS)
        manifest = {
            "format": archive.FORMAT, "format_version": archive.FORMAT_VERSION, "created": now.isoformat(),
            "platform_revision": platform_revision(), "database_engine": facts["database_engine"],
            "counts": facts["counts"], "hosts": facts["hosts"], "migrations": facts["migrations"],
            "slugs": present, "missing_slugs": sorted(set(facts["slugs"]) - set(present)),
        }
        # Level 1: slugs and git objects are compressed already; more would only cost time.
        with archive.open_private(partial) as out, tarfile.open(fileobj=out, mode="w:gz", compresslevel=1) as tar:
            archive.add_bytes(tar, archive.MANIFEST, json.dumps(manifest, indent=2).encode())
            tar.add(staging / archive.DATABASE, archive.DATABASE)
            tar.add(staging / archive.SLUGS, archive.SLUGS)
            _add_files(tar, facts["site_uuids"])
        os.replace(partial, target)
    finally:
        partial.unlink(missing_ok=True)
        shutil.rmtree(staging, ignore_errors=True)
    return target, manifest


def _hold_slugs(shas: list[str], folder: Path) -> list[str]:
    """Link (or copy, across filesystems) the slugs into the staging folder at once, so that one
    the agent forgets while the archive is written is still in it; returns those on this machine."""
    folder.mkdir(mode=0o700)
    present = []
    for sha in shas:
        try:
            try:
                os.link(slug_tarball_path(sha), folder / f"{sha}.tar.gz")
            except OSError as exc:
                if exc.errno != errno.EXDEV:
                    raise
                shutil.copyfile(slug_tarball_path(sha), folder / f"{sha}.tar.gz")
        except FileNotFoundError:
            continue
        present.append(sha)
    return present


def _add_files(tar: tarfile.TarFile, site_uuids: list[str]) -> None:
    parts = {part.name: part.path for part in file_parts()}
    if parts["secrets"].is_dir():
        tar.add(parts["secrets"], "secrets")
    for uuid_hex in site_uuids:
        repository = Repository(uuid_hex).path
        if repository.is_dir():
            archive.add_repository(tar, repository, f"git/{repository.name}")
    if parts["certs"].is_dir():
        tar.add(parts["certs"], "certs")
    if parts["support"].is_dir():  # the tickets' attachments, under the names their rows hold
        tar.add(parts["support"], "support")
    # certbot's config holds the account and the certificates; its work and logs are not state.
    if (parts["letsencrypt"] / "config").is_dir():
        tar.add(parts["letsencrypt"] / "config", "letsencrypt/config")


def restore_backup(path: Path, force: bool = False) -> dict:
    """Restore the archive at `path` into this machine's (empty) database and data directory;
    returns its manifest. Raises BackupRefused, changing nothing, when the archive is not a whole
    backup this platform can read or the target already holds a platform (unless `force`)."""
    try:
        tar = tarfile.open(path, "r:gz")
    except (OSError, tarfile.TarError) as exc:
        raise BackupRefused(f"{path} cannot be read as a backup archive ({exc}).") from None
    with tar:
        manifest = archive.read_manifest(tar)
        newer = unknown_migrations(manifest.get("migrations", {}))
        if newer:
            raise BackupRefused(f"This backup was made by a newer platform (revision {manifest.get('platform_revision')}, "
                                f"migration {newer[0]}); restore it with that revision or a later one.")
        if not force:
            refuse_if_not_empty()
        staging = Path(tempfile.mkdtemp(prefix=".restore-", dir=settings.DATA_DIR))
        try:
            # Our own archive, written by root: owners and modes are kept (the edge's workers read
            # the certificates by group); paths leaving the folder are refused all the same.
            archive.check_members(tar)
            tar.extractall(staging)
            archive.check_slugs(staging, manifest)
            load_database(staging / archive.DATABASE)
            for part in file_parts():
                _put_in_place(staging / part.name, part.path)
        finally:
            shutil.rmtree(staging, ignore_errors=True)
    return manifest


def refuse_if_not_empty() -> None:
    """A restore replaces the database and files: never over a platform that holds sites. The
    secrets of a fresh machine do not count: every process makes them on first start."""
    if database_has_platform_data():
        raise BackupRefused("The database already holds organizations or sites; restore into an empty one "
                            "(or pass --force to replace them).")
    repositories = Path(settings.GIT_ROOT)
    if repositories.is_dir() and any(repositories.glob("*.git")):
        raise BackupRefused(f"{repositories} already holds git repositories; restore into an empty data directory "
                            "(or pass --force to replace them).")


def _put_in_place(source: Path, target: Path) -> None:
    """Move each entry of `source` into `target`, replacing an entry of the same name."""
    if not source.is_dir():
        return
    target.mkdir(mode=0o700, parents=True, exist_ok=True)
    for entry in source.iterdir():
        destination = target / entry.name
        if destination.is_dir() and not destination.is_symlink():
            shutil.rmtree(destination)
        elif destination.exists() or destination.is_symlink():
            destination.unlink()
        shutil.move(str(entry), str(destination))
