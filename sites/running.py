"""Running releases, on a host's agent: unpack the slug, prepare /data, run the release phase,
start the instance and wait until it answers."""
from __future__ import annotations

import logging
import os
import shutil
import tarfile
from dataclasses import replace
from pathlib import Path

from django.conf import settings

from hosting.engine import ContainerEngine, ContainerSpec, Mount, PortInUse, container_name
from hosting.errors import CustomerError, HostingError
from hosting.images import APP_UID, runtime_image
from hosting.limits import limits_for_plan, network_for_plan
from hosting.models import Host, Instance
from hosting.ports import allocate_port, release_port
from hosting.runtimes import CATALOG
from hosting.volumes import QuotaVolumes
from sites.config_crypto import decrypt_config
from sites.logstream import DeploymentLog
from sites.models import Deployment, Slug

log = logging.getLogger(__name__)


class ReleasePhaseFailed(CustomerError):
    pass


def unpacked_slug(slug: Slug) -> Path:
    """The slug's tree on this host, unpacked from its tarball when this host has not got it yet."""
    slugs = Path(settings.SLUGS_DIR)
    target = slugs / slug.sha256
    if target.is_dir():
        return target
    tarball = slugs / f"{slug.sha256}.tar.gz"
    temporary = slugs / f".{slug.sha256}.unpacking"
    shutil.rmtree(temporary, ignore_errors=True)
    with tarfile.open(tarball) as tar:
        tar.extractall(temporary, filter="tar")  # our own slug; the filter still refuses escapes
    temporary.replace(target)
    return target


def writable_mounts(volume: Path, slug_dir: Path, paths: list[str]) -> tuple[Mount, ...]:
    """Each writable path is a directory of /data mounted over /app/<path>, seeded from the
    release's content the first time and kept across deploys and rollbacks."""
    mounts = []
    for path in paths:
        stored = volume / "writable" / path
        in_slug = slug_dir / path
        if not stored.exists():
            stored.parent.mkdir(parents=True, exist_ok=True)
            if in_slug.is_dir() and not in_slug.is_symlink():
                shutil.copytree(in_slug, stored, symlinks=True)
            else:
                stored.mkdir()
            for item in [volume / "writable", *(volume / "writable").rglob("*")]:
                os.lchown(item, APP_UID, APP_UID)
        if in_slug.is_symlink() or (in_slug.exists() and not in_slug.is_dir()):
            raise CustomerError(f"The writable path {path!r} is a file or a link in the app; it must be a folder.")
        in_slug.mkdir(parents=True, exist_ok=True)  # the mount point inside the read-only /app
        mounts.append(Mount(stored, f"/app/{path}", read_only=False))
    return tuple(mounts)


def start_release(deployment: Deployment, host: Host, engine: ContainerEngine) -> Instance:
    """Start the deployment's release on `host` and wait until it answers HTTP on $PORT."""
    site, release = deployment.site, deployment.release
    slug = release.slug
    runtime = CATALOG[slug.runtime]
    stream = DeploymentLog(deployment.id)
    try:
        slug_dir = unpacked_slug(slug)
        volume = QuotaVolumes(settings.VOLUMES_DIR).ensure(site.uuid.hex, site.plan.disk_mb, APP_UID)
        paths = sorted(set(site.writable_paths) | set(slug.writable_paths))
        mounts = writable_mounts(volume, slug_dir, paths)
        env = decrypt_config(release.encrypted_config)
        limits = limits_for_plan(site.plan)
        base = dict(
            site=site.name, release=release.label, image=runtime_image(runtime.name), limits=limits,
            slug_dir=slug_dir, data_dir=volume, env=env, extra_mounts=mounts, network=network_for_plan(site.plan),
            service_address=host.service_address,
        )
        if "release" in slug.processes:
            stream.write(f"-----> Running the release command: {slug.processes['release']}")
            result = engine.run_once(
                ContainerSpec(**base, instance=f"r{deployment.id}", command=("bash", "-c", slug.processes["release"]),
                              host_port=None),
                timeout=site.plan.build_timeout_seconds,
                on_line=lambda line: stream.write(f"       {line}"),
            )
            if result.exit_code != 0:
                raise ReleasePhaseFailed(
                    "The release command failed" + (" (timed out)" if result.timed_out else f" with exit code {result.exit_code}")
                    + "; the previous release keeps serving."
                )
        command = ("bash", "-c", slug.processes["web"]) if "web" in slug.processes else runtime.web_command
        name = container_name(site.name, release.label, f"d{deployment.id}")
        stream.write(f"-----> Starting {release.label} on {host.name}")
        port, instance = _start_on_a_free_port(engine, host, name, ContainerSpec(
            **base, instance=f"d{deployment.id}", command=command, host_port=None,
        ))
        try:
            engine.wait_until_answering(name, host.service_address, port, timeout=settings.START_TIMEOUT)
        except HostingError:
            _discard(engine, host, instance)
            raise
        Instance.objects.filter(pk=instance.pk).update(state=Instance.State.RUNNING)
        stream.write("       It answers HTTP; switching traffic to it")
        return instance
    finally:
        stream.close()


def _start_on_a_free_port(engine: ContainerEngine, host: Host, name: str, spec: ContainerSpec) -> tuple[int, Instance]:
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


def purge_site(host: Host, engine: ContainerEngine, site_name: str, site_uuid: str, instances: list[str],
               slugs: list[str]) -> None:
    """Remove what a deleted site left on this host: containers, volume, slugs, build cache."""
    for name in instances:
        engine.remove(name)
        release_port(host, name)
    Instance.objects.filter(host=host, name__in=instances).delete()
    QuotaVolumes(settings.VOLUMES_DIR).remove(site_uuid)
    shutil.rmtree(Path(settings.BUILD_CACHE_DIR) / site_uuid, ignore_errors=True)
    for sha in slugs:
        shutil.rmtree(Path(settings.SLUGS_DIR) / sha, ignore_errors=True)
        (Path(settings.SLUGS_DIR) / f"{sha}.tar.gz").unlink(missing_ok=True)
