"""Unpacking source archives (.tar, .tar.gz, .zip) safely.

Every member is checked before anything is written: no absolute paths, no `..`, no devices, no
links that point outside the archive root, and no more bytes or files than allowed. Members are
written by us (never by tarfile.extract), with plain permissions.
"""
from __future__ import annotations

import os
import posixpath
import stat
import tarfile
import zipfile
from dataclasses import dataclass
from pathlib import Path

from hosting.errors import CustomerError

MAX_FILES = 100_000


class ArchiveRejected(CustomerError):
    pass


@dataclass
class Member:
    name: str  # normalised relative path
    kind: str  # "file", "dir", "symlink", "hardlink"
    mode: int
    size: int
    target: str = ""  # link target
    reader: object = None  # callable returning a file object for files


def _normalise(name: str) -> str:
    if "\x00" in name:
        raise ArchiveRejected(f"The archive has an invalid path: {name!r}.")
    if name.startswith("/") or (len(name) > 1 and name[1] == ":"):
        raise ArchiveRejected(f"The archive has an absolute path: {name!r}.")
    parts = [p for p in name.split("/") if p not in ("", ".")]
    if ".." in parts:
        raise ArchiveRejected(f"The archive has a path that escapes its root: {name!r}.")
    return "/".join(parts)


def _check_link(member: Member) -> None:
    target = member.target
    if not target or target.startswith("/"):
        raise ArchiveRejected(f"The link {member.name!r} points outside the archive ({target!r}).")
    base = posixpath.dirname(member.name) if member.kind == "symlink" else ""
    resolved = posixpath.normpath(posixpath.join(base, target))
    if resolved == ".." or resolved.startswith("../") or resolved.startswith("/"):
        raise ArchiveRejected(f"The link {member.name!r} points outside the archive ({target!r}).")


def _tar_members(archive: tarfile.TarFile):
    for info in archive:
        name = _normalise(info.name)
        if not name:
            continue
        if info.isdir():
            yield Member(name, "dir", info.mode, 0)
        elif info.isreg():
            yield Member(name, "file", info.mode, info.size, reader=lambda info=info: archive.extractfile(info))
        elif info.issym():
            yield Member(name, "symlink", info.mode, 0, target=info.linkname)
        elif info.islnk():
            yield Member(name, "hardlink", info.mode, 0, target=_normalise(info.linkname))
        else:
            raise ArchiveRejected(f"The archive has a device, pipe or other special file: {info.name!r}.")


def _zip_members(archive: zipfile.ZipFile):
    for info in archive.infolist():
        name = _normalise(info.filename)
        if not name:
            continue
        mode = (info.external_attr >> 16) & 0xFFFF
        if info.is_dir():
            yield Member(name, "dir", 0o755, 0)
        elif stat.S_ISLNK(mode):
            yield Member(name, "symlink", 0o777, 0, target=archive.read(info).decode(errors="replace"))
        else:
            yield Member(name, "file", mode & 0o777 or 0o644, info.file_size, reader=lambda info=info: archive.open(info))


def _open(path: Path):
    with open(path, "rb") as f:
        head = f.read(512)
    if head.startswith(b"PK"):
        archive = zipfile.ZipFile(path)
        return archive, _zip_members(archive)
    try:
        archive = tarfile.open(path, mode="r:*")
    except tarfile.TarError:
        raise ArchiveRejected("The upload is not a .tar.gz, .tar or .zip archive.") from None
    return archive, _tar_members(archive)


def _strip_common_root(members: list[Member]) -> list[Member]:
    """`project-main/...` archives (as code hosts make them) unpack as if made inside that folder."""
    tops = {m.name.split("/")[0] for m in members}
    if len(tops) != 1 or not any("/" in m.name for m in members):
        return members
    top = tops.pop()
    if any(m.name == top and m.kind != "dir" for m in members):
        return members
    stripped = []
    for m in members:
        if m.name == top:
            continue
        m.name = m.name[len(top) + 1:]
        if m.kind == "hardlink" and m.target.startswith(top + "/"):
            m.target = m.target[len(top) + 1:]
        stripped.append(m)
    return stripped


def extract_archive(path: Path, destination: Path, max_bytes: int, owner_uid: int | None = None) -> int:
    """Unpack `path` into the empty directory `destination`; returns the number of files."""
    archive, iterator = _open(path)
    with archive:
        members, total = [], 0
        try:
            for member in iterator:
                members.append(member)
                total += member.size
                if len(members) > MAX_FILES:
                    raise ArchiveRejected(f"The archive has more than {MAX_FILES} files.")
                if total > max_bytes:
                    raise ArchiveRejected(f"The archive unpacks to more than {max_bytes // 2**20} MB, your plan's limit.")
        except (tarfile.TarError, zipfile.BadZipFile, EOFError, OSError) as exc:
            raise ArchiveRejected(f"The archive is damaged: {exc}") from None
        members = _strip_common_root(members)
        files = {m.name for m in members if m.kind == "file"}
        for member in members:
            if member.kind == "symlink":
                _check_link(member)
            elif member.kind == "hardlink" and member.target not in files:
                raise ArchiveRejected(f"The link {member.name!r} points outside the archive ({member.target!r}).")
        destination.mkdir(parents=True, exist_ok=True)
        root = destination.resolve()
        for member in members:
            target = root / member.name
            if not str(target.resolve().parent).startswith(str(root)):
                raise ArchiveRejected(f"The path {member.name!r} goes through a link; that is not allowed.")
            if member.kind == "dir":
                target.mkdir(parents=True, exist_ok=True)
                continue
            target.parent.mkdir(parents=True, exist_ok=True)
            if target.is_symlink() or target.exists():
                if target.is_dir() and not target.is_symlink():
                    raise ArchiveRejected(f"The archive has {member.name!r} both as a folder and a file.")
                target.unlink()
            if member.kind == "symlink":
                os.symlink(member.target, target)
            elif member.kind == "hardlink":
                os.link(root / member.target, target)
            else:
                with member.reader() as source, open(target, "wb") as out:
                    while chunk := source.read(1024 * 1024):
                        out.write(chunk)
                target.chmod(0o755 if member.mode & 0o111 else 0o644)
        for directory in [root, *[p for p in root.rglob("*") if p.is_dir() and not p.is_symlink()]]:
            directory.chmod(0o755)
        if owner_uid is not None:
            for item in [root, *root.rglob("*")]:
                os.lchown(item, owner_uid, owner_uid)
        return len(files)
