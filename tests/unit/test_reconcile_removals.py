"""Nothing keeps running for a release that failed: reconcile removes the containers of failed
deployments, of starts abandoned half way and of deleted sites (the fleet's own containers no row
knows of), and leaves alone what serves, what is still starting and what another platform runs on
the same daemon. Docker is faked at our own interface (ContainerEngine's methods)."""
from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import pytest
from django.utils import timezone

from accounts.services import create_organization
from hosting import instances
from hosting.models import Host, HostPort, Instance
from hosting.engine_errors import PortInUse
from hosting.reconcile import instance_lost, reconcile_host
from hosting.spec import LABEL_FLEET, LABEL_HOST, LABEL_SITE, ContainerState
from sites.models import Deployment, Release, Site, Slug
from sites.services import create_site

pytestmark = pytest.mark.django_db


class Daemon:
    """Every named container runs; `extra` lists containers no row names."""

    def __init__(self, names: list[str], extra: dict[str, dict[str, str]]) -> None:
        self.containers = {name: {LABEL_SITE: "shop"} for name in names} | extra
        self.removed: list[str] = []

    def _state(self, name: str) -> ContainerState:
        return ContainerState(name=name, id=name, status="running", running=True, exit_code=None, oom_killed=False,
                              labels=self.containers[name], host_port=None, address="172.30.0.5")

    def state(self, name: str) -> ContainerState:
        return self._state(name)

    def list_site_containers(self, site=None) -> list[ContainerState]:
        return [self._state(name) for name in self.containers]

    def remove(self, name: str) -> None:
        self.removed.append(name)
        self.containers.pop(name, None)


@pytest.fixture
def host() -> Host:
    return Host.objects.create(name="h1", memory_mb=4096, cpus=2, last_heartbeat=timezone.now())


def deployment(site: Site, state: str, finished_ago: timedelta | None = None) -> Deployment:
    slug = Slug.objects.create(site=site, sha256="0" * 64, size_bytes=1, runtime="static", source="abc")
    release = Release.objects.create(site=site, version=Release.objects.filter(site=site).count() + 1, slug=slug,
                                     encrypted_config="", description="d")
    finished = timezone.now() - finished_ago if finished_ago is not None else None
    return Deployment.objects.create(site=site, trigger="push", release=release, state=state, finished_at=finished)


def instance(host: Host, deployment_id: int, state: str = Instance.State.RUNNING, age=timedelta(0)) -> Instance:
    name = f"site-shop-v1-d{deployment_id}"
    HostPort.objects.create(host=host, port=20000 + deployment_id, holder=name)
    return Instance.objects.create(host=host, name=name, site_label="shop", release_label="v1", port=20000 + deployment_id,
                                   container_address="172.30.0.5", state=state, created_at=timezone.now() - age)


def test_reconcile_removes_what_must_not_run_and_keeps_what_serves(host, settings):
    settings.DRAIN_SECONDS = 2
    site = create_site(create_organization("acme", "owner@example.com"), "shop")
    live = instance(host, deployment(site, Deployment.State.SUCCEEDED, timedelta(hours=1)).pk)
    Site.objects.filter(pk=site.pk).update(current_instance=live)
    failed = instance(host, deployment(site, Deployment.State.FAILED, timedelta(seconds=1)).pk)
    switching = instance(host, deployment(site, Deployment.State.RELEASING).pk)
    draining = instance(host, deployment(site, Deployment.State.SUCCEEDED, timedelta(seconds=1)).pk)
    replaced = instance(host, deployment(site, Deployment.State.SUCCEEDED, timedelta(minutes=10)).pk)
    starting = instance(host, deployment(site, Deployment.State.RELEASING).pk, Instance.State.STARTING)
    abandoned = instance(host, deployment(site, Deployment.State.RELEASING).pk, Instance.State.STARTING,
                         age=timedelta(hours=1))
    ours = {LABEL_SITE: "gone", LABEL_FLEET: instances.fleet_id(), LABEL_HOST: "h1"}
    daemon = Daemon([i.name for i in (live, failed, switching, draining, replaced, starting, abandoned)], {
        "site-gone-v3-d999": ours,  # a deleted site's: no row any more
        "site-other-v1-d1": {**ours, LABEL_FLEET: "0123456789abcdef"},  # another platform's on this daemon
        "site-other-v1-d2": {**ours, LABEL_HOST: "h2"},  # another host's of this platform
        "site-tbuild-v1-u5": {LABEL_SITE: "tbuild"},  # a build: not an instance of the fleet
    })

    counts = reconcile_host(host, daemon)

    assert sorted(daemon.removed) == sorted([failed.name, replaced.name, abandoned.name, "site-gone-v3-d999"])
    assert counts["removed"] == 4
    states = dict(Instance.objects.values_list("name", "state"))
    assert {states[i.name] for i in (failed, replaced, abandoned)} == {"failed"}
    assert {states[i.name] for i in (live, switching, draining)} == {"running"} and states[starting.name] == "starting"
    assert set(HostPort.objects.values_list("holder", flat=True)) == {i.name for i in (live, switching, draining, starting)}

    reconcile_host(host, daemon)  # a second round finds nothing more to do
    assert len(daemon.removed) == 4


class PortTakenDaemon(Daemon):
    """Every container stopped; starting one again finds its host port taken by something else."""

    def _state(self, name: str) -> ContainerState:
        return replace(super()._state(name), running=False, status="exited")

    def start_existing(self, name: str) -> ContainerState:
        raise PortInUse("Bind for 127.0.0.1:20001 failed: port is already allocated")


def test_a_container_whose_port_was_taken_is_replaced_once(host):
    site = create_site(create_organization("acme", "owner@example.com"), "shop")
    stopped = instance(host, deployment(site, Deployment.State.SUCCEEDED, timedelta(hours=1)).pk)
    # Stopped by its owner meanwhile, so the sites layer starts nothing new (no queue in this tier).
    Site.objects.filter(pk=site.pk).update(current_instance=stopped, desired_state=Site.DesiredState.STOPPED)
    daemon = PortTakenDaemon([stopped.name], {})
    lost: list[str] = []
    instance_lost.connect(lambda sender, instance, **kw: lost.append(instance.name), weak=False, dispatch_uid="t-lost")
    try:
        reconcile_host(host, daemon)
    finally:
        instance_lost.disconnect(dispatch_uid="t-lost")
    assert lost == [stopped.name] and daemon.removed == [stopped.name] and not HostPort.objects.exists()
    # A reconcile racing this one (beat's and the agent's) finds the row claimed: no second replacement.
    assert Instance.objects.get(pk=stopped.pk).state == "failed" and not instances.mark_lost(stopped)
