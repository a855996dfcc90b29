"""The backup archive: one tar.gz holding a manifest, the database dump and the platform's files.

    manifest.json        format, platform revision, time, database engine, counts, slugs, migrations
    database.json        the logical dump (backups.database)
    secrets/             DATA_DIR/secrets: SECRET_KEY, FERNET_KEY (env values decrypt with it), staff login
    git/<uuid>.git/      the sites' repositories
    slugs/<sha256>.tar.gz  the slugs of the releases a site can still run or roll back to
    certs/, letsencrypt/   issued certificates and keys, certbot's account (cannot be made again)

It is written to a hidden temporary name, mode 0600 from the start, and renamed when complete, so
a backup that exists is whole.
"""
from __future__ import annotations

import hashlib
import io
import json
import os
import tarfile
from pathlib import Path, PurePosixPath
from typing import IO

FORMAT = "hosting-backup"
FORMAT_VERSION = 1
MANIFEST = "manifest.json"
DATABASE = "database.json"
SLUGS = "slugs"


class BackupRefused(Exception):
    """The archive cannot be restored here; the message says why in one sentence."""


def open_private(path: Path) -> IO[bytes]:
    """A new file only its owner (root) may read: the archive holds every secret of the platform."""
    return os.fdopen(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600), "wb")


def add_bytes(tar: tarfile.TarFile, name: str, data: bytes) -> None:
    info = tarfile.TarInfo(name)
    info.size, info.mode = len(data), 0o600
    tar.addfile(info, io.BytesIO(data))


def add_repository(tar: tarfile.TarFile, repository: Path, arcname: str) -> None:
    """Refs before objects: a push that lands meanwhile may add objects the copied refs do not
    name yet, but never a copied ref whose objects were not copied (git writes objects first)."""
    first = [name for name in ("HEAD", "packed-refs", "refs") if (repository / name).exists()]
    for name in first + sorted(set(os.listdir(repository)) - set(first)):
        tar.add(repository / name, f"{arcname}/{name}")


def check_members(tar: tarfile.TarFile) -> None:
    """Every entry stays inside the folder it is unpacked into: no absolute or `..` path, no link
    leading out, nothing but files, folders and links (Python 3.11.2 has no extraction filters)."""
    for member in tar.getmembers():
        path = PurePosixPath(member.name)
        if path.is_absolute() or ".." in path.parts:
            raise BackupRefused(f"The backup holds an entry outside its folders ({member.name}); it is not ours.")
        if member.issym() or member.islnk():
            target = PurePosixPath(member.linkname) if member.islnk() else path.parent / member.linkname
            if target.is_absolute() or _climbs_out(target):
                raise BackupRefused(f"The backup holds a link leading out of its folders ({member.name}); it is not ours.")
        elif not (member.isfile() or member.isdir()):
            raise BackupRefused(f"The backup holds a device or pipe ({member.name}); it is not ours.")


def _climbs_out(path: PurePosixPath) -> bool:
    depth = 0
    for part in path.parts:
        depth += -1 if part == ".." else (0 if part == "." else 1)
        if depth < 0:
            return True
    return False


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(1024 * 1024):
            digest.update(chunk)
    return digest.hexdigest()


def read_manifest(tar: tarfile.TarFile) -> dict:
    try:
        member = tar.extractfile(MANIFEST)
        manifest = json.load(member) if member else None
    except (KeyError, ValueError):
        manifest = None
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        raise BackupRefused("This file is not a backup of this platform (it has no readable manifest).")
    if manifest.get("format_version") != FORMAT_VERSION:
        raise BackupRefused(f"This backup has format version {manifest.get('format_version')}; this platform "
                            f"restores version {FORMAT_VERSION} only.")
    return manifest


def check_slugs(unpacked: Path, manifest: dict) -> None:
    """Every slug the manifest lists is in the archive, and each file there matches its sha256."""
    folder = unpacked / SLUGS
    present = {path.name.removesuffix(".tar.gz"): path for path in folder.glob("*.tar.gz")} if folder.is_dir() else {}
    for sha in manifest.get("slugs", []):
        if sha not in present:
            raise BackupRefused(f"The slug {sha[:12]} listed in the manifest is missing from the backup.")
    for sha, path in present.items():
        if sha256_of(path) != sha:
            raise BackupRefused(f"The slug {sha[:12]} in the backup does not match its sha256; the backup is damaged.")
