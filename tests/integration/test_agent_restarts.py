"""An agent killed mid-deployment, and one restarted under running sites: each on a host of its
own (its own agent on the shared Docker daemon), so the shared platform's agent is not disturbed.

Deployments are made in the test process with placement pinned to that host; the shared
platform's control worker and edge switch and serve them as for any deployment.
"""
from __future__ import annotations

import json
import os
import signal
import time
import uuid

import pytest

from hosting.spec import LABEL_INSTANCE
from hosting.models import Host, Instance
from sites.pipeline import machine as deploys
from sites.pipeline.tasks import SENDER
from sites.models import Deployment, Release, Site
from tests.archives import tar_gz
from tests.integration.support.deploying import create_site, served
from tests.integration.support.processes import wait_for

pytestmark = pytest.mark.django_db(transaction=True)

FINISHED = ("succeeded", "failed")


def start_own_agent(start_process, host_name: str, concurrency: int = 1, **env: str):
    agent = start_process(f"agent-{host_name}-{time.monotonic_ns()}",
                          ["manage.py", "agent", "--name", host_name, "--concurrency", str(concurrency)],
                          HEARTBEAT_INTERVAL="1", HOST_DOWN_AFTER="10", **env)
    wait_for(lambda: "ready." in agent.output() or agent.popen.poll() is not None, 90, f"the agent of {host_name}")
    assert agent.popen.poll() is None, agent.output()
    return agent


def deploy_archive(site: Site, files: dict[str, bytes], host_name: str, monkeypatch) -> Deployment:
    monkeypatch.setattr(deploys, "place_instance", lambda *limits: Host.objects.get(name=host_name))
    site.refresh_from_db()  # as a request loads it: with the instance that serves it now

    def write_archive(path_for) -> None:
        path = path_for(".upload")
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(tar_gz(files))

    return deploys.deploy_source(site, Deployment.Trigger.ARCHIVE, "archive", write_archive, SENDER)


def finished(deployment: Deployment, timeout: float) -> Deployment:
    return wait_for(lambda: Deployment.objects.filter(pk=deployment.pk, state__in=FINISHED).first(), timeout,
                    f"deployment {deployment.pk} to end")


def containers_of(engine, site: str, deployment: Deployment) -> list:
    own = {f"u{deployment.pk}", f"d{deployment.pk}", f"r{deployment.pk}"}
    return [c for c in engine.list_site_containers(site) if c.labels.get(LABEL_INSTANCE) in own]


def serving_site(deploy_env, start_process, monkeypatch, prefix: str):
    """A host of its own with its agent, and a static site serving v1 from it."""
    platform = deploy_env[0]
    host_name = f"{prefix}-{uuid.uuid4().hex[:6]}"
    agent = start_own_agent(start_process, host_name)
    site = Site.objects.get(name=create_site(deploy_env, prefix))
    first = finished(deploy_archive(site, {"public/index.html": b"v1\n"}, host_name, monkeypatch), 120)
    assert first.state == "succeeded", first.log
    wait_for(lambda: served(platform, site.name).text == "v1\n", 30, "v1 to be served")
    return host_name, agent, site


SLOW_NODE_APP = {
    "package.json": json.dumps({
        "name": "slow", "version": "1.0.0", "private": True,
        "scripts": {"build": "sleep 600", "start": "node -e \"require('http').createServer((q, s) => "
                                                   "s.end('v2')).listen(process.env.PORT)\""},
    }).encode(),
}


def test_it_fails_a_deployment_whose_agent_was_killed_mid_build_once_and_leaves_no_container(
        deploy_env, start_process, engine, monkeypatch):
    platform = deploy_env[0]
    host_name, agent, site = serving_site(deploy_env, start_process, monkeypatch, "killed")
    slow = deploy_archive(site, SLOW_NODE_APP, host_name, monkeypatch)
    wait_for(lambda: any(c.labels.get(LABEL_INSTANCE) == f"d{slow.pk}" and c.running
                         for c in engine.list_site_containers(site.name)), 180, "the build container to run")

    os.kill(agent.popen.pid, signal.SIGKILL)
    restarted = start_own_agent(start_process, host_name)

    failed = finished(slow, 60)
    assert failed.state == "failed"
    assert "restarted during this deployment" in failed.error
    assert containers_of(engine, site.name, slow) == []
    assert served(platform, site.name).text == "v1\n"  # the previous release kept serving

    # A late delivery of the same message (acks_late redelivers what a dead agent held) does nothing.
    from sites import tasks

    late = tasks.build.apply_async(args=[slow.pk, host_name], queue=f"host.{host_name}")
    wait_for(lambda: f"{late.id}] succeeded" in restarted.output(), 60, "the late delivery to be taken")
    again = Deployment.objects.get(pk=slow.pk)
    assert (again.state, again.finished_at, again.log.count("failed.")) == ("failed", failed.finished_at, 1)
    assert Release.objects.filter(site=site).count() == 1
    assert containers_of(engine, site.name, slow) == []


def started(engine, name: str) -> tuple[str, str, int]:
    attrs = engine.inspect(name)
    return attrs["Id"], attrs["State"]["StartedAt"], attrs["RestartCount"]


def test_an_agent_restart_neither_recreates_nor_restarts_healthy_containers(
        deploy_env, start_process, engine, monkeypatch):
    platform = deploy_env[0]
    host_name, agent, site = serving_site(deploy_env, start_process, monkeypatch, "steady")
    running = list(Instance.objects.filter(site_label=site.name, state="running").values_list("name", flat=True))
    assert running
    before = {name: started(engine, name) for name in running}

    os.kill(agent.popen.pid, signal.SIGKILL)
    restarted = start_own_agent(start_process, host_name)  # reconciles once before it takes work
    from hosting.tasks import reconcile

    pass_ = reconcile.apply_async(args=[host_name], queue=f"host.{host_name}")  # as beat sends it
    wait_for(lambda: f"{pass_.id}] succeeded" in restarted.output(), 60, "a reconcile pass")

    assert {name: started(engine, name) for name in running} == before
    assert served(platform, site.name).text == "v1\n"
    assert "reconciled: {'restarted': 0, 'moved': 0, 'lost': 0" in restarted.output()
