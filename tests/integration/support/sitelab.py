"""Site containers of the runtimes, started from small slugs under the container contract."""
from __future__ import annotations

import uuid
from dataclasses import dataclass, replace
from pathlib import Path

from django.conf import settings

from hosting.engine import ContainerEngine
from hosting.spec import ContainerSpec, ResourceLimits
from hosting.readiness import HealthCheck, wait_until_healthy
from hosting.images import APP_UID, runtime_image
from hosting.runtimes import CATALOG
from hosting.volumes import QuotaVolumes

SMALL = ResourceLimits(memory_mb=128, cpu_millicores=500, pids=64, tmp_mb=16)


@dataclass
class RunningSite:
    spec: ContainerSpec
    engine: ContainerEngine

    @property
    def url(self) -> str:
        return f"http://{self.spec.service_address}:{self.spec.host_port}"

    @property
    def address(self) -> str:
        """The container's own address on the site network."""
        networks = self.engine.inspect(self.spec.name)["NetworkSettings"]["Networks"]
        return networks[self.spec.network]["IPAddress"]


def write_slug(directory: Path, files: dict[str, str]) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    for relative, content in files.items():
        path = directory / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(content)
    for path in [directory, *directory.rglob("*")]:
        path.chmod(0o755 if path.is_dir() else 0o644)
    return directory


class SiteLab:
    """Starts site containers of the runtimes from small slugs, and cleans up after the test."""

    def __init__(self, engine: ContainerEngine, tmp_path: Path) -> None:
        from hosting.models import Host

        self.engine = engine
        self.tmp_path = tmp_path
        self.host, _ = Host.objects.get_or_create(name="engine-test")
        self.volumes = QuotaVolumes(settings.VOLUMES_DIR)
        self.sites: list[str] = []

    def make_spec(self, runtime: str, files: dict[str, str], command=None, limits: ResourceLimits = SMALL,
                  disk_mb: int | None = 32, publish: bool = True) -> ContainerSpec:
        from hosting.ports import allocate_port

        site = f"t{uuid.uuid4().hex[:10]}"
        self.sites.append(site)
        slug = write_slug(self.tmp_path / f"slug-{site}", files)
        spec = ContainerSpec(
            site=site, release="v1", instance="web-1", image=runtime_image(runtime),
            command=tuple(command or CATALOG[runtime].web_command), limits=limits, slug_dir=slug,
            data_dir=self.volumes.ensure(site, disk_mb, APP_UID) if disk_mb else None,
            host_port=None, network=settings.SITE_NETWORK,
        )
        if publish:
            spec = replace(spec, host_port=allocate_port(self.host, spec.name, check_local=True))
        return spec

    def start(self, runtime: str, files: dict[str, str], command=None, wait: bool = True, **kwargs) -> RunningSite:
        spec = self.make_spec(runtime, files, command, **kwargs)
        self.engine.start(spec)
        if wait:
            wait_until_healthy(self.engine, spec.name, spec.service_address, spec.host_port, spec.container_port,
                               HealthCheck(), timeout=60)
        return RunningSite(spec, self.engine)

    def run_once(self, runtime: str, command, timeout: float = 60, files: dict[str, str] | None = None, **kwargs):
        spec = self.make_spec(runtime, files or {"README": "probe"}, command, publish=False, **kwargs)
        return self.engine.run_once(spec, timeout=timeout)

    def cleanup(self) -> None:
        from hosting.ports import release_port

        for site in self.sites:
            for container in self.engine.list_site_containers(site):
                self.engine.remove(container.name)
                release_port(self.host, container.name)
            self.volumes.remove(site)
