"""A site's build disk on a host: one quota volume per site, sized by the plan's build_disk_mb.

It holds everything a build can make the host store, so a tenant who writes without end fills its
own quota, never the disk of the database:

    cache/            the dependency caches (the site's uid, 0700), /cache of its builds
    builds/<id>/      one build's source and output (the site's uid), /app of that build's containers
    sources/<id>      the platform's copy of the build's source archive (root's, read-only to builds)
    slugs/<key>/      unpacked slugs, mounted read-only at /app of the site's containers
    trash/<name>/     folders on their way out, emptied by a container as the site's uid

The root and builds/, sources/, slugs/ and trash/ are root's: only the platform names things
there, so no tenant link can stand in for one. The platform never walks what is inside a tenant's
folder: it makes folders, renames them within the volume, mounts them into containers that run as
the site's uid, and has such a container empty them (`discard`).
"""
from __future__ import annotations

import os
import uuid
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings

from hosting.spec import NO_NETWORK, ContainerSpec, Mount
from hosting.images import os_image
from hosting.limits import limits_for_plan
from hosting.volumes import QuotaVolumes
from sites.models import Site


@dataclass(frozen=True)
class Workspace:
    root: Path
    uid: int
    cache: Path
    builds: Path
    sources: Path
    slugs: Path
    trash: Path

    def new_folder(self, parent: Path, name: str) -> Path:
        """A fresh folder for the site's uid inside one of the root's folders."""
        path = parent / name
        os.mkdir(path, 0o755)
        os.chown(path, self.uid, self.uid)
        return path

    def throw_away(self, path: Path) -> None:
        """Move a folder of builds/ or slugs/ to trash/ (a rename: instant, follows nothing);
        `empty_trash` removes its content later."""
        if path.parent not in (self.builds, self.slugs) or not path.exists():
            return
        os.rename(path, self.trash / uuid.uuid4().hex)


def volume_name(site_uuid_hex: str) -> str:
    return f"{site_uuid_hex}-build"


def workspace(site: Site) -> Workspace:
    """The site's build disk on this host, made and mounted when missing, grown with its plan."""
    volumes = QuotaVolumes(settings.VOLUMES_DIR)
    root = volumes.ensure(volume_name(site.uuid.hex), site.plan.build_disk_mb, owner_uid=0)
    return Workspace(
        root=root,
        uid=site.uid,
        cache=volumes.folder(root, "cache", site.uid),
        builds=volumes.folder(root, "builds", 0),
        sources=volumes.folder(root, "sources", 0),
        slugs=volumes.folder(root, "slugs", 0),
        trash=volumes.folder(root, "trash", 0),
    )


def remove_workspace(site_uuid_hex: str) -> None:
    QuotaVolumes(settings.VOLUMES_DIR).remove(volume_name(site_uuid_hex))


# Run as the site's uid over each folder of trash/: make everything writable by its owner (a build
# may leave read-only folders), then delete depth-first without recursion limits.
_EMPTY = 'for d in /trash/*; do chmod -R u+rwX "$d" 2>/dev/null; find "$d" -mindepth 1 -delete; done'
TRASH_BATCH = 20


def empty_trash(site: Site, engine) -> int:
    """Empty and remove the folders in the site's trash/ on this host; returns how many went.

    A container as the site's uid deletes their content, so a hostile tree (links, read-only or
    very deep folders) is never walked by root; root only removes the folders, empty by then."""
    space = workspace(site)
    entries = sorted(os.scandir(space.trash), key=lambda e: e.name)[:TRASH_BATCH]
    folders = [Path(e.path) for e in entries if e.is_dir(follow_symlinks=False)]
    if not folders:
        return 0
    engine.run_once(ContainerSpec(
        site=site.name, release="trash", instance=uuid.uuid4().hex[:12], image=os_image(),
        command=("sh", "-c", _EMPTY), limits=limits_for_plan(site.plan), slug_dir=space.trash, data_dir=None,
        host_port=None, network=NO_NETWORK, uid=site.uid,
        extra_mounts=tuple(Mount(folder, f"/trash/{number}", read_only=False) for number, folder in enumerate(folders)),
    ), timeout=600)
    removed = 0
    for folder in folders:
        try:
            os.rmdir(folder)
            removed += 1
        except OSError:
            pass  # not empty yet: the next round tries again
    return removed
