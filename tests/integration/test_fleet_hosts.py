"""Three hosts, each its own Docker daemon in its own network namespace with its own address and a
real agent, joined with `manage.py add_host` and sharing no disk with the control plane
(tests/integration/support/hosts.py): each builds and releases a site over /internal/v1 and the
edge serves it, and a host lost
under load (daemon, containers and agent killed) has its sites served again from another host within
60 s, each started once; when it comes back its stale containers are gone before it is up again.
"""
from __future__ import annotations

import json
import os
import statistics
import time
from pathlib import Path

import pytest
from django.conf import settings

from accounts.models import Plan
from hosting.health import check_hosts
from hosting.host_tokens import token_digest
from hosting.models import Host, Instance
from sites.models import Deployment, Site
from tests.integration.support.deploying import create_site, served
from tests.integration.support.hosts import DockerHost, running_hosts
from tests.integration.support.processes import wait_for
from tests.integration.test_agent_restarts import deploy_archive, finished
from tests.integration.test_failover import Load, moved_off

pytestmark = pytest.mark.django_db(transaction=True)

HOSTS = 3
# How many sites the lost host runs; `make bench` (bench/fleet_failover.py) asks for 10 and 50.
SITE_COUNTS = [int(count) for count in os.environ.get("FLEET_FAILOVER_SITES", "3").split(",")]
RECOVERY_LIMIT = 60.0


@pytest.fixture(scope="module")
def fleet(platform, tmp_path_factory):
    """Three hosts for the module: daemons, images (saved once, loaded into each) and agents."""
    with running_hosts(HOSTS, "fh", platform, tmp_path_factory.mktemp("fleet")) as hosts:
        yield hosts


def restore_token(host: DockerHost) -> None:
    """The host's token as add_host gave it: the database is emptied after every test
    (pytest-django's flush) while a module's hosts run on; the agent's heartbeat brings its Host
    row back but not the token's digest, which only add_host stores."""
    wait_for(lambda: Host.objects.filter(name=host.name).exists(), 30, f"host {host.name} to register again")
    Host.objects.filter(name=host.name).update(token_digest=token_digest(host.joined["HOST_TOKEN"]))


def deploy_on(deploy_env, host: DockerHost, count: int, monkeypatch) -> list[Site]:
    restore_token(host)
    Plan.objects.update(max_sites=100)  # the benchmark puts 50 sites on one host, more than a plan allows
    sites = [Site.objects.get(name=create_site(deploy_env, "fh")) for _ in range(count)]
    deployments = [deploy_archive(site, {"public/index.html": b"v1\n"}, host.name, monkeypatch) for site in sites]
    for deployment in deployments:
        assert finished(deployment, 240).state == "succeeded", deployment.log
    monkeypatch.undo()  # placement is the platform's own again
    return [Site.objects.select_related("current_instance__host").get(pk=site.pk) for site in sites]


def test_it_builds_and_serves_a_site_on_each_host_over_the_internal_channel(deploy_env, fleet, monkeypatch):
    platform = deploy_env[0]
    for host in fleet:
        assert not host.data_dir.is_relative_to(settings.DATA_DIR)
        [site] = deploy_on(deploy_env, host, 1, monkeypatch)
        assert check_hosts()[host.name]["ok"]  # up, as /healthz shows staff
        instance = site.current_instance
        assert instance.host.name == host.name and instance.host.service_address == host.address
        assert instance.upstream == f"{host.address}:{instance.port}"  # the host's address, its published port
        assert served(platform, site.name).text == "v1\n"
        assert instance.name in host.docker("ps", "--format", "{{.Names}}").stdout.split()
        # Built there and uploaded to the control plane's store; released from the host's own cache.
        sha = site.current_release.slug.sha256
        assert (Path(settings.SLUGS_DIR) / f"{sha}.tar.gz").is_file()
        assert (host.data_dir / "slugs" / f"{sha}.tar.gz").is_file()
        assert (host.data_dir / "volumes" / f"{site.uuid.hex}-build").is_mount()  # the slug unpacked on its disk


def record(recovered: dict[str, float], requests: int, failed: int) -> None:
    """For bench/fleet_failover.py: one JSON line per run into FLEET_FAILOVER_RESULTS, when set."""
    if os.environ.get("FLEET_FAILOVER_RESULTS"):
        with open(os.environ["FLEET_FAILOVER_RESULTS"], "a") as out:
            out.write(json.dumps({"sites": len(recovered), "worst": max(recovered.values()),
                                  "median": statistics.median(recovered.values()),
                                  "requests": requests, "failed": failed}) + "\n")


@pytest.mark.parametrize("count", SITE_COUNTS)
def test_it_serves_a_lost_hosts_sites_from_another_host_and_removes_its_stale_containers_when_it_returns(
        deploy_env, fleet, monkeypatch, count):
    platform = deploy_env[0]
    lost = fleet[0]
    for host in fleet[1:]:
        restore_token(host)  # they fetch the lost host's slugs
    sites = deploy_on(deploy_env, lost, count, monkeypatch)
    stale = {site.name: site.current_instance for site in sites}
    load = Load(platform, [site.name for site in sites])
    load.thread.start()

    killed_at = time.monotonic()
    lost.kill()
    recovered: dict[str, float] = {}

    def all_moved() -> bool:
        for site in sites:
            if site.name not in recovered and moved_off(site, lost.name) and served(platform, site.name).ok:
                recovered[site.name] = time.monotonic() - killed_at
        return len(recovered) == len(sites)

    try:
        wait_for(all_moved, RECOVERY_LIMIT + 30, "every site to serve from another host")
    finally:
        load.stop()
    failed = sum(1 for answer in load.answers if answer[2] != 200)
    worst = max(recovered.values())
    print(f"\nfleet failover of {len(sites)} sites: worst {worst:.1f} s, median "
          f"{statistics.median(recovered.values()):.1f} s; requests {len(load.answers)}, failed {failed}")
    now = Instance.objects.filter(pk__in=[site.current_instance_id for site in sites])
    print("now on hosts:", sorted(set(now.values_list("host__name", flat=True))))
    record(recovered, len(load.answers), failed)
    assert worst < RECOVERY_LIMIT
    for site in sites:
        assert Deployment.objects.filter(site=site, trigger="restart").count() == 1  # started once
        assert Instance.objects.get(pk=stale[site.name].pk).state == "failed"
        assert served(platform, site.name).text == "v1\n"

    # The host comes back (its daemon, then its agent): its stale containers go before it is up.
    lost.start_daemon()
    lost.start_agent()
    wait_for(lambda: Host.objects.get(name=lost.name).down_since is None, 60, "the host to be fenced and back")
    left = set(lost.docker("ps", "-a", "--format", "{{.Names}}").stdout.split())
    assert left.isdisjoint(instance.name for instance in stale.values())
