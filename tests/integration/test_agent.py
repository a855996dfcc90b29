"""The agent really registers its host from the real Docker daemon and heartbeats."""
from __future__ import annotations

import docker
import pytest

from hosting.models import Host
from hosting.tasks import refresh_capacity
from tests.integration.support.processes import wait_for

pytestmark = pytest.mark.django_db(transaction=True)


def test_it_registers_the_host_with_the_daemons_capacity_then_heartbeats(start_agent):
    name, agent = start_agent()

    host = wait_for(lambda: Host.objects.filter(name=name).first(), 60, f"the agent to register {name}")
    info = docker.from_env().info()
    assert host.cpus == info["NCPU"]
    assert host.memory_mb == info["MemTotal"] // (1024 * 1024)
    assert host.docker_version == info["ServerVersion"]
    assert host.kernel_version == info["KernelVersion"]
    assert host.is_up()

    first = host.last_heartbeat
    wait_for(
        lambda: Host.objects.get(name=name).last_heartbeat > first, 20, "the heartbeat to advance"
    )
    assert agent.popen.poll() is None, agent.output()


def test_it_shows_a_host_as_down_once_its_agent_stops(start_agent, settings):
    settings.HOST_DOWN_AFTER = 3
    name, agent = start_agent()
    wait_for(lambda: Host.objects.filter(name=name, last_heartbeat__isnull=False).exists(), 60, "registration")
    agent.stop()

    wait_for(lambda: not Host.objects.get(name=name).is_up(), 15, "the silent host to show as down")


def test_it_runs_a_host_task_only_on_that_hosts_agent(start_agent):
    first_name, first = start_agent("one")
    second_name, second = start_agent("two")
    for name in (first_name, second_name):
        wait_for(lambda: Host.objects.filter(name=name).exists(), 60, f"{name} to register")
    wait_for(lambda: "ready." in first.output() and "ready." in second.output(), 60, "both workers ready")

    result = refresh_capacity.apply_async(args=[second_name], queue=f"host.{second_name}")

    wait_for(lambda: f"{result.id}] succeeded" in second.output(), 30, "the second agent to run the task")
    assert result.id not in first.output()
