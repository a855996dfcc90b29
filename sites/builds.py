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
import gzip
import hashlib
import logging
import os
import secrets
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterator

from django.conf import settings
from django.core.exceptions import ValidationError

from hosting.engine import NO_NETWORK, ContainerEngine, ContainerSpec, Mount, ResourceLimits
from hosting.errors import CustomerError
from hosting.images import PLATFORM_SCRIPTS, os_image, runtime_image
from hosting.runtimes import CATALOG, Runtime
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
            manifest.writable_paths = parse_hosting_toml(source.texts["hosting.toml"])
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


def store_slug(tar_stream: Iterator[bytes]) -> tuple[str, int]:
    """Compress the tar stream the Docker daemon made of a build's /app into SLUGS_DIR/<sha256>.tar.gz."""
    slugs = Path(settings.SLUGS_DIR)
    slugs.mkdir(mode=0o700, parents=True, exist_ok=True)
    temporary = slugs / f".{uuid.uuid4().hex}.tar.gz"
    digest = hashlib.sha256()
    try:
        with open(temporary, "xb") as raw:
            with gzip.GzipFile(fileobj=_Hashing(raw, digest), mode="wb", compresslevel=1, mtime=0) as packed:
                for chunk in tar_stream:
                    packed.write(chunk)
        sha = digest.hexdigest()
        size = temporary.stat().st_size
        os.replace(temporary, slugs / f"{sha}.tar.gz")
    finally:
        temporary.unlink(missing_ok=True)
    return sha, size


class _Hashing:
    """A file that hashes what is written to it: the slug's sha256 without reading it back."""

    def __init__(self, raw, digest) -> None:
        self.raw, self.digest = raw, digest

    def write(self, data: bytes) -> int:
        self.digest.update(data)
        return self.raw.write(data)

    def flush(self) -> None:
        self.raw.flush()


def build(deployment: Deployment, host_name: str, engine: ContainerEngine, archive: Path) -> Slug:
    """Build the deployment's source archive into a slug; raises BuildFailed with the reason."""
    site = deployment.site
    stream = DeploymentLog(deployment.id)
    names: list[str] = []
    try:
        stream.write(f"-----> Receiving source on {host_name}")
        space = workspace(site)
        names.append(_unpack_name(site, deployment))
        source = unpack_source(deployment, site, engine, archive, space)
        stream.write(f"       {source.files} files")
        manifest = read_manifest(source)
        runtime = CATALOG[site.runtime] if site.runtime in CATALOG else detect_runtime(source.detected)
        how = "set for the site" if site.runtime in CATALOG else "detected"
        stream.write(f"-----> {runtime.label} app ({how})")
        reported = []
        if runtime.build_command:
            engine.remove(names.pop())
            names.append(_build_name(site, deployment))
            reported = _run_build_container(deployment, site, runtime, space, engine, stream)
        if any(line.startswith("-----> Web process") for line in reported):
            pass  # the runtime's build script said which web process runs, with what it detected
        elif "web" in manifest.processes:
            stream.write(f"-----> Web process: {manifest.processes['web']}")
        else:
            stream.write(f"-----> Web process: the {runtime.name} default ({' '.join(runtime.web_command)})")
        stream.write("-----> Compressing the slug")
        result: dict[str, tuple[str, int]] = {}
        engine.export(names[-1], "/app", lambda tar: result.setdefault("slug", store_slug(tar)))
        sha, size = result["slug"]
        stream.write(f"       {size / 2**20:.1f} MB, sha256 {sha[:12]}")
        return Slug.objects.create(
            site=site, sha256=sha, size_bytes=size, runtime=runtime.name, source=deployment.source[:80],
            processes=manifest.processes, writable_paths=manifest.writable_paths,
        )
    finally:
        stream.close()
        for name in names:
            engine.remove(name)


def _unpack_name(site: Site, deployment: Deployment) -> str:
    return ContainerSpec.name_of(site.name, "build", f"u{deployment.id}")


def _build_name(site: Site, deployment: Deployment) -> str:
    return ContainerSpec.name_of(site.name, "build", f"d{deployment.id}")


def unpack_source(deployment: Deployment, site: Site, engine: ContainerEngine, archive: Path,
                  space: Workspace) -> UnpackedSource:
    """Unpack the archive into the build disk's app/ inside a container, as the site's uid, with no
    network; the container stays (ended) so that a build with nothing to run exports from it."""
    nonce = secrets.token_hex(16)
    strip = ["--strip-single-folder"] if deployment.trigger == Deployment.Trigger.ARCHIVE else []
    # The platform wrote the archive; the site's uid reads it through a read-only mount.
    os.chmod(archive, 0o644)
    spec = ContainerSpec(
        site=site.name, release="build", instance=f"u{deployment.id}", image=os_image(),
        command=(f"{PLATFORM_SCRIPTS}/unpack-source", SOURCE_IN_CONTAINER, *strip), limits=build_limits(site),
        slug_dir=space.app, data_dir=None, host_port=None, env={"HOSTING_NONCE": nonce},
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


def _run_build_container(deployment, site, runtime, space: Workspace, engine, stream) -> list[str]:
    """Run the runtime's build script on the build disk; returns its output lines. The ended
    container stays for the slug's export."""
    from sites.services import config_of

    spec = ContainerSpec(
        site=site.name, release="build", instance=f"d{deployment.id}", image=runtime_image(runtime.name),
        command=runtime.build_command, limits=build_limits(site), slug_dir=space.app, data_dir=None, host_port=None,
        env=config_of(site), extra_mounts=(Mount(space.cache, "/cache", read_only=False),),
        network=settings.SITE_NETWORK, app_writable=True, uid=site.uid,
    )
    timeout = site.plan.build_timeout_seconds
    lines: list[str] = []

    def relay(line: str) -> None:
        lines.append(line)
        stream.write(line)  # the build scripts indent their own lines, Heroku style

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
    return lines
