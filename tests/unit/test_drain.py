"""Cordon and drain at their service interface, and through `manage.py`: a cordoned host gets no
new work, a drain gives each site on the host one restart deployment placed elsewhere without
touching the instance that serves it, a site no host has room for stays and is reported, and every
change is audited. The Sender (our interface to Celery) records."""
from __future__ import annotations

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from accounts.models import AuditEvent
from hosting import cordon
from hosting.models import Host, Instance
from hosting.placement import NoHostAvailable, place_instance
from sites import drain
from sites.models import Deployment, Site
from tests.unit.test_failover import edge_dir, live_host, recorder, running_site  # noqa: F401 (fixtures)

pytestmark = pytest.mark.django_db


@pytest.fixture
def drained_sender(recorder, monkeypatch):  # noqa: F811
    monkeypatch.setattr(drain, "SENDER", recorder)
    return recorder


@pytest.fixture
def old() -> Host:
    return live_host("old")


def moves(site: Site) -> list[Deployment]:
    return list(Deployment.objects.filter(site=site, trigger="restart"))


def test_it_gives_a_cordoned_host_no_new_work_and_work_again_once_uncordoned(old):
    assert cordon.cordon(old, "disk  replacement ") is True
    assert cordon.cordon(old, "again") is False  # the first reason and time stay

    with pytest.raises(NoHostAvailable):
        place_instance(64, 100)
    assert Host.objects.get(pk=old.pk).cordon_reason == "disk replacement"

    assert cordon.uncordon(old) is True and cordon.uncordon(old) is False
    assert place_instance(64, 100) == old
    assert list(AuditEvent.objects.filter(target="old").values_list("action", flat=True).order_by("id")) == [
        "staff.host_cordon", "staff.host_uncordon"]


def test_it_moves_each_site_of_a_drained_host_elsewhere_once_and_leaves_the_old_instance_serving(old, drained_sender):
    live_host("spare")
    shop, blog = running_site("shop", old), running_site("blog", old)

    report = drain.drain(old)
    again = drain.drain(old)  # a second drain (a double click, a retried command) moves nothing more

    assert report.moving == {"shop": "spare", "blog": "spare"} and report.left == {}
    assert again.moving == {} and sorted(again.under_way) == ["blog", "shop"]
    for site in (shop, blog):
        [move] = moves(site)
        assert move.host_name == "spare" and move.state == Deployment.State.RELEASING
        # The old instance is the site's until the switch: still running, still current.
        assert Instance.objects.get(pk=site.current_instance_id).state == Instance.State.RUNNING
        assert Site.objects.get(pk=site.pk).current_instance_id == site.current_instance_id
        assert AuditEvent.objects.filter(action="site.drain_move", site_name=site.name,
                                         organization=site.organization).count() == 1
    assert ("stop", shop.current_instance_id) not in drained_sender.sent
    host = Host.objects.with_reservations().get(pk=old.pk)
    assert host.cordoned_at is not None and host.fleet_state == "draining"
    assert AuditEvent.objects.filter(action="staff.host_drain", target="old").count() == 2


def test_it_leaves_a_site_no_host_has_room_for_serving_and_says_why(old, drained_sender):
    Host.objects.create(name="small", memory_mb=100, cpus=4, last_heartbeat=timezone.now())
    shop = running_site("shop", old)

    report = drain.drain(old)

    assert report.moving == {} and list(report.left) == ["shop"] and "No host has room" in report.left["shop"]
    assert moves(shop) == [] and Instance.objects.get(pk=shop.current_instance_id).state == "running"
    [event] = AuditEvent.objects.filter(action="staff.host_drain")
    assert "No host has room" in event.detail["left"]["shop"]

    live_host("spare")  # room again: draining again moves it
    assert drain.drain(old).moving == {"shop": "spare"}


def test_sites_drained_together_spread_over_the_room_there_is_and_the_rest_stay(old, drained_sender, settings):
    settings.MEMORY_OVERCOMMIT = 1
    for name in ("spare-1", "spare-2"):  # room for one site each (the plan reserves 256 MB)
        Host.objects.create(name=name, memory_mb=300, cpus=4, last_heartbeat=timezone.now())
    for name in ("shop", "blog", "wiki"):
        running_site(name, old)

    report = drain.drain(old)

    # Placed one after another before any has started: each counts the moves placed before it.
    assert sorted(report.moving.values()) == ["spare-1", "spare-2"] and len(report.left) == 1
    assert "No host has room" in next(iter(report.left.values()))


def test_it_counts_a_host_empty_once_no_instance_runs_there_and_undrain_gives_it_work(old, drained_sender):
    live_host("spare")
    shop = running_site("shop", old)
    drain.drain(old)
    assert drain.remaining(old) == 1

    Instance.objects.filter(pk=shop.current_instance_id).update(state=Instance.State.STOPPED)  # after the switch
    assert drain.wait_until_empty(old, timeout=1, interval=0.01) == 0
    assert Host.objects.with_reservations().get(pk=old.pk).fleet_state == "drained"

    assert drain.undrain(old) is True
    assert Host.objects.with_reservations().get(pk=old.pk).fleet_state == "up"
    assert AuditEvent.objects.filter(action="staff.host_undrain", target="old").exists()
    Host.objects.filter(name="spare").delete()
    assert place_instance(64, 100) == old


def test_it_moves_a_site_whose_deployment_under_way_is_bound_to_the_drained_host(old, drained_sender):
    spare = live_host("spare")
    shop = running_site("shop", spare)
    Deployment.objects.create(site=shop, trigger="push", state="building", host_name="old")

    report = drain.drain(old)

    assert report.moving == {"shop": "spare"}  # queued behind the build, it takes the site off again


def test_the_commands_cordon_drain_and_undrain_a_host_and_refuse_an_unknown_one(old, drained_sender, capsys):
    live_host("spare")
    running_site("shop", old)

    call_command("cordon", "old", "--reason", "kernel update")
    assert Host.objects.get(pk=old.pk).cordon_reason == "kernel update"
    call_command("uncordon", "old")
    assert Host.objects.get(pk=old.pk).cordoned_at is None
    call_command("drain", "old")
    assert "moving shop to spare" in capsys.readouterr().out
    call_command("undrain", "old")
    assert Host.objects.get(pk=old.pk).cordoned_at is None

    for command in ("cordon", "uncordon", "drain", "undrain"):
        with pytest.raises(CommandError, match="There is no host named 'nowhere'"):
            call_command(command, "nowhere")


def test_the_drain_command_fails_when_a_site_cannot_move(old, drained_sender):
    running_site("shop", old)
    with pytest.raises(CommandError, match="1 site"):
        call_command("drain", "old", "--wait", "--timeout", "1")
    assert Host.objects.get(pk=old.pk).cordoned_at is not None  # cordoned all the same


def test_a_cordon_reason_longer_than_the_column_is_refused_clearly(old):
    with pytest.raises(CommandError, match="at most 200"):
        call_command("cordon", "old", "--reason", "x" * 201)
    assert Host.objects.get(pk=old.pk).cordoned_at is None


def test_a_stopped_site_has_nothing_to_move(old, drained_sender):
    live_host("spare")
    shop = running_site("shop", old)
    Site.objects.filter(pk=shop.pk).update(current_instance=None, desired_state=Site.DesiredState.STOPPED)

    assert drain.drain(old).moving == {}
