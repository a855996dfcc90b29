"""The edge's own files: written privately and atomically, and its control directory gated to the
platform's group (root's edge and the unprivileged web server share the lock and the route journal)."""
from __future__ import annotations

import grp
import os
from pathlib import Path

from django.conf import settings

from proxy.route_journal import RouteJournal


def atomic_write(path: Path, text: str) -> None:
    temporary = path.with_name(path.name + ".new")
    write_private(temporary, text)
    os.replace(temporary, path)


def write_private(path: Path, text: str) -> None:
    """Write `text` readable by its owner only (the edge's files name every route and domain)."""
    path.unlink(missing_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(text)


def platform_gid() -> int | None:
    """The platform user's group (PLATFORM_USER), or None where it does not exist (development)."""
    try:
        return grp.getgrnam(settings.PLATFORM_USER).gr_gid
    except KeyError:
        return None


def gate_to_platform(directory: Path, lock: Path) -> None:
    """`directory` root:<platform group> 0750, with the lock file the platform may flock in it."""
    directory.mkdir(exist_ok=True)
    if not lock.exists():
        lock.touch(mode=0o640)
    gid = platform_gid()
    RouteJournal.in_directory(directory).create(gid)
    if os.geteuid() == 0 and gid is not None:
        for item in (directory, lock):
            os.chown(item, 0, gid, follow_symlinks=False)
        directory.chmod(0o750)
        lock.chmod(0o640)
    else:
        directory.chmod(0o700)  # not root: only this user
