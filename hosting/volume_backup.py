"""A site volume (/data) into a tarball and back, by the Docker daemon and the site's own uid.

Packing: the daemon exports /data from a container that mounts it (the tar is made inside the
container's view, so the root agent never walks the tenant's files) and hosting/packing.py bounds
and hashes it. Restoring: a one-off container as the site's uid empties /data and unpacks the
tarball into it, so whatever the tarball holds lands only where that uid may write."""
from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from hosting import packing
from hosting.engine import ContainerEngine
from hosting.spec import ContainerSpec, Mount, OneOffResult

TARBALL_IN_CONTAINER = "/restore.tar.gz"
# Fixed text, no tenant input. Make everything the site's uid owns writable to it first (an app may
# leave read-only folders), empty /data, then unpack; the tarball's entries are data/<path>. The
# volume's lost+found is its filesystem's (root's, from mkfs): left alone, and not unpacked over.
RESTORE = ("set -e; chmod -R u+rwX /data 2>/dev/null || true; "
           "find /data -mindepth 1 -maxdepth 1 ! -name lost+found -exec rm -rf -- {} +; "
           f"tar -xzf {TARBALL_IN_CONTAINER} -C /data --strip-components=1 --anchored --exclude=data/lost+found")


def pack_volume(engine: ContainerEngine, spec: ContainerSpec, folder: Path, max_bytes: int,
                deadline: float) -> packing.Packed:
    """/data of `spec` (a container that runs `true`) gzipped into a temporary file of `folder`."""
    engine.run_once(spec, timeout=60, keep=True)  # it only has to exist for the daemon to export /data
    try:
        packed: dict[str, packing.Packed] = {}
        engine.export(spec.name, "/data",
                      lambda tar: packed.setdefault("file", packing.pack(tar, folder, max_bytes, deadline)))
        return packed["file"]
    finally:
        engine.remove(spec.name)


def restore_volume(engine: ContainerEngine, spec: ContainerSpec, tarball: Path, timeout: float) -> OneOffResult:
    """Replace /data of `spec` with the tarball's content, as the spec's uid."""
    restoring = replace(spec, command=("bash", "-c", RESTORE),
                        extra_mounts=(*spec.extra_mounts, Mount(tarball, TARBALL_IN_CONTAINER, read_only=True)))
    return engine.run_once(restoring, timeout=timeout)
