"""Per-site persistent volumes with a hard disk quota.

Each volume is an ext4 filesystem in a sparse file, loop-mounted on the host; the container gets
the mount point at /data. A write beyond the quota fails with "No space left on device" inside
the filesystem, and the host's own free space is never touched beyond the file's size.

Whatever a tenant writes inside a volume is never walked on the host: the platform only creates,
mounts, grows and removes volumes, and makes first-level folders in volumes whose root it owns.
"""
from __future__ import annotations

import fcntl
import os
import shutil
import stat
from pathlib import Path

from core.commands import run
from core.errors import PlatformError
from core.names import is_dns_label

MOUNT_OPTIONS = "loop,nosuid,nodev,noatime"


def _run(command: list, doing: str) -> None:
    run(command, doing=doing, timeout=120)


class QuotaVolumes:
    """The site volumes of one host, kept under `root` as `<name>.ext4` and mounted at `<name>/`."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root)

    def _paths(self, name: str) -> tuple[Path, Path]:
        if not is_dns_label(name):
            raise ValueError(f"volume name {name!r} is not a lowercase DNS label")
        return self.root / f"{name}.ext4", self.root / name

    def ensure(self, name: str, size_mb: int, owner_uid: int) -> Path:
        """Create, grow and mount the volume as needed; returns its mount point. Idempotent.

        `owner_uid` owns the volume's root folder (0 keeps it root's: see `folder`)."""
        self.root.mkdir(mode=0o700, parents=True, exist_ok=True)
        # Two tasks of one site (two builds, a build and a start) may both find it missing.
        with open(self.root / f".{name}.lock", "w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            return self._ensure(name, size_mb, owner_uid)

    def _ensure(self, name: str, size_mb: int, owner_uid: int) -> Path:
        image, mountpoint = self._paths(name)
        size = size_mb * 1024 * 1024
        if not image.exists():
            with open(image, "wb") as f:
                f.truncate(size)  # sparse: costs the host only what is written
            _run(
                ["mkfs.ext4", "-q", "-F", "-m", "0", "-E", f"root_owner={owner_uid}:{owner_uid}", str(image)],
                f"formatting the volume of {name}",
            )
        mountpoint.mkdir(mode=0o755, exist_ok=True)
        if not os.path.ismount(mountpoint):
            _run(["mount", "-o", MOUNT_OPTIONS, str(image), str(mountpoint)], f"mounting the volume of {name}")
        if image.stat().st_size < size:  # the plan grew: grow the filesystem online
            with open(image, "r+b") as f:
                f.truncate(size)
            device = self._loop_device(mountpoint)
            _run(["losetup", "--set-capacity", device], f"resizing the loop device of {name}")
            _run(["resize2fs", device], f"growing the volume of {name}")
        # The root of the filesystem (not a tenant's path: the mount point itself) has the owner
        # asked for, also for a volume made before sites had uids of their own.
        info = os.lstat(mountpoint)
        if (info.st_uid, info.st_gid) != (owner_uid, owner_uid):
            os.lchown(mountpoint, owner_uid, owner_uid)
        os.chmod(mountpoint, 0o755 if owner_uid == 0 else 0o700)
        return mountpoint

    def folder(self, mountpoint: Path, name: str, owner_uid: int, mode: int = 0o700) -> Path:
        """A first-level folder of a volume whose root is root's, so no tenant can have put a link
        in its place; made once, with `owner_uid` as owner."""
        if not is_dns_label(name):
            raise ValueError(f"folder name {name!r} is not a lowercase DNS label")
        root = os.lstat(mountpoint)
        if root.st_uid != 0 or root.st_mode & 0o022:
            raise PlatformError(f"{mountpoint} is writable by others than root; refusing to make folders in it.")
        path = mountpoint / name
        try:
            os.mkdir(path, mode)
        except FileExistsError:
            pass
        info = os.lstat(path)
        if not stat.S_ISDIR(info.st_mode):
            raise PlatformError(f"{path} is not a folder.")
        if (info.st_uid, info.st_gid) != (owner_uid, owner_uid):
            os.lchown(path, owner_uid, owner_uid)
        os.chmod(path, mode)
        return path

    def _loop_device(self, mountpoint: Path) -> str:
        result = run(["findmnt", "-n", "-o", "SOURCE", mountpoint], doing="finding the volume's loop device",
                     timeout=30, check=False)
        device = result.stdout.strip()
        if not device.startswith("/dev/loop"):
            raise PlatformError(f"{mountpoint} is not a loop-mounted volume ({device or 'not mounted'}).")
        return device

    def remove(self, name: str) -> None:
        """Unmount and delete the volume and its data. Idempotent."""
        image, mountpoint = self._paths(name)
        if os.path.ismount(mountpoint):
            _run(["umount", str(mountpoint)], f"unmounting the volume of {name}")
        if mountpoint.exists():
            shutil.rmtree(mountpoint)
        image.unlink(missing_ok=True)
        (self.root / f".{name}.lock").unlink(missing_ok=True)
