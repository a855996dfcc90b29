"""Attack: a fork bomb, a memory bomb and a CPU hog, each in its own site container, next to a
neighbour site whose latency is measured before and during the attack.

Each bomb runs for a few seconds. The test asserts that the neighbour answered every request (and
reports its median latency before and during), that the bomb was stopped by its own limit (the
kernel refused its forks at the PIDs limit, killed it at the memory limit, or throttled it to its
CPU share, read from the container's own cgroup), and that the host's other processes could still
start quickly.
"""
from __future__ import annotations

import statistics
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

import pytest
import requests

from hosting.engine_errors import PortInUse
from hosting.spec import ResourceLimits

pytestmark = pytest.mark.django_db

LIMITS = ResourceLimits(memory_mb=64, cpu_millicores=250, pids=32, tmp_mb=8)
BOMB_SECONDS = 4
BOMBS = {
    "fork bomb": "bomb() { bomb | bomb & }; bomb; sleep infinity",
    # Each child grows until the kernel kills it; the loop starts the next one at once.
    "memory bomb": "while :; do python3 -c 'a = []\nwhile True: a.append(bytearray(2**20))'; done",
    "cpu hog": "for i in 1 2 3 4 5 6 7 8; do (while :; do :; done) & done; wait",
}


class Cgroup:
    """A container's cgroup counters as the kernel keeps them (cgroup v1 or v2)."""

    def __init__(self, container_id: str) -> None:
        v1 = Path("/sys/fs/cgroup/pids/docker") / container_id
        self.v1 = v1.is_dir()
        v2_candidates = [Path(f"/sys/fs/cgroup/system.slice/docker-{container_id}.scope"),
                         Path("/sys/fs/cgroup/docker") / container_id]
        self.v2 = next((path for path in v2_candidates if path.is_dir()), None)
        self.id = container_id
        if not self.v1 and self.v2 is None:
            pytest.skip("the container's cgroup is not where Docker's cgroupfs or systemd driver puts it")

    def _v1(self, controller: str, name: str) -> str:
        return (Path("/sys/fs/cgroup") / controller / "docker" / self.id / name).read_text()

    def _v2(self, name: str) -> str:
        return (self.v2 / name).read_text()

    @staticmethod
    def _field(text: str, key: str) -> int:
        return next(int(line.split()[1]) for line in text.splitlines() if line.split()[0] == key)

    def pids(self) -> int:
        return int(self._v1("pids", "pids.current") if self.v1 else self._v2("pids.current"))

    def forks_refused(self) -> int:
        return self._field(self._v1("pids", "pids.events") if self.v1 else self._v2("pids.events"), "max")

    def memory_peak(self) -> int:
        return int(self._v1("memory", "memory.max_usage_in_bytes") if self.v1 else self._v2("memory.peak"))

    def oom_kills(self) -> int:
        if self.v1:
            return self._field(self._v1("memory", "memory.oom_control"), "oom_kill")
        return self._field(self._v2("memory.events"), "oom_kill")

    def cpu_seconds(self) -> float:
        if self.v1:
            return int(self._v1("cpuacct", "cpuacct.usage")) / 1e9
        return self._field(self._v2("cpu.stat"), "usage_usec") / 1e6


@dataclass
class Sample:
    latencies: list[float]
    failures: list[str]
    spawn: list[float]

    @property
    def median_ms(self) -> float:
        return statistics.median(self.latencies) * 1000 if self.latencies else float("inf")

    @property
    def spawn_ms(self) -> float:
        return statistics.median(self.spawn) * 1000


def measure(url: str, seconds: float) -> Sample:
    """Requests to the neighbour, and the time the host takes to start a process, for `seconds`."""
    sample = Sample([], [], [])
    deadline = time.monotonic() + seconds
    with requests.Session() as session:
        while time.monotonic() < deadline:
            started = time.monotonic()
            try:
                response = session.get(url, timeout=5)
                if response.status_code == 200 and response.text == "neighbour is fine":
                    sample.latencies.append(time.monotonic() - started)
                else:
                    sample.failures.append(f"{response.status_code} {response.text[:40]!r}")
            except requests.RequestException as exc:
                sample.failures.append(type(exc).__name__)
            started = time.monotonic()
            subprocess.run(["true"], check=True)  # the host can still fork and exec
            sample.spawn.append(time.monotonic() - started)
            time.sleep(0.02)
    return sample


def host_processes() -> int:
    return sum(1 for entry in Path("/proc").iterdir() if entry.name.isdigit())


def host_available_mb() -> int:
    line = next(line for line in Path("/proc/meminfo").read_text().splitlines() if line.startswith("MemAvailable:"))
    return int(line.split()[1]) // 1024


@pytest.fixture
def neighbour(sites):
    for _ in range(10):  # other test runs on this daemon allocate ports from their own tables
        try:
            return sites.start("static", {"index.html": "neighbour is fine"})
        except PortInUse:
            continue
    pytest.fail("no free port for the neighbour")


@pytest.mark.parametrize("bomb", list(BOMBS))
def test_a_bomb_is_held_by_its_limits_and_the_neighbour_keeps_answering(sites, neighbour, bomb):
    url = neighbour.url + "/"
    before = measure(url, 2)
    processes_before, memory_before = host_processes(), host_available_mb()

    attacker = sites.start("python", {}, command=["bash", "-c", BOMBS[bomb]], wait=False, publish=False, limits=LIMITS)
    cgroup = Cgroup(sites.engine.state(attacker.spec.name).id)
    cpu_before, started = cgroup.cpu_seconds(), time.monotonic()
    during = measure(url, BOMB_SECONDS)
    cpu_used, elapsed = cgroup.cpu_seconds() - cpu_before, time.monotonic() - started
    peak_processes, peak_pids = host_processes(), cgroup.pids()
    memory_during = host_available_mb()
    counters = {"pids now": peak_pids, "forks refused": cgroup.forks_refused(), "memory peak MB": cgroup.memory_peak() >> 20,
                "oom kills": cgroup.oom_kills(), "cores used": round(cpu_used / elapsed, 2)}
    sites.engine.remove(attacker.spec.name)
    after = measure(url, 1)

    report = (f"{bomb}: neighbour median {before.median_ms:.1f} ms before, {during.median_ms:.1f} ms during "
              f"({len(during.latencies)} requests), host spawn {before.spawn_ms:.1f} -> {during.spawn_ms:.1f} ms, "
              f"bomb {counters}, host processes {processes_before} -> {peak_processes}, "
              f"host available memory {memory_before} -> {memory_during} MB")
    print(report)
    # The neighbour answered every request, during and after, without a collapse in latency.
    assert during.failures == [] and after.failures == [], report
    assert during.median_ms < max(10 * before.median_ms, before.median_ms + 100), report
    # The bomb met its own limit.
    assert peak_pids <= LIMITS.pids and counters["memory peak MB"] <= LIMITS.memory_mb, report
    assert counters["cores used"] <= LIMITS.cpu_millicores / 1000 * 1.3, report
    if bomb == "fork bomb":
        assert counters["forks refused"] > 0 and peak_pids >= LIMITS.pids * 0.75, report
    if bomb == "memory bomb":
        assert counters["oom kills"] >= 2, report  # killed, restarted, killed again: the limit held each time
    if bomb == "cpu hog":
        assert counters["cores used"] >= LIMITS.cpu_millicores / 1000 * 0.2, report  # it really did burn CPU (the machine is shared)
    # The host's other processes still start quickly. (The host's totals of processes and memory are
    # reported, not asserted: other test runs share this machine and move them.)
    assert during.spawn_ms < max(10 * before.spawn_ms, before.spawn_ms + 100), report
