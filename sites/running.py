"""Running releases, on a host's agent: unpack the slug, run the release phase, start the instance
and wait until it answers.

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
from dataclasses import replace
from pathlib import Path

from django.conf import settings
from django.core.exceptions import ValidationError

from hosting.engine import NO_NETWORK, ContainerEngine, ContainerSpec, Mount, PortInUse, container_name
from core.errors import CustomerError, HostingError, PlatformError
from hosting.images import PLATFORM_SCRIPTS, runtime_image
from hosting.limits import limits_for_plan, network_for_plan
from hosting.models import Host, Instance
from hosting.ports import allocate_port, release_port
from hosting.runtimes import CATALOG
from hosting.volumes import QuotaVolumes
from proxy import services as proxy
from sites.config_crypto import decrypt_config
from sites.logstream import DeploymentLog
from sites.models import Deployment, Site, Slug
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


def verify_slug(slug: Slug) -> Path:
    """The slug's tarball on this host, checked against its sha256 (the agent made it; a disk
    error or a tampered file must not start)."""
    tarball = slug_tarball_path(slug.sha256)
    digest = hashlib.sha256()
    try:
        with open(tarball, "rb") as f:
            while chunk := f.read(1024 * 1024):
                digest.update(chunk)
    except FileNotFoundError:
        raise SlugDamaged(f"The slug {slug.sha256[:12]} is not on this host.") from None
    if digest.hexdigest() != slug.sha256:
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


def start_release(deployment: Deployment, host: Host, engine: ContainerEngine) -> Instance:
    """Start the deployment's release on `host` and wait until it answers HTTP on $PORT."""
    site, release = deployment.site, deployment.release
    slug = release.slug
    runtime = CATALOG[slug.runtime]
    stream = DeploymentLog(deployment.id)
    try:
        space = workspace(site)
        paths = merged_writable_paths(site.writable_paths, slug.writable_paths)
        slug_dir = unpacked_slug(site, slug, paths, engine, space)
        volume = QuotaVolumes(settings.VOLUMES_DIR).ensure(site.uuid.hex, site.plan.disk_mb, site.uid)
        env = decrypt_config(release.encrypted_config)
        limits = limits_for_plan(site.plan)
        base = dict(
            site=site.name, release=release.label, image=runtime_image(runtime.name), limits=limits,
            slug_dir=slug_dir, data_dir=volume, env=env, network=network_for_plan(site.plan),
            service_address=host.service_address, uid=site.uid,
        )
        if "release" in slug.processes:
            stream.write(f"-----> Running the release command: {slug.processes['release']}")
            result = engine.run_once(
                ContainerSpec(**base, instance=f"r{deployment.id}", host_port=None,
                              command=with_writable_paths(("bash", "-c", slug.processes["release"]), paths)),
                timeout=site.plan.build_timeout_seconds,
                on_line=lambda line: stream.write(f"       {line}", from_app=True),
            )
            if result.exit_code != 0:
                raise ReleasePhaseFailed(
                    "The release command failed" + (" (timed out)" if result.timed_out else f" with exit code {result.exit_code}")
                    + "; the previous release keeps serving."
                )
        command = ("bash", "-c", slug.processes["web"]) if "web" in slug.processes else runtime.web_command
        command = with_writable_paths(command, paths)
        name = container_name(site.name, release.label, f"d{deployment.id}")
        stream.write(f"-----> Starting {release.label} on {host.name}")
        port, instance = _start_on_a_free_port(engine, host, name, ContainerSpec(
            **base, instance=f"d{deployment.id}", command=command, host_port=None,
        ), site.route_group)
        try:
            engine.wait_until_answering(name, host.service_address, port, timeout=settings.START_TIMEOUT)
        except HostingError:
            _discard(engine, host, instance)
            raise
        Instance.objects.filter(pk=instance.pk).update(state=Instance.State.RUNNING)
        stream.write("       It answers HTTP; switching traffic to it")
        forget_slugs_not_running(site, engine, space)
        return instance
    finally:
        stream.close()


def _start_on_a_free_port(engine: ContainerEngine, host: Host, name: str, spec: ContainerSpec,
                          group: str) -> tuple[int, Instance]:
    """Allocate a port and start; a port Docker finds taken (by something the table does not
    know of) is avoided and the next one tried."""
    avoid: set[int] = set()
    for attempt in range(5):
        port = allocate_port(host, name, avoid=frozenset(avoid), check_local=True)
        instance, _ = Instance.objects.update_or_create(
            name=name,
            defaults=dict(host=host, site_label=spec.site, release_label=spec.release, port=port,
                          memory_mb=spec.limits.memory_mb, cpu_millicores=spec.limits.cpu_millicores,
                          state=Instance.State.STARTING),
        )
        try:
            state = engine.start(replace(spec, host_port=port))
            Instance.objects.filter(pk=instance.pk).update(container_address=state.address)
            instance.container_address = state.address
            # Docker hands a stopped container's address to the next one at once: no other site's
            # route may name it while this one starts.
            proxy.claim_upstreams(group, [instance.upstream])
            return port, instance
        except PortInUse:
            avoid.add(port)
            if attempt < 4:
                continue
            _discard(engine, host, instance)
            raise
        except HostingError:
            _discard(engine, host, instance)
            raise
    raise AssertionError("unreachable")


def _discard(engine: ContainerEngine, host: Host, instance: Instance) -> None:
    """An instance that never went live: nothing of it stays behind."""
    engine.remove(instance.name)
    release_port(host, instance.name)
    Instance.objects.filter(pk=instance.pk).update(state=Instance.State.FAILED, port=None)


def stop_instance(instance: Instance, engine: ContainerEngine) -> None:
    engine.stop(instance.name, timeout=10)
    engine.remove(instance.name)
    release_port(instance.host, instance.name)
    Instance.objects.filter(pk=instance.pk).update(state=Instance.State.STOPPED, port=None)


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
    for name in instances:
        engine.remove(name)
        release_port(host, name)
    Instance.objects.filter(host=host, name__in=instances).delete()
    QuotaVolumes(settings.VOLUMES_DIR).remove(site_uuid)
    remove_workspace(site_uuid)
    forget_slug_tarballs(slugs)
