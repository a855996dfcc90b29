"""The agent's usage sampler: every METRICS_INTERVAL seconds, each running site container of this
host (CPU, memory, their limits) and each site volume mounted here (how full).

A thread of the agent, like the heartbeat, rather than a beat-sent task on the host's queue: a
long build holding the agent's worker would delay a task (and a down host would pile them up in
its queue), while CPU is measured between two rounds, so a steady clock of its own is what counts.
"""
from __future__ import annotations

import logging
import os
import re
import time
from pathlib import Path

from django.db import close_old_connections
from django.utils import timezone

from core.errors import PlatformError, TransientError
from hosting.cgroups import CGROUP_ROOT, ContainerUsage, read_usage
from hosting.engine import ContainerEngine
from hosting.periodic import PeriodicThread
from hosting.spec import RunningContainer
from hosting.usage import SiteUsage, VolumeFill, prune_usage, record_usage

log = logging.getLogger(__name__)

VOLUME_NAME = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$")
BUILD_DISK_SUFFIX = "-build"  # sites.workspace's build disks: caches, not the site's /data


class UsageSampler:
    """Measures one round at a time; remembers each container's CPU time for the next round."""

    def __init__(self, host_name: str, engine: ContainerEngine, volumes_dir: Path, clock=time.monotonic,
                 cgroup_root: Path = CGROUP_ROOT) -> None:
        self.host_name = host_name
        self.cgroup_root = cgroup_root
        self.engine = engine
        self.volumes_dir = Path(volumes_dir)
        self.clock = clock
        self._cpu_seen: dict[str, tuple[int, float]] = {}  # container id -> (cpu ns, when)

    def measure(self) -> tuple[list[SiteUsage], list[VolumeFill]]:
        containers = self.engine.running_on_host(self.host_name)
        by_volume: dict[str, list[tuple[ContainerUsage, float | None]]] = {}
        for container in containers:
            volume = self.volume_of(container)
            if volume is None:
                continue
            usage = read_usage(container.id, self.cgroup_root) or self._usage_from_daemon(container)
            if usage is None:
                continue
            by_volume.setdefault(volume, []).append((usage, self._cpu_millicores(container.id, usage.cpu_ns)))
        running = {container.id for container in containers}
        self._cpu_seen = {key: value for key, value in self._cpu_seen.items() if key in running}
        return [_site_usage(volume, readings) for volume, readings in by_volume.items()], self.volume_fills()

    def volume_of(self, container: RunningContainer) -> str | None:
        """The name of the site volume mounted at /data, when it is one of this host's."""
        source = container.mounts.get("/data")
        if not source or Path(source).parent != self.volumes_dir or not VOLUME_NAME.match(Path(source).name):
            return None
        return Path(source).name

    def volume_fills(self) -> list[VolumeFill]:
        """statvfs of each site volume mounted here: a filesystem the agent mounted itself, asked
        at its mount point (no tenant path is walked or followed)."""
        fills = []
        try:
            entries = list(os.scandir(self.volumes_dir))
        except FileNotFoundError:
            return []
        for entry in entries:
            name = entry.name
            if not VOLUME_NAME.match(name) or name.endswith(BUILD_DISK_SUFFIX) or not os.path.ismount(entry.path):
                continue  # ismount is False for a link: only mount points the agent made are asked
            info = os.statvfs(entry.path)
            fills.append(VolumeFill(name, (info.f_blocks - info.f_bfree) * info.f_frsize, info.f_blocks * info.f_frsize))
        return fills

    def _cpu_millicores(self, container_id: str, cpu_ns: int) -> float | None:
        now = self.clock()
        before = self._cpu_seen.get(container_id)
        self._cpu_seen[container_id] = (cpu_ns, now)
        if before is None or now <= before[1] or cpu_ns < before[0]:
            return None
        return (cpu_ns - before[0]) / ((now - before[1]) * 1e9) * 1000

    def _usage_from_daemon(self, container: RunningContainer) -> ContainerUsage | None:
        # Its cgroup is not visible here (another machine's daemon): `docker stats`, 1-2 s each.
        try:
            stats = self.engine.stats(container.id)
        except PlatformError:
            return None  # stopped since the listing
        return ContainerUsage(int(stats.cpu_seconds * 1e9), stats.memory_bytes, stats.memory_limit_bytes, 0)

    def sample_once(self) -> int:
        """Measure, record and prune; returns how many sites were sampled."""
        sites, volumes = self.measure()
        now = timezone.now()
        record_usage(self.host_name, sites, volumes, now)
        prune_usage(now)
        return len(sites)


def _site_usage(volume: str, readings: list[tuple[ContainerUsage, float | None]]) -> SiteUsage:
    """A site's containers together (two while a deploy switches): CPU adds up; memory and limits
    are the largest container's, as a limit holds per container."""
    cpus = [cpu for _, cpu in readings if cpu is not None]
    return SiteUsage(
        volume=volume,
        cpu_millicores=sum(cpus) if cpus else None,
        memory_bytes=max(usage.memory_bytes for usage, _ in readings),
        memory_limit_bytes=max(usage.memory_limit_bytes for usage, _ in readings),
        cpu_limit_millicores=max(usage.cpu_limit_millicores for usage, _ in readings),
    )


class SamplerThread(PeriodicThread):
    def __init__(self, sampler: UsageSampler, interval: float) -> None:
        super().__init__("usage-sampler", interval)
        self.sampler = sampler

    def once(self) -> None:
        try:
            self.sampler.sample_once()
        except TransientError as exc:
            log.warning("usage not sampled: %s", exc, extra={"host": self.sampler.host_name})
        except Exception:  # keep sampling through database hiccups
            log.exception("usage sampling failed", extra={"host": self.sampler.host_name})
        finally:
            close_old_connections()
