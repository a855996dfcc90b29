"""Sentinel files on the host: planted before an attack, checked after it.

A sentinel records what an attacker would change on a host file it reached: owner, group, mode,
link count, size and content. `assert_untouched` fails with what changed.
"""
from __future__ import annotations

import hashlib
import os
import stat
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Fingerprint:
    uid: int
    gid: int
    mode: int
    nlink: int
    size: int
    sha256: str


def fingerprint(path: Path) -> Fingerprint:
    info = os.lstat(path)
    digest = hashlib.sha256(path.read_bytes()).hexdigest() if stat.S_ISREG(info.st_mode) else ""
    return Fingerprint(info.st_uid, info.st_gid, stat.S_IMODE(info.st_mode) | stat.S_IFMT(info.st_mode),
                       info.st_nlink, info.st_size, digest)


class Sentinels:
    """Files and a folder planted under `root` (root-owned, mode 0600/0700), fingerprinted."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.root.mkdir(parents=True, exist_ok=True)
        os.chmod(self.root, 0o755)
        self.secret = self.root / "secret.txt"
        self.secret.write_text("host secret: must never be read, linked, chowned or served\n")
        os.chmod(self.secret, 0o600)
        self.folder = self.root / "folder"
        self.folder.mkdir(exist_ok=True)
        os.chmod(self.folder, 0o700)
        (self.folder / "inside.txt").write_text("inside a host folder\n")
        os.chmod(self.folder / "inside.txt", 0o600)
        self._before = self.snapshot()

    def snapshot(self) -> dict[str, Fingerprint]:
        found = {}
        for path in [self.root, *sorted(self.root.rglob("*"))]:
            found[str(path.relative_to(self.root))] = fingerprint(path)
        return found

    def assert_untouched(self) -> None:
        after = self.snapshot()
        assert after == self._before, f"host sentinels changed: before {self._before}, after {after}"
