"""A real control-plane Celery worker consumes the control queue with JSON messages."""
from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from hosting.models import Host
from hosting.tasks import check_host_heartbeats
from tests.integration.support.processes import wait_for

pytestmark = pytest.mark.django_db(transaction=True)


def test_it_marks_silent_hosts_down_in_the_control_worker(start_process):
    silent = Host.objects.create(name="silent-host", last_heartbeat=timezone.now() - timedelta(minutes=10))
    alive = Host.objects.create(name="alive-host", last_heartbeat=timezone.now() + timedelta(minutes=10))
    worker = start_process(
        "control-worker",
        ["-m", "celery", "-A", "config", "worker", "--queues", "control,proxy", "--hostname", "control-test@%h",
         "--concurrency", "1", "--loglevel", "INFO", "--without-gossip", "--without-mingle"],
    )
    wait_for(lambda: "ready." in worker.output(), 60, "the control worker to start")

    check_host_heartbeats.delay()

    wait_for(lambda: Host.objects.get(pk=silent.pk).down_since is not None, 30, "the silent host marked down")
    assert Host.objects.get(pk=alive.pk).down_since is None
