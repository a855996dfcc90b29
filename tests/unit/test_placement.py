"""Placement across a fleet: more sites than fit get the clear NoHostAvailable and no host is
reserved past MEMORY_OVERCOMMIT / CPU_OVERCOMMIT; cordoned, down and imageless hosts get nothing;
a deployment asks for its runtime's image."""
from __future__ import annotations

import importlib
import threading
import time
from datetime import timedelta

import pytest
from django.db import connection, transaction
from django.utils import timezone

from accounts.models import Plan
from accounts.services import create_organization

from hosting import image_catalog
from hosting.models import Host, Instance, RuntimeImage
from hosting.placement import NoHostAvailable, place_instance
from sites import services
from sites.models import Deployment
from sites.pipeline import machine
from tests.unit.test_failover import running_site
from tests.unit.test_pipeline_machine import Recorder, write_source

pytestmark = pytest.mark.django_db
SEEDED_PLANS = importlib.import_module("accounts.migrations.0002_seed_plans").PLANS


def host(name: str, memory_mb: int = 1024, cpus: int = 1, **fields) -> Host:
    return Host.objects.create(name=name, memory_mb=memory_mb, cpus=cpus, last_heartbeat=timezone.now(), **fields)


def start_on(placed: Host, number: int) -> None:
    """What the agent records when it starts the placed instance: its reservation."""
    Instance.objects.create(host=placed, name=f"site-s{number}-v1-d{number}", site_label=f"s{number}",
                            release_label="v1", memory_mb=256, cpu_millicores=250, state=Instance.State.RUNNING)


def test_it_places_sites_until_the_fleet_is_full_then_refuses_the_rest_clearly(settings):
    settings.MEMORY_OVERCOMMIT, settings.CPU_OVERCOMMIT = 1.5, 2
    host("h1", memory_mb=1024, cpus=1)  # 1536 MB and 2000 millicores to place: 6 of 256 MB
    host("h2", memory_mb=2048, cpus=1)  # 3072 MB but 2000 millicores: CPU caps it at 8
    placed, refused = [], []
    for number in range(20):
        try:
            chosen = place_instance(256, 250)
        except NoHostAvailable as exc:
            refused.append(str(exc))
            continue
        start_on(chosen, number)
        placed.append(chosen.name)

    assert (placed.count("h1"), placed.count("h2"), len(refused)) == (6, 8, 6)
    assert refused[0].startswith("No host has room for 256 MB and 250 millicores right now")
    for row in Host.objects.with_reservations():
        assert row.reserved_memory_mb <= row.memory_mb * settings.MEMORY_OVERCOMMIT
        assert row.reserved_millicores <= row.cpus * 1000 * settings.CPU_OVERCOMMIT


def test_it_gives_cordoned_down_and_imageless_hosts_nothing():
    static = image_catalog.current_tags(["static"])
    host("cordoned", memory_mb=64000, cordoned_at=timezone.now())
    Host.objects.create(name="silent", memory_mb=64000, cpus=1, last_heartbeat=timezone.now() - timedelta(hours=1))
    host("fenced", memory_mb=64000, down_since=timezone.now())
    imageless = host("imageless", memory_mb=64000)
    ready = host("ready", memory_mb=512)
    for runtime, tag in static.items():
        for holder in [ready, *Host.objects.filter(name__in=["cordoned", "silent", "fenced"])]:
            RuntimeImage.objects.create(host=holder, runtime=runtime, tag=tag)
    RuntimeImage.objects.create(host=imageless, runtime="os", tag=static["os"])  # the OS image, not static's

    assert {place_instance(128, 100, "static").name for _ in range(3)} == {"ready"}
    with pytest.raises(NoHostAvailable):
        place_instance(1024, 100, "static")  # only the hosts that may not have it have room

    Host.objects.filter(name="ready").update(cordoned_at=timezone.now())
    with pytest.raises(NoHostAvailable, match="No host has the current static images yet"):
        place_instance(128, 100, "static")  # the live hosts lack it: said so, not "no room"


def test_a_down_host_holding_the_only_current_images_does_not_keep_the_live_hosts_from_work():
    """Failover: the lost host was the only one that had recorded the images; the survivors get
    its sites rather than none at all."""
    static = image_catalog.current_tags(["static"])
    lost = host("lost", memory_mb=64000, down_since=timezone.now())
    for runtime, tag in static.items():
        RuntimeImage.objects.create(host=lost, runtime=runtime, tag=tag)
    host("survivor", memory_mb=512)

    assert place_instance(128, 100, "static").name == "survivor"


def test_a_restart_asks_placement_for_the_runtime_of_the_release_it_starts(monkeypatch, tmp_path, settings):
    settings.EDGE_DIR = tmp_path / "edge"
    spare = host("spare", memory_mb=8192, cpus=4)
    site = running_site("shop", spare)  # an auto site whose release runs the static runtime
    asked = []
    monkeypatch.setattr(machine, "place_instance", lambda *args: asked.append(args) or spare)

    machine.roll_out(site, Deployment.Trigger.RESTART, "restart", Recorder())

    [args] = asked
    assert args == (site.plan.memory_mb, site.plan.cpu_millicores, "static", machine.promised)


@pytest.mark.django_db(transaction=True)
def test_two_placements_at_once_do_not_both_take_the_last_room(settings):
    """Each placer records its promise (a deployment) in the transaction that placed it, as a
    drain or failover does: the second waits for the first's host lock, then sees its promise."""
    for plan in SEEDED_PLANS:  # an earlier transactional test may have flushed the seeded plans
        Plan.objects.get_or_create(name=plan["name"], defaults=plan)
    settings.MEMORY_OVERCOMMIT = 1
    host("last", memory_mb=300, cpus=4)  # room for one 256 MB site
    sites = [services.create_site(create_organization(name, f"{name}@example.com"), name) for name in ("shop", "blog")]
    barrier, outcomes = threading.Barrier(2), []

    def place(site) -> None:
        try:
            barrier.wait()
            with transaction.atomic():
                chosen = place_instance(256, 250, None, machine.promised)
                time.sleep(0.3)  # the other placer runs meanwhile
                Deployment.objects.create(site=site, trigger="restart", host_name=chosen.name)
            outcomes.append(chosen.name)
        except NoHostAvailable:
            outcomes.append("refused")
        finally:
            connection.close()

    placers = [threading.Thread(target=place, args=(site,)) for site in sites]
    for placer in placers:
        placer.start()
    for placer in placers:
        placer.join()

    assert sorted(outcomes) == ["last", "refused"]


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("kind", ["push", "restart"])
def test_two_deployments_at_once_do_not_both_take_the_last_room(settings, tmp_path, monkeypatch, kind):
    """deploy_source and roll_out place inside the transaction that records the deployment: the
    second waits for the first's host lock. Writing the log line is slowed so that the two overlap
    between the placement and the commit."""
    for plan in SEEDED_PLANS:
        Plan.objects.get_or_create(name=plan["name"], defaults=plan)
    settings.MEMORY_OVERCOMMIT, settings.EDGE_DIR, settings.ARCHIVES_DIR = 1, tmp_path / "edge", tmp_path / "archives"
    home = host("home", memory_mb=8192, cpus=4)
    sites = [running_site(name, home) for name in ("shop", "blog")]
    Host.objects.filter(pk=home.pk).update(cordoned_at=timezone.now())  # the room left is on "last" only
    host("last", memory_mb=sites[0].plan.memory_mb * 3 // 2, cpus=4)
    log_line = machine.append_to_log
    monkeypatch.setattr(machine, "append_to_log", lambda *args: time.sleep(0.3) or log_line(*args))
    barrier, outcomes = threading.Barrier(2), []

    def deploy(site) -> None:
        try:
            barrier.wait()
            if kind == "push":
                made = machine.deploy_source(site, "push", "abc (main)", write_source, Recorder())
            else:
                made = machine.roll_out(site, Deployment.Trigger.RESTART, "restart", Recorder())
            outcomes.append(made.host_name)
        except NoHostAvailable:
            outcomes.append("refused")
        finally:
            connection.close()

    deployers = [threading.Thread(target=deploy, args=(site,)) for site in sites]
    for deployer in deployers:
        deployer.start()
    for deployer in deployers:
        deployer.join()

    assert sorted(outcomes) == ["last", "refused"]
    if kind == "push":  # the refused push kept no archive, staged or not
        [kept] = (tmp_path / "archives").iterdir()
        assert kept.name == f"{Deployment.objects.get(trigger='push', state='building').pk}.tar"
