from __future__ import annotations

from datetime import timedelta
from types import SimpleNamespace

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from hosting import fleet
from hosting.spec import DaemonCapacity
from hosting.models import Host
from hosting.placement import NoHostAvailable, place_instance

pytestmark = pytest.mark.django_db

CAPACITY = DaemonCapacity(cpus=4, memory_mb=8192, docker_version="20.10.24", kernel_version="6.1", operating_system="Debian")


def test_it_registers_a_new_host_and_updates_it_on_restart():
    host = fleet.register_host("web-1", CAPACITY, "10.0.0.5")
    assert (host.cpus, host.memory_mb, str(host.service_address)) == (4, 8192, "10.0.0.5")
    assert host.is_up()

    bigger = DaemonCapacity(cpus=8, memory_mb=16384, docker_version="24.0", kernel_version="6.1", operating_system="Debian")
    again = fleet.register_host("web-1", bigger, "10.0.0.5")
    assert again.pk == host.pk
    assert (again.cpus, again.memory_mb, again.docker_version) == (8, 16384, "24.0")
    assert again.registered_at == host.registered_at


def test_it_refuses_a_second_host_on_a_sqlite_control_plane(monkeypatch):
    monkeypatch.setattr("hosting.fleet.database_vendor", lambda: "sqlite")
    fleet.register_host("web-1", CAPACITY, "10.0.0.5")
    fleet.register_host("web-1", CAPACITY, "10.0.0.5")  # the one host restarts: fine
    with pytest.raises(fleet.SingleHostDatabase, match="web-1 is registered already. Move it to PostgreSQL"):
        fleet.register_host("web-2", CAPACITY, "10.0.0.6")
    assert list(Host.objects.values_list("name", flat=True)) == ["web-1"]


def test_it_stops_a_second_hosts_agent_on_sqlite_with_the_reason(monkeypatch):
    monkeypatch.setattr("hosting.fleet.database_vendor", lambda: "sqlite")
    monkeypatch.setattr("hosting.agent.ContainerEngine", lambda: SimpleNamespace(capacity=lambda: CAPACITY))
    fleet.register_host("web-1", CAPACITY, "10.0.0.5")
    with pytest.raises(CommandError, match="only a single host can use"):
        call_command("agent", "--name", "web-2")
    assert not Host.objects.filter(name="web-2").exists()


def test_it_refuses_a_host_name_that_is_not_a_dns_label():
    with pytest.raises(ValueError, match="not a valid host name"):
        fleet.register_host("web_1; rm -rf /", CAPACITY, "127.0.0.1")


def test_it_finds_a_host_down_after_the_configured_silence(settings):
    settings.HOST_DOWN_AFTER = 30
    now = timezone.now()
    host = Host(name="h", last_heartbeat=now - timedelta(seconds=29))
    assert host.is_up(now)
    host.last_heartbeat = now - timedelta(seconds=31)
    assert not host.is_up(now)
    assert Host(name="never").status == "down"


def test_it_marks_silent_hosts_down_once():
    fleet.register_host("alive", CAPACITY, "127.0.0.1")
    Host.objects.create(name="silent", last_heartbeat=timezone.now() - timedelta(hours=1))

    assert fleet.mark_silent_hosts_down() == 1
    assert fleet.mark_silent_hosts_down() == 0
    assert Host.objects.get(name="silent").down_since is not None
    assert Host.objects.get(name="alive").down_since is None


def test_it_keeps_a_down_host_down_until_its_agent_has_fenced_it():
    Host.objects.create(name="back", last_heartbeat=timezone.now() - timedelta(hours=1), down_since=timezone.now())

    assert fleet.record_heartbeat("back", CAPACITY) is False  # the agent must fence first
    fleet.register_host("back", CAPACITY, "127.0.0.1")  # nor does an agent's start make it placeable
    host = Host.objects.get(name="back")
    assert not host.is_up() and host.down_since is not None
    with pytest.raises(NoHostAvailable):
        place_instance(64, 100)

    fleet.host_fenced("back")
    host = Host.objects.get(name="back")
    assert host.is_up() and host.down_since is None
    assert place_instance(64, 100).name == "back"
    assert fleet.record_heartbeat("back", CAPACITY) is True
