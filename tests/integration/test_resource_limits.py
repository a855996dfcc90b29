"""A tenant cannot starve its neighbours: memory, PIDs and CPU limits hold under abuse."""
from __future__ import annotations

import time

import pytest
import requests

from hosting.spec import ResourceLimits
from tests.integration.support.processes import wait_for

pytestmark = pytest.mark.django_db


@pytest.fixture
def neighbour(sites):
    return sites.start("static", {"index.html": "neighbour is fine"})


def answers(site) -> bool:
    response = requests.get(site.url + "/", timeout=5)
    return response.status_code == 200 and response.text == "neighbour is fine"


def test_a_memory_hog_is_oom_killed_alone(sites, neighbour):
    hog = "a = []\nwhile True:\n    a.append(bytearray(10**6))\n"

    result = sites.run_once("python", ["python3", "-c", hog], timeout=60,
                            limits=ResourceLimits(memory_mb=64, cpu_millicores=500, pids=32))

    assert result.oom_killed is True
    assert result.exit_code == 137  # SIGKILL from the kernel's OOM killer
    assert answers(neighbour)


def test_a_fork_bomb_stays_at_its_pids_limit(sites, neighbour):
    bomb = sites.start("python", {}, command=["bash", "-c", "bomb() { bomb | bomb & }; bomb; sleep infinity"],
                       wait=False, limits=ResourceLimits(memory_mb=128, cpu_millicores=250, pids=48))

    peak = 0
    deadline = time.monotonic() + 8
    while time.monotonic() < deadline:
        peak = max(peak, sites.engine.stats(bomb.spec.name).pids)
        assert answers(neighbour)
        time.sleep(0.5)

    assert 40 <= peak <= 48, f"peak of {peak} processes"
    assert answers(neighbour)


def _requests_served(site, seconds: float) -> int:
    count = 0
    deadline = time.monotonic() + seconds
    with requests.Session() as session:
        while time.monotonic() < deadline:
            session.get(site.url + "/", timeout=5).raise_for_status()
            count += 1
    return count


def test_a_cpu_hog_gets_its_share_and_no_more(sites, neighbour):
    alone = _requests_served(neighbour, 3)
    busy_loops = "for i in 1 2 3 4; do (while :; do :; done) & done; wait"
    hog = sites.start("python", {}, command=["bash", "-c", busy_loops], wait=False,
                      limits=ResourceLimits(memory_mb=64, cpu_millicores=250, pids=16))
    wait_for(lambda: sites.engine.stats(hog.spec.name).cpu_seconds > 0.2, 20, "the hog to start burning CPU")

    before = sites.engine.stats(hog.spec.name).cpu_seconds
    started = time.monotonic()
    with_hog = _requests_served(neighbour, 3)
    used = sites.engine.stats(hog.spec.name).cpu_seconds - before
    elapsed = time.monotonic() - started

    # Four busy loops would take both cores; the plan gives the hog a quarter of one.
    assert used / elapsed < 0.25 * 1.3, f"the hog used {used / elapsed:.2f} cores"
    assert with_hog >= alone * 0.5, f"neighbour served {with_hog} requests with the hog, {alone} alone"
