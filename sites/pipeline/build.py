"""Builds, on a host's agent: source archive -> build container -> slug (a tar.gz with its sha256).

The trust boundary (README, Security): the source and everything the build makes are the tenant's.
They are unpacked, read and written only inside one-off containers that run as the site's own uid,
with the plan's limits, on the site's quota-limited build disk (sites.workspace). The agent, which
runs as root, handles only the archive as an opaque file, the tar stream the Docker daemon makes of
the build's /app, and the slug it compresses and checksums from that stream; it never walks,
unpacks or follows anything the tenant made.
"""
from __future__ import annotations

import base64
import errno
import logging
import os
import secrets
import shutil
import stat
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterator

from django.conf import settings
from django.core.exceptions import ValidationError

from hosting import packing
from hosting.engine import ContainerEngine
from hosting.spec import NO_NETWORK, ContainerSpec, Mount, ResourceLimits, container_name
from core.errors import CustomerError, PlatformError
from hosting.images import PLATFORM_SCRIPTS, os_image, runtime_image
from hosting.runtimes import CATALOG, Runtime
from sites.config_crypto import config_of
from sites.logstream import DeploymentLog
from sites.models import Deployment, Site, Slug
from sites.validation import AppManifest, parse_hosting_toml, parse_procfile
from sites.workspace import Workspace, workspace

log = logging.getLogger(__name__)

# Builds compile and download: they get at least this much, whatever the plan's runtime share.
BUILD_MIN_MEMORY_MB = 1024
BUILD_MIN_PIDS = 512
BUILD_TMP_MB = 256
SOURCE_IN_CONTAINER = "/source/archive"


class BuildFailed(CustomerError):
    pass


@dataclass
class UnpackedSource:
    """What the unpack container reported about the source it unpacked into the build disk."""

    files: int = 0
    detected: set[str] = field(default_factory=set)  # detection files present at the root
    texts: dict[str, str] = field(default_factory=dict)  # Procfile, hosting.toml
    error: str = ""  # "disk-full", or "damaged <reason>"


def parse_unpack_report(output: str, nonce: str) -> UnpackedSource:
    """Only lines that start with this run's secret nonce count: the archive's own names and
    contents, which may appear in the output, cannot pass for a report line."""
    report = UnpackedSource()
    for line in output.splitlines():
        marker, _, rest = line.partition(" ")
        if marker != nonce:
            continue
        kind, _, value = rest.partition(" ")
        if kind == "files" and value.strip().isdigit():
            report.files = int(value)
        elif kind == "detect":
            report.detected.add(value.strip())
        elif kind == "file":
            name, _, encoded = value.partition(" ")
            try:
                report.texts[name] = base64.b64decode(encoded.strip() or b"", validate=True).decode(errors="replace")
            except ValueError:
                continue
        elif kind == "error":
            reason, _, encoded = value.partition(" ")
            if reason == "damaged":
                try:
                    reason += " " + base64.b64decode(encoded.strip(), validate=True).decode(errors="replace").strip()
                except ValueError:
                    pass
            report.error = reason
    return report


def detect_runtime(detected: set[str]) -> Runtime:
    """composer.json -> php, requirements.txt/pyproject.toml -> python, package.json -> node, else static."""
    for runtime in CATALOG.values():
        if any(name in detected for name in runtime.detect_files):
            return runtime
    return CATALOG["static"]


def read_manifest(source: UnpackedSource) -> AppManifest:
    manifest = AppManifest()
    try:
        if "Procfile" in source.texts:
            manifest.processes = parse_procfile(source.texts["Procfile"])
        if "hosting.toml" in source.texts:
            parse_hosting_toml(source.texts["hosting.toml"], manifest)
    except ValidationError as exc:
        raise BuildFailed(" ".join(exc.messages)) from None
    return manifest


def build_limits(site: Site) -> ResourceLimits:
    plan = site.plan
    return ResourceLimits(
        memory_mb=max(plan.memory_mb, BUILD_MIN_MEMORY_MB),
        cpu_millicores=max(plan.cpu_millicores, 1000),
        pids=max(plan.pids_limit, BUILD_MIN_PIDS),
        tmp_mb=BUILD_TMP_MB,
    )


class SlugTooLarge(BuildFailed):
    pass


def store_slug(tar_stream: Iterator[bytes], max_bytes: int, deadline: float) -> tuple[str, int]:
    """Compress the tar stream the Docker daemon made of a build's /app into SLUGS_DIR/<sha256>.tar.gz,
    cut off past `max_bytes` or `deadline` (hosting/packing.py)."""
    slugs = Path(settings.SLUGS_DIR)
    try:
        packed = packing.pack(tar_stream, slugs, max_bytes, deadline)
    except packing.StreamTooLarge:
        raise SlugTooLarge(f"The build's output is larger than {max_bytes // 2**20} MB as a slug "
                           "(sparse files count at their full size).") from None
    except packing.StreamTooSlow:
        raise SlugTooLarge("Packing the build's output into a slug took too long.") from None
    try:
        os.replace(packed.temporary, slugs / f"{packed.sha256}.tar.gz")
    finally:
        packed.temporary.unlink(missing_ok=True)
    return packed.sha256, packed.size


def copy_source(archive: Path, target: Path) -> Path:
    """The platform's own copy of the source archive on the site's build disk (so it counts in the
    quota), made from a regular file opened without following links; builds mount the copy."""
    try:
        source = os.open(archive, os.O_RDONLY | os.O_NOFOLLOW)
    except FileNotFoundError:
        raise BuildFailed("The uploaded source is gone; push again.") from None
    except OSError as exc:
        raise PlatformError(f"The source archive {archive.name} is not a plain file ({exc}).") from None
    with os.fdopen(source, "rb") as reader:
        if not stat.S_ISREG(os.fstat(reader.fileno()).st_mode):
            raise PlatformError(f"The source archive {archive.name} is not a plain file.")
        target.unlink(missing_ok=True)
        try:
            with open(target, "xb") as out:
                shutil.copyfileobj(reader, out, 1024 * 1024)
        except OSError as exc:
            target.unlink(missing_ok=True)
            if exc.errno == errno.ENOSPC:
                raise BuildFailed("The source does not fit in your plan's build disk.") from None
            raise
    os.chmod(target, 0o644)
    return target


def build(deployment: Deployment, host_name: str, engine: ContainerEngine, archive: Path) -> Slug:
    """Build the deployment's source archive into a slug; raises BuildFailed with the reason.

    Whatever the build left on the build disk goes to its trash (see tasks.empty_trash)."""
    with DeploymentLog(deployment.id) as stream:
        return _build(deployment, host_name, engine, archive, stream)


def _build(deployment: Deployment, host_name: str, engine: ContainerEngine, archive: Path,
           stream: DeploymentLog) -> Slug:
    site = deployment.site
    names: list[str] = []
    space = workspace(site)
    source = space.sources / str(deployment.id)
    space.throw_away(space.builds / str(deployment.id))  # an earlier try of this deployment
    folder = space.new_folder(space.builds, str(deployment.id))
    started = time.monotonic()
    try:
        stream.write(f"-----> Receiving source on {host_name}")
        copy_source(archive, source)
        names.append(_unpack_name(site, deployment))
        unpacked = unpack_source(deployment, site, engine, source, folder)
        stream.write(f"       {unpacked.files} files")
        manifest = read_manifest(unpacked)
        runtime = CATALOG[site.runtime] if site.runtime in CATALOG else detect_runtime(unpacked.detected)
        how = "set for the site" if site.runtime in CATALOG else "detected"
        stream.write(f"-----> {runtime.label} app ({how})")
        said_web_process = False
        if runtime.build_command:
            engine.remove(names.pop())
            names.append(_build_name(site, deployment))
            said_web_process = _run_build_container(deployment, site, runtime, space, folder, engine, stream)
        if said_web_process:
            pass  # the runtime's build script said which web process runs, with what it detected
        elif "web" in manifest.processes:
            stream.write(f"-----> Web process: {manifest.processes['web']}")
        else:
            stream.write(f"-----> Web process: the {runtime.name} default ({' '.join(runtime.web_command)})")
        stream.write("-----> Compressing the slug")
        result: dict[str, tuple[str, int]] = {}
        limit = 2 * site.plan.build_disk_mb * 2**20
        deadline = started + site.plan.build_timeout_seconds
        engine.export(names[-1], "/app", lambda tar: result.setdefault("slug", store_slug(tar, limit, deadline)))
        sha, size = result["slug"]
        stream.write(f"       {size / 2**20:.1f} MB, sha256 {sha[:12]}")
        return Slug.objects.create(
            site=site, sha256=sha, size_bytes=size, runtime=runtime.name, source=deployment.source[:80],
            processes=manifest.processes, writable_paths=manifest.writable_paths,
            health_check_path=manifest.health_check_path, cron=manifest.cron,
        )
    finally:
        for name in names:
            engine.remove(name)
        source.unlink(missing_ok=True)
        space.throw_away(folder)


def _unpack_name(site: Site, deployment: Deployment) -> str:
    return container_name(site.name, "build", f"u{deployment.id}")


def _build_name(site: Site, deployment: Deployment) -> str:
    return container_name(site.name, "build", f"d{deployment.id}")


def unpack_source(deployment: Deployment, site: Site, engine: ContainerEngine, archive: Path,
                  folder: Path) -> UnpackedSource:
    """Unpack the archive into the build's folder inside a container, as the site's uid, with no
    network; the container stays (ended) so that a build with nothing to run exports from it."""
    nonce = secrets.token_hex(16)
    strip = ["--strip-single-folder"] if deployment.trigger == Deployment.Trigger.ARCHIVE else []
    spec = ContainerSpec(
        site=site.name, release="build", instance=f"u{deployment.id}", image=os_image(),
        command=(f"{PLATFORM_SCRIPTS}/unpack-source", SOURCE_IN_CONTAINER, *strip), limits=build_limits(site),
        slug_dir=folder, data_dir=None, host_port=None, env={"HOSTING_NONCE": nonce},
        extra_mounts=(Mount(archive, SOURCE_IN_CONTAINER, read_only=True),), network=NO_NETWORK,
        app_writable=True, uid=site.uid,
    )
    timeout = site.plan.build_timeout_seconds
    result = engine.run_once(spec, timeout=timeout, keep=True)
    report = parse_unpack_report(result.output, nonce)
    if result.timed_out:
        raise BuildFailed(f"Unpacking the source took longer than {timeout} s, your plan's limit.")
    if result.oom_killed:
        raise BuildFailed("Unpacking the source ran out of memory; the archive is damaged or hostile.")
    if result.exit_code != 0:
        if report.error == "disk-full":
            raise BuildFailed(f"The source does not fit in your plan's build disk ({site.plan.build_disk_mb} MB).")
        reason = report.error.removeprefix("damaged").strip()
        if "Unrecognized archive format" in reason:
            raise BuildFailed("The upload is not a .tar.gz, .tar or .zip archive.")
        raise BuildFailed(f"The archive could not be unpacked: {reason or 'it is damaged'}"[:500])
    return report


def _run_build_container(deployment, site, runtime, space: Workspace, folder: Path, engine, stream) -> bool:
    """Run the runtime's build script on the build disk; returns whether it said which web process
    runs. The ended container stays for the slug's export."""
    spec = ContainerSpec(
        site=site.name, release="build", instance=f"d{deployment.id}", image=runtime_image(runtime.name),
        command=runtime.build_command, limits=build_limits(site), slug_dir=folder, data_dir=None, host_port=None,
        env=config_of(site), extra_mounts=(Mount(space.cache, "/cache", read_only=False),),
        network=settings.SITE_NETWORK, app_writable=True, uid=site.uid,
    )
    timeout = site.plan.build_timeout_seconds
    said = {"web process": False}

    def relay(line: str) -> None:
        said["web process"] = said["web process"] or line.startswith("-----> Web process")
        stream.write(line, from_app=True)  # the build scripts indent their own lines, Heroku style

    result = engine.run_once(spec, timeout=timeout, on_line=relay, keep=True)
    if result.timed_out:
        raise BuildFailed(f"The build took longer than {timeout} s, your plan's limit, and was stopped.")
    if result.oom_killed:
        raise BuildFailed(f"The build ran out of memory ({spec.limits.memory_mb} MB).")
    if result.exit_code != 0:
        if "No space left on device" in result.output:
            raise BuildFailed(f"The build filled your plan's build disk ({site.plan.build_disk_mb} MB), "
                              "which holds the source, the build's output and the dependency caches.")
        last = [line for line in result.output.strip().splitlines() if line.strip()][-1:] or ["no output"]
        raise BuildFailed(f"The build failed (exit code {result.exit_code}): {last[0].strip()}")
    return said["web process"]
