"""Failover and fencing at their own interfaces: the sites of a host found down start elsewhere
once each, however many checks run; a site no host has room for waits, recorded, and is retried;
a returning host removes the stale containers before it is placeable, and nothing routes to them
again. Docker is faked at ContainerEngine's methods; the Sender (our interface to Celery) records."""
from __future__ import annotations

import importlib
import threading
import time
from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone

from accounts.models import AuditEvent, Plan
from accounts.services import create_organization
from hosting import agent, fleet
from hosting.models import Host, Instance
from hosting.reconcile import reconcile_host
from hosting.spec import LABEL_INSTANCE, LABEL_SITE, ContainerState
from proxy.models import Route
from sites import failover, healing, recovery, services
from sites.config_crypto import encrypt_config
from sites.models import Deployment, Release, Site, Slug
from sites.pipeline import machine, routes
from tests.unit.test_pipeline_machine import Recorder

pytestmark = pytest.mark.django_db

LONG_AGO = timedelta(minutes=10)
SEEDED_PLANS = importlib.import_module("accounts.migrations.0002_seed_plans").PLANS


@pytest.fixture(autouse=True)
def edge_dir(settings, tmp_path):
    settings.EDGE_DIR = tmp_path / "edge"
    settings.SITE_CONTAINER_PORT = 8080


@pytest.fixture
def recorder(monkeypatch) -> Recorder:
    recorder = Recorder()
    monkeypatch.setattr(failover, "SENDER", recorder)
    monkeypatch.setattr(services, "SENDER", recorder)
    return recorder


@pytest.fixture
def lost() -> Host:
    """A host whose agent fell silent ten minutes ago."""
    return Host.objects.create(name="lost", memory_mb=8192, cpus=4, last_heartbeat=timezone.now() - LONG_AGO)


def live_host(name: str = "spare") -> Host:
    return Host.objects.create(name=name, memory_mb=8192, cpus=4, last_heartbeat=timezone.now())


def running_site(name: str, host: Host) -> Site:
    site = services.create_site(create_organization(name, f"{name}@example.com"), name)
    slug = Slug.objects.create(site=site, sha256="0" * 64, size_bytes=1, runtime="static", source="abc")
    release = Release.objects.create(site=site, version=1, slug=slug, description="v1",
                                     encrypted_config=encrypt_config({}))
    deployment = Deployment.objects.create(site=site, trigger="push", release=release, state="succeeded",
                                           host_name=host.name, finished_at=timezone.now() - LONG_AGO)
    instance = Instance.objects.create(host=host, name=f"site-{name}-v1-d{deployment.pk}", site_label=name,
                                       release_label="v1", state="running", container_address="172.30.0.5",
                                       memory_mb=128, cpu_millicores=100)
    Site.objects.filter(pk=site.pk).update(current_release=release, current_instance=instance,
                                           desired_state=Site.DesiredState.RUNNING)
    site = Site.objects.get(pk=site.pk)
    routes.route_live(site, instance)
    return site


def moves(site: Site) -> list[Deployment]:
    return list(Deployment.objects.filter(site=site, trigger="restart"))


def test_it_starts_each_site_of_a_down_host_elsewhere_exactly_once(lost, recorder):
    live_host()
    shop, blog = running_site("shop", lost), running_site("blog", lost)

    assert fleet.mark_silent_hosts_down() == 1
    fleet.mark_silent_hosts_down()  # the next beat tick
    failover.fail_over_site(shop.pk, Host.objects.get(name="lost"))  # a redelivered task

    for site in (shop, blog):
        [move] = moves(site)
        assert move.host_name == "spare" and move.state == Deployment.State.RELEASING
        assert Instance.objects.get(pk=site.current_instance_id).state == Instance.State.FAILED
        assert AuditEvent.objects.filter(action="site.failover", site_name=site.name).count() == 1
    assert sorted(recorder.sent) == sorted([("start", moves(shop)[0].pk), ("start", moves(blog)[0].pk)])


def test_it_records_a_site_no_host_has_room_for_and_retries_it_on_the_next_check(lost, recorder):
    shop = running_site("shop", lost)

    fleet.mark_silent_hosts_down()
    fleet.mark_silent_hosts_down()

    assert moves(shop) == []
    assert Instance.objects.get(pk=shop.current_instance_id).state == Instance.State.RUNNING  # claim kept open
    [waiting] = AuditEvent.objects.filter(action=failover.WAITING, site_name="shop")
    assert waiting.organization == shop.organization and "no other host has room" in waiting.detail["reason"]

    live_host()
    fleet.mark_silent_hosts_down()
    [move] = moves(shop)
    assert move.host_name == "spare"


def test_a_move_that_failed_is_tried_again_after_a_minute_not_on_every_check(lost, recorder):
    live_host()
    shop = running_site("shop", lost)
    fleet.mark_silent_hosts_down()
    [move] = moves(shop)
    machine.fail(move, "It did not answer.", recorder)

    fleet.mark_silent_hosts_down()
    assert len(moves(shop)) == 1
    Deployment.objects.filter(pk=move.pk).update(finished_at=timezone.now() - failover.RETRY_AFTER)
    fleet.mark_silent_hosts_down()
    assert len(moves(shop)) == 2


def test_it_fails_a_deployment_stuck_on_the_down_host_and_starts_the_current_release_elsewhere(lost, recorder):
    live_host()
    shop = running_site("shop", lost)
    stuck = Deployment.objects.create(site=shop, trigger="config", release=shop.current_release, state="releasing",
                                      host_name="lost", task_id="t1")

    fleet.mark_silent_hosts_down()

    stuck.refresh_from_db()
    assert stuck.state == Deployment.State.FAILED and "lost stopped answering" in stuck.error
    [move] = moves(shop)
    assert move.host_name == "spare" and move.release == shop.current_release


def test_a_deployment_stuck_on_the_down_host_fails_even_while_no_host_has_room(lost, recorder):
    shop = running_site("shop", lost)
    stuck = Deployment.objects.create(site=shop, trigger="config", release=shop.current_release, state="building",
                                      host_name="lost", task_id="t1")

    fleet.mark_silent_hosts_down()

    stuck.refresh_from_db()
    assert stuck.state == Deployment.State.FAILED and "lost stopped answering" in stuck.error
    assert moves(shop) == [] and AuditEvent.objects.filter(action=failover.WAITING, site_name="shop").exists()


def test_a_first_deploy_placed_on_the_down_host_fails_saying_to_deploy_again(lost, recorder):
    live_host()
    new = services.create_site(create_organization("new", "new@example.com"), "new")
    first = Deployment.objects.create(site=new, trigger="push", state="building", host_name="lost", task_id="t1")
    served = running_site("served", live_host("other"))
    moving_in = Deployment.objects.create(site=served, trigger="config", release=served.current_release,
                                          state="releasing", host_name="lost", task_id="t2")

    fleet.mark_silent_hosts_down()
    fleet.mark_silent_hosts_down()  # a second check changes nothing

    for stranded in (first, moving_in):
        stranded.refresh_from_db()
        assert stranded.state == Deployment.State.FAILED and stranded.error == failover.STRANDED.format(host="lost")
    assert moves(new) == [] and moves(served) == []
    assert Site.objects.get(pk=served.pk).current_instance == served.current_instance


def test_it_leaves_alone_a_site_whose_host_came_back_before_its_turn(lost, recorder):
    live_host()
    shop = running_site("shop", lost)
    Host.objects.filter(pk=lost.pk).update(down_since=timezone.now())
    fleet.host_fenced("lost")

    assert failover.fail_over_site(shop.pk, Host.objects.get(pk=lost.pk)) is None
    assert moves(shop) == []


class ReturningDaemon:
    """The returning host's containers all still run (a partition, or an agent killed -9)."""

    def __init__(self, names: list[str]) -> None:
        self.containers = set(names)
        self.removed: list[str] = []

    def _state(self, name: str) -> ContainerState:
        return ContainerState(name=name, id=name, status="running", running=True, exit_code=None, oom_killed=False,
                              labels={LABEL_SITE: name.split("-")[1]}, host_port=None, address="172.30.0.9")

    def state(self, name: str) -> ContainerState:
        return self._state(name)

    def list_site_containers(self, site=None) -> list[ContainerState]:
        return [self._state(name) for name in sorted(self.containers)]

    def remove(self, name: str) -> None:
        self.removed.append(name)
        self.containers.discard(name)


def test_a_returning_host_removes_the_stale_containers_and_never_routes_them_again(lost, recorder):
    spare = live_host()
    shop = running_site("shop", lost)
    stale = shop.current_instance
    fleet.mark_silent_hosts_down()
    [move] = moves(shop)
    # Before the switch, its host reports the claimed instance running at a new address: no route to it.
    Instance.objects.filter(pk=stale.pk).update(container_address="172.30.0.9")
    healing.follow_moved_instance(Instance, instance=Instance.objects.get(pk=stale.pk))
    assert {tuple(upstreams) for upstreams in Route.objects.values_list("upstreams", flat=True)} == {("172.30.0.5:8080",)}
    moved = Instance.objects.create(host=spare, name=f"site-shop-v1-d{move.pk}", site_label="shop",
                                    release_label="v1", state="running", container_address="172.30.0.7")
    machine.switch_to(move.pk, moved.pk, recorder)
    daemon = ReturningDaemon([stale.name])

    # Its heartbeat resumes: refused until the agent has fenced (what the agent's Heartbeat does).
    assert fleet.record_heartbeat("lost", fleet.DaemonCapacity(4, 8192, "", "", "")) is False
    reconcile_host(Host.objects.get(name="lost"), daemon)
    fleet.host_fenced("lost")

    assert daemon.removed == [stale.name]
    assert Host.objects.get(name="lost").is_up()
    # A late "it runs at this address" about the stale instance changes no route.
    healing.follow_moved_instance(Instance, instance=Instance.objects.get(pk=stale.pk))
    assert {tuple(upstreams) for upstreams in Route.objects.values_list("upstreams", flat=True)} == {("172.30.0.7:8080",)}


@pytest.mark.django_db(transaction=True)
def test_two_concurrent_recoveries_of_a_host_start_one_instance_per_site(lost, recorder, monkeypatch):
    """Two workers (two beat ticks, a redelivered task) recover the same host at the same moment:
    each site's row lock makes the second find the first's move. Placement is slowed so that the
    two overlap inside the claim."""
    for plan in SEEDED_PLANS:  # an earlier transactional test may have flushed the seeded plans
        Plan.objects.get_or_create(name=plan["name"], defaults=plan)
    live_host()
    sites = [running_site(name, lost) for name in ("shop", "blog", "wiki")]
    Host.objects.filter(pk=lost.pk).update(down_since=timezone.now())
    place = machine.place_instance

    def slow_place(*args):
        time.sleep(0.2)
        return place(*args)

    monkeypatch.setattr(machine, "place_instance", slow_place)
    barrier = threading.Barrier(2)

    def recover() -> None:
        try:
            barrier.wait()
            failover.fail_over_hosts(Host, hosts=[Host.objects.get(pk=lost.pk)])
        finally:
            connection.close()

    workers = [threading.Thread(target=recover) for _ in range(2)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()

    assert [len(moves(site)) for site in sites] == [1, 1, 1]
    assert len([sent for sent in recorder.sent if sent[0] == "start"]) == 3


class OneOffs(ReturningDaemon):
    def __init__(self, labels: dict[str, str]) -> None:
        super().__init__(list(labels))
        self.labels = labels

    def _state(self, name: str) -> ContainerState:
        return ContainerState(name=name, id=name, status="running", running=True, exit_code=None, oom_killed=False,
                              labels={LABEL_SITE: "shop", LABEL_INSTANCE: self.labels[name]}, host_port=None,
                              address=None)


def test_a_returning_agent_removes_the_build_of_a_deployment_failover_failed(lost, recorder):
    live_host()
    shop = running_site("shop", lost)
    building = Deployment.objects.create(site=shop, trigger="push", state="building", host_name="lost", task_id="t")
    elsewhere = Deployment.objects.create(site=shop, trigger="push", state="failed", host_name="spare")
    fleet.mark_silent_hosts_down()
    daemon = OneOffs({f"site-shop-build-{building.pk}": f"u{building.pk}",
                      f"site-shop-build-{elsewhere.pk}": f"u{elsewhere.pk}"})

    recovery.fail_interrupted_deployments_on_start(Host, host=Host.objects.get(name="lost"), engine=daemon)

    assert daemon.removed == [f"site-shop-build-{building.pk}"]  # another host's container is not this one's


def test_a_resumed_heartbeat_of_a_down_host_fences_before_the_host_is_alive_again(lost, monkeypatch):
    """A partitioned agent never restarted: its heartbeat thread is what fences (hosting/agent.py)."""
    Host.objects.filter(pk=lost.pk).update(down_since=timezone.now())
    order = []
    monkeypatch.setattr(agent, "reconcile_host", lambda host, engine: order.append(("reconcile", host.is_up())) or {})
    monkeypatch.setattr(agent, "ensure_site_firewall", lambda: [])
    monkeypatch.setattr(agent, "close_old_connections", lambda: None)  # the test's own connection

    class Capacity:
        def capacity(self):
            return fleet.DaemonCapacity(4, 8192, "", "", "")

    agent.Heartbeat("lost", Capacity(), 1).beat_once()

    assert order == [("reconcile", False)]  # fenced while still down
    assert Host.objects.get(pk=lost.pk).is_up()
    agent.Heartbeat("lost", Capacity(), 1).beat_once()
    assert order == [("reconcile", False)]  # alive: no more fencing
