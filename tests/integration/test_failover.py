"""A host lost under load, then back: its sites serve again from another host within 60 s, each
started once, and the returning host removes its stale containers before it is alive again.

Host A is an agent of its own on the shared Docker daemon. `kill -9` of that agent leaves its
containers running, as a host cut off from the control plane would; the platform's beat finds the
host silent (HOST_DOWN_AFTER=10 on the test platform) and its control worker fails the sites over.
A load generator hits every site through the edge on loopback the whole time.
"""
from __future__ import annotations

import json
import os
import signal
import statistics
import threading
import time
import uuid

import pytest

from hosting.models import Host, Instance
from hosting.spec import LABEL_HOST
from proxy.models import Route
from sites.models import Deployment, Site
from tests.integration.support.deploying import create_site, served
from tests.integration.support.processes import wait_for
from tests.integration.test_agent_restarts import SLOW_NODE_APP, containers_of, deploy_archive, finished, start_own_agent

pytestmark = pytest.mark.django_db(transaction=True)

# How many sites the lost host runs; `make bench` (bench/failover.py) asks for several counts.
SITE_COUNTS = [int(count) for count in os.environ.get("FAILOVER_SITES", "3").split(",")]
RECOVERY_LIMIT = 60.0


class Load:
    """Requests every site through the edge in turn until stopped; keeps each answer."""

    def __init__(self, platform, names: list[str]) -> None:
        self.platform, self.names = platform, names
        self.answers: list[tuple[float, str, int]] = []
        self.running = True
        self.thread = threading.Thread(target=self.run, daemon=True)

    def run(self) -> None:
        while self.running:
            for name in self.names:
                try:
                    status = served(self.platform, name).status_code
                except Exception:  # a refused connection is a failed request too
                    status = 0
                self.answers.append((time.monotonic(), name, status))

    def stop(self) -> None:
        self.running = False
        self.thread.join(10)


def sites_on(deploy_env, host_name: str, count: int, monkeypatch) -> list[Site]:
    sites = [Site.objects.get(name=create_site(deploy_env, "fo")) for _ in range(count)]
    deployments = [deploy_archive(site, {"public/index.html": b"v1\n"}, host_name, monkeypatch) for site in sites]
    for deployment in deployments:
        assert finished(deployment, 240).state == "succeeded", deployment.log
    monkeypatch.undo()  # placement is the platform's own again: failover picks any live host
    return [Site.objects.select_related("current_instance").get(pk=site.pk) for site in sites]


def moved_off(site: Site, host_name: str) -> Instance | None:
    site.refresh_from_db()
    instance = Instance.objects.select_related("host").filter(pk=site.current_instance_id).first()
    return instance if instance and instance.host.name != host_name and instance.state == "running" else None


def record(count: int, recovered: dict[str, float], requests: int, failed: int) -> None:
    """For bench/failover.py: one JSON line per run into FAILOVER_RESULTS, when set."""
    if os.environ.get("FAILOVER_RESULTS"):
        with open(os.environ["FAILOVER_RESULTS"], "a") as out:
            out.write(json.dumps({"sites": count, "worst": max(recovered.values()),
                                  "median": statistics.median(recovered.values()),
                                  "requests": requests, "failed": failed}) + "\n")


@pytest.mark.parametrize("count", SITE_COUNTS)
def test_a_lost_hosts_sites_serve_again_elsewhere_and_its_stale_containers_go_when_it_returns(
        deploy_env, start_process, engine, monkeypatch, count):
    platform = deploy_env[0]
    host_name = f"fo-a-{uuid.uuid4().hex[:6]}"
    agent = start_own_agent(start_process, host_name)
    sites = sites_on(deploy_env, host_name, count, monkeypatch)
    stale = {site.name: site.current_instance for site in sites}
    load = Load(platform, [site.name for site in sites])
    load.thread.start()

    killed_at = time.monotonic()
    os.kill(agent.popen.pid, signal.SIGKILL)
    recovered: dict[str, float] = {}

    def all_moved() -> bool:
        for site in sites:
            if site.name not in recovered and moved_off(site, host_name) and served(platform, site.name).ok:
                recovered[site.name] = time.monotonic() - killed_at
        return len(recovered) == len(sites)

    wait_for(all_moved, RECOVERY_LIMIT + 30, "every site to serve from another host")
    worst = max(recovered.values())
    print(f"\nfailover of {len(sites)} sites: worst {worst:.1f} s, "
          f"each {sorted(round(t, 1) for t in recovered.values())}")
    assert worst < RECOVERY_LIMIT
    for site in sites:
        assert Deployment.objects.filter(site=site, trigger="restart").count() == 1  # started once
        assert Instance.objects.get(pk=stale[site.name].pk).state == "failed"
        stale_upstream = f"{stale[site.name].container_address}:5000"
        assert all(stale_upstream not in route.upstreams for route in Route.objects.filter(group=site.route_group))

    # A comes back: its stale containers (still running on the shared daemon) go before it is up.
    start_own_agent(start_process, host_name)
    wait_for(lambda: Host.objects.get(name=host_name).down_since is None, 60, "the host to be fenced and back")
    names = {container.name for container in engine.list_site_containers()}
    assert names.isdisjoint(instance.name for instance in stale.values())
    time.sleep(3)  # a few more rounds of load after the return
    load.stop()
    failed = [answer for answer in load.answers if answer[2] != 200]
    print(f"requests: {len(load.answers)}, failed: {len(failed)}")
    record(count, recovered, len(load.answers), len(failed))
    assert failed == []
    for site in sites:
        assert served(platform, site.name).text == "v1\n"


def test_an_agent_killed_mid_build_and_not_back_fails_its_deployment_once_and_the_old_release_serves_elsewhere(
        deploy_env, start_process, engine, monkeypatch):
    platform = deploy_env[0]
    host_name = f"fo-b-{uuid.uuid4().hex[:6]}"
    agent = start_own_agent(start_process, host_name)
    [site] = sites_on(deploy_env, host_name, 1, monkeypatch)
    slow = deploy_archive(site, SLOW_NODE_APP, host_name, monkeypatch)
    monkeypatch.undo()
    wait_for(lambda: containers_of(engine, site.name, slow), 180, "the build container to run")

    os.kill(agent.popen.pid, signal.SIGKILL)  # its build container keeps running, as on a cut-off host

    failed = finished(slow, 60)
    assert failed.state == "failed" and "stopped answering" in failed.error
    wait_for(lambda: moved_off(site, host_name) is not None, 60, "the site to start on another host")
    assert served(platform, site.name).text == "v1\n"  # the old release, from another host
    assert Deployment.objects.filter(site=site, trigger="restart").count() == 1

    start_own_agent(start_process, host_name)
    wait_for(lambda: Host.objects.get(name=host_name).down_since is None, 60, "the host to be fenced and back")
    assert containers_of(engine, site.name, slow) == []  # no orphan build
    assert not [c for c in engine.list_site_containers(site.name) if c.labels.get(LABEL_HOST) == host_name]
    assert Deployment.objects.get(pk=slow.pk).finished_at == failed.finished_at  # failed once
