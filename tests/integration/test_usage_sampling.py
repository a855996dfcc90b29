"""The agent samples a real running site container: memory, CPU and its volume's fill arrive in
the database, in buckets of every resolution, and old buckets are pruned."""
from __future__ import annotations

import datetime
import time
import uuid
from dataclasses import replace

import pytest
from django.conf import settings
from django.utils import timezone

from hosting.models import Host, UsageSample, VolumeUsage
from hosting.readiness import HealthCheck, wait_until_healthy
from hosting.sampler import UsageSampler
from hosting.spec import LABEL_HOST
from tests.integration.support.processes import wait_for

pytestmark = pytest.mark.django_db(transaction=True)


def start_site_on(sites, host_name: str):
    """A static site container started for `host_name` (the label its agent samples by), with a volume."""
    spec = sites.make_spec("static", {"index.html": "sampled\n"}, disk_mb=32)
    spec = replace(spec, labels={**spec.labels, LABEL_HOST: host_name})
    sites.engine.start(spec)
    wait_until_healthy(sites.engine, spec.name, spec.service_address, spec.host_port, spec.container_port,
                       HealthCheck(), timeout=60)
    return spec


def test_the_agent_samples_a_running_container_into_bounded_buckets(start_process, sites):
    host_name = f"usage-{uuid.uuid4().hex[:8]}"
    spec = start_site_on(sites, host_name)
    volume = spec.site  # the lab names each volume after its site
    stale = timezone.now() - datetime.timedelta(days=9)
    Host.objects.create(name=host_name)  # the agent registers over it
    UsageSample.objects.bulk_create([UsageSample(volume=volume, resolution=seconds, start=stale)
                                     for seconds in (60, 600, 3600)])

    agent = start_process(f"agent-{host_name}", ["manage.py", "agent", "--name", host_name, "--concurrency", "1"],
                          HEARTBEAT_INTERVAL="1", HOST_DOWN_AFTER="5", METRICS_INTERVAL="1")

    def sampled_cpu():
        return UsageSample.objects.filter(volume=volume, resolution=60, cpu_samples__gt=0).first()

    minute = wait_for(sampled_cpu, 60, "two rounds of samples of the container")
    assert minute.memory_max_bytes > 0, agent.output()
    assert minute.memory_limit_bytes == 128 * 2**20  # the lab's limits
    assert minute.cpu_limit_millicores == 500
    assert minute.cpu_millicores >= 0
    assert set(UsageSample.objects.filter(volume=volume).values_list("resolution", flat=True)) == {60, 600, 3600}
    assert not UsageSample.objects.filter(volume=volume, start=stale).exists()  # pruned
    fill = VolumeUsage.objects.get(host__name=host_name, volume=volume)
    assert 0 < fill.used_bytes < fill.size_bytes <= 32 * 2**20
    # Bounded: a bucket per resolution and minute so far, not a row per sample.
    started = minute.start
    assert UsageSample.objects.filter(volume=volume, resolution=60).count() <= (timezone.now() - started).seconds // 60 + 2
    assert UsageSample.objects.filter(volume=volume, resolution=3600).count() <= 2


def test_a_round_reads_cgroup_files_not_dockers_slow_stats(sites):
    """`docker stats` takes 1-2 s per container here; the cgroup files take well under a millisecond."""
    host_name = f"usage-{uuid.uuid4().hex[:8]}"
    spec = start_site_on(sites, host_name)
    sampler = UsageSampler(host_name, sites.engine, settings.VOLUMES_DIR)

    sampler.measure()
    time.sleep(0.5)
    began = time.monotonic()
    site_usages, fills = sampler.measure()
    took = time.monotonic() - began

    [usage] = site_usages
    assert usage.volume == spec.site and usage.memory_bytes > 0 and usage.cpu_millicores is not None
    assert spec.site in {fill.volume for fill in fills}
    assert took < 0.5, f"one round for one container took {took:.2f} s"
