"""Running releases, on a host's agent: unpack the slug, run the release phase, and have the fleet
start the instance and wait until it is healthy (hosting/instances.py).

The slug is the tenant's build output: it is unpacked by a one-off container as the site's uid
(never by the root agent), into a folder of the site's build disk that the site's containers then
mount read-only at /app. Writable paths are links in that folder, /app/<path> -> /data/writable/<path>,
made when unpacking; the folders in /data are made and seeded inside the site's own container
(seed-writable), so nothing under /data is ever resolved on the host.
"""
from __future__ import annotations

import hashlib
import logging
import os
import time
import uuid
from pathlib import Path

from django.conf import settings
from django.core.exceptions import ValidationError

from core.errors import CustomerError, HostingError, PlatformError
from hosting import instances as fleet
from hosting import slug_cache
from hosting.engine import ContainerEngine
from hosting.images import PLATFORM_SCRIPTS, runtime_image
from hosting.limits import limits_for_plan, network_for_plan
from hosting.models import Host, Instance
from hosting.readiness import HealthCheck
from hosting.runtimes import CATALOG
from hosting.spec import NO_NETWORK, ContainerSpec, Mount
from hosting.volumes import QuotaVolumes
from proxy import services as proxy
from sites.config_crypto import decrypt_config
from sites.database_env import database_networks
from sites.logstream import DeploymentLog
from sites.models import Deployment, Release, Site, Slug
from sites.validation import validate_writable_paths
from sites.workspace import Workspace, remove_workspace, workspace

log = logging.getLogger(__name__)

SLUG_IN_CONTAINER = "/slug.tar.gz"


class ReleasePhaseFailed(CustomerError):
    pass


class SlugDamaged(PlatformError):
    pass


def slug_tarball_path(sha256: str) -> Path:
    return Path(settings.SLUGS_DIR) / f"{sha256}.tar.gz"


def slugs_in_use_here() -> set[str]:
    """Slugs of the sites whose instance runs on this host: the slug cache never evicts them."""
    return set(Site.objects.filter(current_instance__host__name=settings.HOST_NAME)
               .values_list("current_release__slug__sha256", flat=True))


def verify_slug(slug: Slug) -> Path:
    """The slug's tarball on this host, checked against its sha256 (the agent made it; a disk
    error or a tampered file must not start). A host without the control plane's disk fetches it
    into its cache first (verified there)."""
    if slug_cache.remote():
        try:
            return slug_cache.ensure(slug.sha256, keep=slugs_in_use_here())
        except slug_cache.ControlPlaneUnreachable:
            raise  # transient: the start task retries with backoff
        except slug_cache.SlugUnavailable as exc:
            raise SlugDamaged(f"The slug {slug.sha256[:12]} could not be fetched: {exc}") from None
    tarball = slug_tarball_path(slug.sha256)
    try:
        actual = slug_cache.file_sha256(tarball)
    except FileNotFoundError:
        raise SlugDamaged(f"The slug {slug.sha256[:12]} is not on this host.") from None
    if actual != slug.sha256:
        raise SlugDamaged(f"The slug {slug.sha256[:12]} on this host does not match its checksum.")
    return tarball


def unpacked_slug(site: Site, slug: Slug, paths: list[str], engine: ContainerEngine, space: Workspace) -> Path:
    """The slug unpacked for `paths` on the site's build disk; unpacked by a container the first time."""
    key = f"{slug.sha256[:40]}-{hashlib.sha256(':'.join(paths).encode()).hexdigest()[:12]}"
    target = space.slugs / key
    if target.is_dir():  # slugs/ is root's: only this code puts folders there
        os.utime(target)  # in use again: old-slug housekeeping leaves it alone
        return target
    tarball = verify_slug(slug)
    temporary = space.new_folder(space.slugs, f".{uuid.uuid4().hex}")
    try:
        result = engine.run_once(ContainerSpec(
            site=site.name, release="slug", instance=temporary.name[1:13], image=runtime_image(slug.runtime),
            command=(f"{PLATFORM_SCRIPTS}/unpack-slug", SLUG_IN_CONTAINER, *paths), limits=limits_for_plan(site.plan),
            slug_dir=temporary, data_dir=None, host_port=None, network=NO_NETWORK, app_writable=True, uid=site.uid,
            extra_mounts=(Mount(tarball, SLUG_IN_CONTAINER, read_only=True),),
        ), timeout=600)
        if result.exit_code != 0:
            if "No space left on device" in result.output:
                raise CustomerError(f"The release does not fit in your plan's build disk ({site.plan.build_disk_mb} MB) "
                                    "next to the dependency caches; it holds every release started on this host.")
            raise PlatformError(f"Unpacking the slug failed: {result.output.strip()[-300:]}")
        try:
            os.rename(temporary, target)
        except OSError:
            if not target.is_dir():  # else another start of the same release unpacked it first
                raise
    finally:
        space.throw_away(temporary)  # still there when unpacking failed or lost the race
    return target


def merged_writable_paths(declared: list[str], from_repository: list[str]) -> list[str]:
    """The site's and hosting.toml's writable paths together; each list was checked alone, so
    check the two again (one inside another cannot both be links)."""
    try:
        return validate_writable_paths(sorted(set(declared) | set(from_repository)))
    except ValidationError as exc:
        raise CustomerError("The writable paths of the site and of hosting.toml do not go together: "
                            + " ".join(exc.messages)) from None


def with_writable_paths(command: tuple[str, ...], paths: list[str]) -> tuple[str, ...]:
    """The command, started after each writable path has its folder in /data (seed-writable)."""
    if not paths:
        return command
    return (f"{PLATFORM_SCRIPTS}/seed-writable", *paths, "--", *command)


def release_container(site: Site, release: Release, host: Host,
                      engine: ContainerEngine) -> tuple[dict, list[str], Workspace]:
    """What every container of `release` on `host` shares (web, release phase, one-off runs): the
    ContainerSpec's arguments but its instance and command (the slug unpacked, the site's volume,
    its config, uid, limits and network), the writable paths, and the site's build disk."""
    slug = release.slug
    space = workspace(site)
    paths = merged_writable_paths(site.writable_paths, slug.writable_paths)
    slug_dir = unpacked_slug(site, slug, paths, engine, space)
    volume = QuotaVolumes(settings.VOLUMES_DIR).ensure(site.uuid.hex, site.plan.disk_mb, site.uid)
    base = dict(
        site=site.name, release=release.label, image=runtime_image(slug.runtime), limits=limits_for_plan(site.plan),
        slug_dir=slug_dir, data_dir=volume, env=decrypt_config(release.encrypted_config),
        network=network_for_plan(site.plan), service_address=host.service_address, uid=site.uid,
        extra_networks=database_networks(site, host.name),
    )
    return base, paths, space


def start_release(deployment: Deployment, host: Host, engine: ContainerEngine) -> Instance:
    """Start the deployment's release on `host` and wait until it is healthy (see hosting/readiness.py)."""
    site, release = deployment.site, deployment.release
    slug = release.slug
    runtime = CATALOG[slug.runtime]
    with DeploymentLog(deployment.id) as stream:
        base, paths, space = release_container(site, release, host, engine)
        if "release" in slug.processes:
            _run_release_command(deployment, engine, stream, base, paths)
        command = ("bash", "-c", slug.processes["web"]) if "web" in slug.processes else runtime.web_command
        spec = ContainerSpec(**base, instance=f"d{deployment.id}", command=with_writable_paths(command, paths),
                             host_port=None)
        check = health_check(site, slug)
        stream.write(f"-----> Starting {release.label} on {host.name}; waiting until {check.path} answers")
        # Docker hands a stopped container's address to the next one at once: no other site's
        # route may name it while this one starts.
        instance = fleet.start_instance(
            engine, host, spec, check, settings.START_TIMEOUT,
            on_started=lambda started: proxy.claim_upstreams(site.route_group, [started.upstream]),
        )
        stream.write("       It is healthy; switching traffic to it")
        forget_slugs_not_running(site, engine, space)
        return instance


def health_check(site: Site, slug: Slug) -> HealthCheck:
    """The site's health check path (its own setting, else its hosting.toml's), asked as the edge
    asks: with the site's own hostname."""
    path = site.health_check_path or slug.health_check_path
    return HealthCheck(path=path or "/", host=site.default_hostname, declared=bool(path))


def _run_release_command(deployment: Deployment, engine: ContainerEngine, stream: DeploymentLog, base: dict,
                         paths: list[str]) -> None:
    command = deployment.release.slug.processes["release"]
    stream.write(f"-----> Running the release command: {command}")
    result = engine.run_once(
        ContainerSpec(**base, instance=f"r{deployment.id}", host_port=None,
                      command=with_writable_paths(("bash", "-c", command), paths)),
        timeout=deployment.site.plan.build_timeout_seconds,
        on_line=lambda line: stream.write(f"       {line}", from_app=True),
    )
    if result.exit_code != 0:
        how = " (timed out)" if result.timed_out else f" with exit code {result.exit_code}"
        raise ReleasePhaseFailed(f"The release command failed{how}; {what_stays(deployment.site)}")


def what_stays(site: Site) -> str:
    """What a failed release leaves the site with, in words: a first release has no predecessor to
    keep serving, and a stopped site serves nothing either."""
    site.refresh_from_db(fields=["current_release", "current_instance"])
    if site.current_release_id is None:
        return ("this was the site's first release, so nothing is serving yet: fix the command (or the Procfile's "
                "release: line) and deploy again.")
    if site.current_instance_id is None:
        return f"the site stays on {site.current_release.label} (it is not running: start it to serve it)."
    return f"the previous release ({site.current_release.label}) keeps serving."


def stop_instance(instance: Instance, engine: ContainerEngine) -> None:
    fleet.stop_instance(engine, instance)


def forget_slugs_not_running(site: Site, engine: ContainerEngine, space: Workspace) -> None:
    """Unpacked slugs that no container of the site on this host mounts go to the trash (rollbacks
    unpack again from the tarball); ones used in the last minutes stay for a deployment about to
    start them. Housekeeping: it never fails the deployment that called it."""
    try:
        mounted = set()
        for container in engine.list_site_containers(site.name):
            try:
                mounts = engine.inspect(container.name).get("Mounts", [])
            except HostingError:
                continue  # removed meanwhile
            mounted |= {Path(m.get("Source", "")) for m in mounts if m.get("Destination") == "/app"}
        recent = time.time() - 600
        for entry in os.scandir(space.slugs):
            path = Path(entry.path)
            if entry.name.startswith(".") or path in mounted or not entry.is_dir(follow_symlinks=False):
                continue
            if entry.stat(follow_symlinks=False).st_mtime < recent:
                space.throw_away(path)
    except Exception:
        log.exception("could not forget old slugs", extra={"site": site.name})


def forget_slug_tarballs(shas: list[str]) -> None:
    for sha in shas:
        if len(sha) == 64 and all(c in "0123456789abcdef" for c in sha):
            slug_tarball_path(sha).unlink(missing_ok=True)


def purge_site(host: Host, engine: ContainerEngine, site_name: str, site_uuid: str, instances: list[str],
               slugs: list[str]) -> None:
    """Remove what a deleted site left on this host: containers, volume, build disk, slugs."""
    fleet.purge(engine, host, instances, volume=site_uuid)
    remove_workspace(site_uuid)
    forget_slug_tarballs(slugs)
