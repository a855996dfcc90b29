"""A site's build disk on a host: one quota volume per site, sized by the plan's build_disk_mb.

It holds everything a build can make the host store: the unpacked source and the build's output
(`app/`), the dependency caches (`cache/`) and the unpacked slugs the site's containers run
(`slugs/`). A tenant who writes without end fills its own quota, never the disk of the database.

Its root and `slugs/` are root's; `app/` and `cache/` are the site's uid's (0700), so one site's
process cannot read another's. The platform never walks what is inside: it makes these folders,
mounts them into containers that run as the site's uid, and removes whole volumes.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from django.conf import settings

from hosting.volumes import QuotaVolumes
from sites.models import Site


@dataclass(frozen=True)
class Workspace:
    root: Path
    app: Path  # /app of unpack and build containers
    cache: Path  # /cache of build containers
    slugs: Path  # unpacked slugs, one folder each, mounted read-only at /app of the site's containers


def volume_name(site_uuid_hex: str) -> str:
    return f"{site_uuid_hex}-build"


def workspace(site: Site) -> Workspace:
    """The site's build disk on this host, made and mounted when missing, grown with its plan."""
    volumes = QuotaVolumes(settings.VOLUMES_DIR)
    root = volumes.ensure(volume_name(site.uuid.hex), site.plan.build_disk_mb, owner_uid=0)
    return Workspace(
        root=root,
        app=volumes.folder(root, "app", site.uid),
        cache=volumes.folder(root, "cache", site.uid),
        slugs=volumes.folder(root, "slugs", 0),
    )


def remove_workspace(site_uuid_hex: str) -> None:
    QuotaVolumes(settings.VOLUMES_DIR).remove(volume_name(site_uuid_hex))
