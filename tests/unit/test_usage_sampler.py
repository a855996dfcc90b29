"""The agent's sampler: cgroup files read into CPU (between two rounds), memory and limits, per site."""
from __future__ import annotations

from pathlib import Path

import pytest
from django.utils import timezone

from hosting.cgroups import read_usage
from hosting.instances import purge
from hosting.models import Host, UsageSample, VolumeUsage
from hosting.sampler import UsageSampler
from hosting.spec import RunningContainer
from hosting.usage import SiteUsage, VolumeFill, record_usage

pytestmark = pytest.mark.django_db

FIRST, SECOND, OTHER = "1" * 64, "2" * 64, "3" * 64


def write_cgroup(root: Path, container_id: str, cpu_ns: int, memory: int, inactive: int = 0,
                 limit: int = 128 * 2**20, quota: int = 50000) -> None:
    files = {
        f"cpuacct/docker/{container_id}/cpuacct.usage": cpu_ns,
        f"memory/docker/{container_id}/memory.usage_in_bytes": memory,
        f"memory/docker/{container_id}/memory.limit_in_bytes": limit,
        f"memory/docker/{container_id}/memory.stat": f"cache 5\ntotal_inactive_file {inactive}\n",
        f"cpu/docker/{container_id}/cpu.cfs_quota_us": quota,
        f"cpu/docker/{container_id}/cpu.cfs_period_us": 100000,
    }
    for relative, value in files.items():
        path = root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(f"{value}\n")


class FakeEngine:
    """Our own interface (ContainerEngine.running_on_host), faked; the daemon is never asked for stats."""

    def __init__(self, containers: list[RunningContainer]) -> None:
        self.containers = containers

    def running_on_host(self, host: str) -> list[RunningContainer]:
        return self.containers

    def stats(self, name: str):
        raise AssertionError("the sampler asked the daemon although the cgroup files were there")


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_it_reads_memory_without_inactive_cache_and_the_limits(tmp_path):
    write_cgroup(tmp_path, FIRST, cpu_ns=5, memory=10_000, inactive=4_000, limit=2**63 - 4096, quota=-1)
    usage = read_usage(FIRST, tmp_path)
    assert (usage.cpu_ns, usage.memory_bytes, usage.memory_limit_bytes, usage.cpu_limit_millicores) == (5, 6_000, 0, 0)
    assert read_usage(OTHER, tmp_path) is None
    with pytest.raises(ValueError):
        read_usage("../../etc", tmp_path)


def test_it_measures_cpu_between_rounds_and_adds_a_sites_containers_up(tmp_path, settings):
    volumes = tmp_path / "volumes"
    cgroups = tmp_path / "cgroup"
    containers = [
        RunningContainer(FIRST, "blog", {"/data": str(volumes / "v1"), "/app": "/slugs/x"}),
        RunningContainer(SECOND, "blog", {"/data": str(volumes / "v1")}),  # the next release, while switching
        RunningContainer(OTHER, "shop", {"/data": "/elsewhere/v3"}),  # not a volume of this host
    ]
    write_cgroup(cgroups, FIRST, cpu_ns=1_000_000_000, memory=30 * 2**20)
    write_cgroup(cgroups, SECOND, cpu_ns=0, memory=40 * 2**20)
    write_cgroup(cgroups, OTHER, cpu_ns=0, memory=1)
    clock = Clock()
    sampler = UsageSampler("h1", FakeEngine(containers), volumes, clock=clock, cgroup_root=cgroups)

    sites, fills = sampler.measure()
    assert [(s.volume, s.cpu_millicores) for s in sites] == [("v1", None)]  # nothing to compare with yet
    assert fills == []  # nothing mounted under the volumes folder

    write_cgroup(cgroups, FIRST, cpu_ns=1_000_000_000 + 3 * 10**9, memory=30 * 2**20)  # 3 s of CPU in 10 s
    write_cgroup(cgroups, SECOND, cpu_ns=10**9, memory=40 * 2**20)  # 1 s of CPU in 10 s
    clock.now += 10
    sites, _ = sampler.measure()
    [site] = sites
    assert site.cpu_millicores == pytest.approx(400.0)
    assert (site.memory_bytes, site.memory_limit_bytes, site.cpu_limit_millicores) == (40 * 2**20, 128 * 2**20, 500)


def test_a_round_records_its_samples(tmp_path):
    Host.objects.create(name="h1")
    volumes = tmp_path / "volumes"
    write_cgroup(tmp_path / "cgroup", FIRST, cpu_ns=0, memory=7 * 2**20)
    sampler = UsageSampler("h1", FakeEngine([RunningContainer(FIRST, "blog", {"/data": str(volumes / "v1")})]),
                           volumes, cgroup_root=tmp_path / "cgroup")

    assert sampler.sample_once() == 1
    assert sorted(UsageSample.objects.filter(volume="v1").values_list("resolution", "memory_max_bytes")) == [
        (60, 7 * 2**20), (600, 7 * 2**20), (3600, 7 * 2**20)]


def test_purging_a_deleted_sites_leftovers_forgets_its_usage():
    class RemovingEngine:
        def remove(self, name: str) -> None:
            pass

    host = Host.objects.create(name="h1")
    record_usage("h1", [SiteUsage("v1", 1.0, 1, 1, 1), SiteUsage("v2", 1.0, 1, 1, 1)],
                 [VolumeFill("v1", 1, 2), VolumeFill("v2", 1, 2)], timezone.now())

    purge(RemovingEngine(), host, [], volume="v1")

    assert set(UsageSample.objects.values_list("volume", flat=True)) == {"v2"}
    assert list(VolumeUsage.objects.values_list("volume", flat=True)) == ["v2"]


def test_it_asks_only_mount_points_never_links_or_plain_folders(tmp_path):
    """A link where a volume would be (to the host's root) or a folder that is not a mounted volume
    is never measured: statvfs would report the host's disk as the site's."""
    volumes = tmp_path / "volumes"
    volumes.mkdir()
    (volumes / "linked").symlink_to("/")
    (volumes / "plain").mkdir()
    (volumes / "v1-build").symlink_to("/")
    sampler = UsageSampler("h1", FakeEngine([]), volumes, cgroup_root=tmp_path / "cgroup")

    assert sampler.volume_fills() == []
