"""Builds, on a host's agent: source archive -> build container -> slug (a tar.gz with its sha256)."""
from __future__ import annotations

import hashlib
import logging
import os
import shutil
import tarfile
from pathlib import Path

from django.conf import settings
from django.core.exceptions import ValidationError

from hosting.engine import ContainerEngine, ContainerSpec, Mount, ResourceLimits
from hosting.errors import CustomerError
from hosting.images import APP_UID, runtime_image
from hosting.runtimes import CATALOG, Runtime
from sites.archives import extract_archive
from sites.logstream import DeploymentLog
from sites.models import Deployment, Site, Slug
from sites.validation import AppManifest, parse_hosting_toml, parse_procfile

log = logging.getLogger(__name__)

# Builds compile and download: they get at least this much, whatever the plan's runtime share.
BUILD_MIN_MEMORY_MB = 1024
BUILD_MIN_PIDS = 512
BUILD_TMP_MB = 256


class BuildFailed(CustomerError):
    pass


def detect_runtime(app_dir: Path) -> Runtime:
    """composer.json -> php, requirements.txt/pyproject.toml -> python, package.json -> node, else static."""
    for runtime in CATALOG.values():
        if any((app_dir / name).is_file() for name in runtime.detect_files):
            return runtime
    return CATALOG["static"]


def read_manifest(app_dir: Path) -> AppManifest:
    manifest = AppManifest()
    try:
        procfile = app_dir / "Procfile"
        if procfile.is_file() and not procfile.is_symlink():
            manifest.processes = parse_procfile(procfile.read_text(errors="replace"))
        toml = app_dir / "hosting.toml"
        if toml.is_file() and not toml.is_symlink():
            manifest.writable_paths = parse_hosting_toml(toml.read_text(errors="replace"))
    except ValidationError as exc:
        raise BuildFailed(" ".join(exc.messages)) from None
    return manifest


def cache_dir(site: Site) -> Path:
    return Path(settings.BUILD_CACHE_DIR) / site.uuid.hex


def build_limits(site: Site) -> ResourceLimits:
    plan = site.plan
    return ResourceLimits(
        memory_mb=max(plan.memory_mb, BUILD_MIN_MEMORY_MB),
        cpu_millicores=max(plan.cpu_millicores, 1000),
        pids=max(plan.pids_limit, BUILD_MIN_PIDS),
        tmp_mb=BUILD_TMP_MB,
    )


def _chown_tree(root: Path, uid: int) -> None:
    for item in [root, *root.rglob("*")]:
        os.lchown(item, uid, uid)


def make_slug(app_dir: Path) -> tuple[str, int, Path]:
    """Pack `app_dir` into SLUGS_DIR/<sha256>.tar.gz and keep the tree unpacked at SLUGS_DIR/<sha256>/."""
    slugs = Path(settings.SLUGS_DIR)
    slugs.mkdir(parents=True, exist_ok=True)
    temporary = slugs / f".{app_dir.parent.name}.tar.gz"
    with tarfile.open(temporary, "w:gz", compresslevel=1) as tar:
        tar.add(app_dir, arcname=".")
    digest = hashlib.sha256()
    with open(temporary, "rb") as f:
        while chunk := f.read(1024 * 1024):
            digest.update(chunk)
    sha = digest.hexdigest()
    size = temporary.stat().st_size
    os.replace(temporary, slugs / f"{sha}.tar.gz")
    unpacked = slugs / sha
    if not unpacked.exists():
        os.replace(app_dir, unpacked)
    return sha, size, unpacked


def build(deployment: Deployment, host_name: str, engine: ContainerEngine, archive: Path) -> Slug:
    """Build the deployment's source archive into a slug; raises BuildFailed with the reason."""
    site = deployment.site
    stream = DeploymentLog(deployment.id)
    workdir = Path(settings.BUILDS_DIR) / str(deployment.id)
    shutil.rmtree(workdir, ignore_errors=True)
    app_dir = workdir / "app"
    try:
        stream.write(f"-----> Receiving source on {host_name}")
        files = extract_archive(archive, app_dir, max_bytes=site.plan.max_push_mb * 2**20 * 4, owner_uid=APP_UID)
        stream.write(f"       {files} files")
        manifest = read_manifest(app_dir)
        runtime = CATALOG[site.runtime] if site.runtime in CATALOG else detect_runtime(app_dir)
        how = "set for the site" if site.runtime in CATALOG else "detected"
        stream.write(f"-----> {runtime.label} app ({how})")
        reported = []
        if runtime.build_command:
            reported = _run_build_container(deployment, site, runtime, app_dir, engine, stream)
        if any(line.startswith("-----> Web process") for line in reported):
            pass  # the runtime's build script said which web process runs, with what it detected
        elif "web" in manifest.processes:
            stream.write(f"-----> Web process: {manifest.processes['web']}")
        else:
            stream.write(f"-----> Web process: the {runtime.name} default ({' '.join(runtime.web_command)})")
        for path in manifest.writable_paths:
            (app_dir / path).mkdir(parents=True, exist_ok=True)
        stream.write("-----> Compressing the slug")
        sha, size, _ = make_slug(app_dir)
        stream.write(f"       {size / 2**20:.1f} MB, sha256 {sha[:12]}")
        return Slug.objects.create(
            site=site, sha256=sha, size_bytes=size, runtime=runtime.name, source=deployment.source[:80],
            processes=manifest.processes, writable_paths=manifest.writable_paths,
        )
    finally:
        stream.close()
        shutil.rmtree(workdir, ignore_errors=True)


def _run_build_container(deployment, site, runtime, app_dir, engine, stream) -> list[str]:
    """Run the runtime's build script; returns its output lines."""
    cache = cache_dir(site)
    cache.mkdir(parents=True, exist_ok=True)
    os.chown(cache, APP_UID, APP_UID)
    from sites.services import config_of

    spec = ContainerSpec(
        site=site.name, release="build", instance=f"d{deployment.id}", image=runtime_image(runtime.name),
        command=runtime.build_command, limits=build_limits(site), slug_dir=app_dir, data_dir=None, host_port=None,
        env=config_of(site), extra_mounts=(Mount(cache, "/cache", read_only=False),), network=settings.SITE_NETWORK,
        app_writable=True,
    )
    timeout = site.plan.build_timeout_seconds
    lines: list[str] = []

    def relay(line: str) -> None:
        lines.append(line)
        stream.write(line)  # the build scripts indent their own lines, Heroku style

    result = engine.run_once(spec, timeout=timeout, on_line=relay)
    if result.timed_out:
        raise BuildFailed(f"The build took longer than {timeout} s, your plan's limit, and was stopped.")
    if result.oom_killed:
        raise BuildFailed(f"The build ran out of memory ({spec.limits.memory_mb} MB).")
    if result.exit_code != 0:
        last = [line for line in result.output.strip().splitlines() if line.strip()][-1:] or ["no output"]
        raise BuildFailed(f"The build failed (exit code {result.exit_code}): {last[0].strip()}")
    return lines

