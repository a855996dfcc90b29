"""Drain on separate daemons (tests/integration/support/hosts.py): a host's sites move off it under
load with zero failed requests (the deploy's switch: the new instance answers before the edge
changes, the old one serves until then), each once; then the host runs nothing (no instance in
the database, no site container on its daemon); undrained, it gets work again.
"""
from __future__ import annotations

import time

import pytest
from django.utils import timezone

from hosting.models import Host, Instance
from hosting.spec import LABEL_SITE
from sites import drain
from sites.models import Deployment, Site
from sites.pipeline import machine
from sites.pipeline.tasks import SENDER
from tests.integration.support.deploying import served
from tests.integration.support.hosts import running_hosts
from tests.integration.support.processes import wait_for
from tests.integration.test_agent_restarts import finished
from tests.integration.test_failover import Load, moved_off
from tests.integration.test_fleet_hosts import deploy_on

pytestmark = pytest.mark.django_db(transaction=True)

SITES = 3


@pytest.fixture(scope="module")
def pair(platform, tmp_path_factory):
    """Two hosts, each its own daemon and agent: one to drain, one to take its sites."""
    with running_hosts(2, "fd", platform, tmp_path_factory.mktemp("drain")) as hosts:
        yield hosts


def site_containers(host) -> list[str]:
    return host.docker("ps", "-a", "--filter", f"label={LABEL_SITE}", "--format", "{{.Names}}").stdout.split()


def test_it_drains_a_host_under_load_without_a_failed_request_then_undrain_gives_it_work(
        deploy_env, pair, monkeypatch):
    platform = deploy_env[0]
    draining, _ = pair
    sites = deploy_on(deploy_env, draining, SITES, monkeypatch)
    old = {site.name: site.current_instance for site in sites}
    load = Load(platform, [site.name for site in sites])
    load.thread.start()
    time.sleep(1)  # a few rounds before the drain

    host = Host.objects.get(name=draining.name)
    report = drain.drain(host, reason="integration test")
    assert sorted(report.moving) == sorted(old) and report.left == {}, report
    try:
        wait_for(lambda: all(moved_off(site, draining.name) for site in sites) and drain.remaining(host) == 0,
                 180, "every site to serve from another host and the drained host to run nothing")
        time.sleep(1)  # a few rounds after the last switch
    finally:
        load.stop()

    failed = [answer for answer in load.answers if answer[2] != 200]
    print(f"\ndrain of {SITES} sites under load: {len(load.answers)} requests, {len(failed)} failed")
    assert len(load.answers) > 50 and failed == []
    for site in sites:
        assert Deployment.objects.filter(site=site, trigger="restart").count() == 1  # moved once
        assert Instance.objects.get(pk=old[site.name].pk).state == "stopped"  # stopped, never lost
        assert served(platform, site.name).text == "v1\n"
    assert not Instance.objects.filter(host=host, state__in=Instance.RESERVING).exists()
    wait_for(lambda: site_containers(draining) == [], 30, "the drained daemon to hold no site container")
    assert Host.objects.with_reservations().get(pk=host.pk).fleet_state == "drained"

    # Undrained, it gets work again: a restart placed by the platform itself (the other hosts
    # cordoned for the moment, so the choice is not down to free memory) starts there.
    assert drain.undrain(host)
    others = list(Host.objects.exclude(pk=host.pk).filter(cordoned_at__isnull=True).values_list("pk", flat=True))
    Host.objects.filter(pk__in=others).update(cordoned_at=timezone.now())
    try:
        back = machine.roll_out(Site.objects.get(pk=sites[0].pk), Deployment.Trigger.RESTART, "back", SENDER)
    finally:
        Host.objects.filter(pk__in=others).update(cordoned_at=None)
    assert back.host_name == draining.name
    assert finished(back, 120).state == "succeeded", Deployment.objects.get(pk=back.pk).log
    assert served(platform, sites[0].name).text == "v1\n"
    assert len(site_containers(draining)) == 1
