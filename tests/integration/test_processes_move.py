"""Process containers follow their site's web instance to another host (separate daemons,
tests/integration/support/hosts.py): a drain moves the site, and in the same step its worker starts
on the new host after the switch and stops on the drained one, so the drained host runs nothing."""
from __future__ import annotations

import pytest
from django.utils import timezone

from accounts.models import Plan
from hosting.models import Host, Instance
from sites import drain, formation
from sites.models import Site
from sites.pipeline.tasks import SENDER
from tests.integration.support.hosts import running_hosts
from tests.integration import test_fleet_hosts
from tests.integration.support.processes import wait_for
from tests.integration.test_agent_restarts import deploy_archive
from tests.integration.test_failover import moved_off
from tests.integration.test_fleet_drain import site_containers
from tests.integration.test_fleet_hosts import deploy_on

pytestmark = pytest.mark.django_db(transaction=True)

WORKER = "worker: while true; do date +%s > /data/worker-beat; sleep 1; done\n"


@pytest.fixture(scope="module")
def pair(platform, tmp_path_factory):
    with running_hosts(2, "fp", platform, tmp_path_factory.mktemp("procs")) as hosts:
        yield hosts


def workers_on(host) -> list[str]:
    return [name for name in site_containers(host) if "-worker-" in name]


def test_a_drain_moves_the_workers_with_their_site(deploy_env, pair, monkeypatch):
    draining, other = pair
    Plan.objects.update(max_processes=2)
    # deploy_on's static site, with a worker in its Procfile (deploy_on undoes the patch when done)
    monkeypatch.setattr(test_fleet_hosts, "deploy_archive", lambda site, files, host_name, patch: deploy_archive(
        site, {**files, "Procfile": WORKER.encode()}, host_name, patch))
    [site] = deploy_on(deploy_env, draining, 1, monkeypatch)
    formation.scale(site, {"worker": 1}, SENDER)
    wait_for(lambda: workers_on(draining), 60, "the worker to start beside the web instance")
    [old_worker] = workers_on(draining)

    # Only the other harness host takes it (not the platform's own), so its daemon is the one to look at.
    elsewhere = Host.objects.exclude(name__in=[draining.name, other.name]).filter(cordoned_at__isnull=True)
    cordoned = list(elsewhere.values_list("pk", flat=True))
    elsewhere.update(cordoned_at=timezone.now())
    try:
        report = drain.drain(Host.objects.get(name=draining.name), reason="integration test")
    finally:
        Host.objects.filter(pk__in=cordoned).update(cordoned_at=None)
    assert list(report.moving) == [site.name], report
    assert wait_for(lambda: moved_off(site, draining.name), 120, "the site to serve from the other host"
                    ).host.name == other.name
    wait_for(lambda: workers_on(other), 60, "the worker to start on the new host")
    wait_for(lambda: workers_on(draining) == [] and drain.remaining(Host.objects.get(name=draining.name)) == 0,
             60, "the drained host to run no worker and hold no instance")
    [new_worker] = workers_on(other)
    assert new_worker != old_worker  # the new web instance's generation
    row = Instance.objects.get(name=new_worker)
    assert (row.process, row.state, row.host.name) == ("worker", "running", other.name)
    assert Site.objects.get(pk=site.pk).formation == {"worker": 1}

