"""Redis restarts: a message waiting in the queue survives (appendonly), and the deployment it
carries runs exactly once when the queue is back, even when the message comes twice.

A Redis of the test's own (the launcher's start_redis, as `make run` starts it) with its own agent
and control worker, so the shared platform's Redis is not disturbed.
"""
from __future__ import annotations

import os
import signal
import time
import uuid

import pytest
from celery import Celery

from launcher.services import start_redis
from core.redis_client import redis_client
from sites.models import Deployment, Release, Site
from sites.pipeline import archives
from tests.archives import tar_gz
from tests.integration.support.deploying import create_site, served
from tests.integration.support.processes import wait_for
from tests.integration.test_agent_restarts import FINISHED, containers_of, start_own_agent

pytestmark = pytest.mark.django_db(transaction=True)


class OwnRedis:
    def __init__(self, directory) -> None:
        self.socket = directory / "run" / "redis.sock"
        self.directory = directory
        self.url = f"redis+socket://{self.socket}"
        self.process = self.start()

    def start(self):
        return start_redis(self.socket, self.directory / "data", self.directory / "logs", persistent=True)

    def restart(self, kill: bool = False) -> None:
        if kill:
            os.kill(self.process.popen.pid, signal.SIGKILL)
            self.process.popen.wait()
        self.process.stop()  # graceful: Redis writes its append-only file and exits
        self.process = self.start()

    def waiting(self, queue: str) -> int:
        client = redis_client(self.url)
        try:
            return client.llen(queue)
        finally:
            client.close()


@pytest.fixture
def own_redis(tmp_path):
    redis = OwnRedis(tmp_path / "redis")
    yield redis
    redis.process.stop()


def send(redis: OwnRedis, task: str, args: list, queue: str) -> None:
    # Not the current app: the test process sends its other tasks to the shared Redis still.
    sender = Celery("sender", broker=redis.url, set_as_current=False)
    try:
        sender.send_task(task, args=args, queue=queue)
    finally:
        sender.close()


@pytest.mark.parametrize("kill", [False, True], ids=["stopped", "killed"])
def test_a_waiting_message_survives_a_redis_restart(own_redis, kill):
    queue = f"host.survive-{uuid.uuid4().hex[:6]}"
    send(own_redis, "sites.agent.build", [1, "nowhere"], queue)
    if kill:
        time.sleep(1.5)  # appendfsync everysec: what was written in the last second before a kill -9 may be lost

    own_redis.restart(kill=kill)

    assert own_redis.waiting(queue) == 1


def test_a_deployment_queued_before_redis_restarted_runs_exactly_once(
        deploy_env, own_redis, start_process, engine):
    platform = deploy_env[0]
    site = Site.objects.get(name=create_site(deploy_env, "once"))
    host_name = f"once-{uuid.uuid4().hex[:6]}"
    agent = start_own_agent(start_process, host_name, REDIS_URL=own_redis.url)
    agent.stop()  # registered; the message waits until an agent takes it
    deployment = Deployment.objects.create(site=site, trigger=Deployment.Trigger.ARCHIVE, source="archive",
                                           host_name=host_name)
    path = archives.archive_path(deployment.pk, ".upload")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(tar_gz({"public/index.html": b"once\n"}))
    for _ in range(2):  # the message, and a duplicate of it (a redelivery) taken side by side
        send(own_redis, "sites.agent.build", [deployment.pk, host_name], f"host.{host_name}")

    own_redis.restart()
    assert own_redis.waiting(f"host.{host_name}") == 2
    agent = start_own_agent(start_process, host_name, concurrency=2, REDIS_URL=own_redis.url)
    start_process(f"control-{host_name}", ["-m", "celery", "-A", "config", "worker", "--queues", "control",
                                           "--hostname", f"control-{host_name}@%h", "--concurrency", "1",
                                           "--without-gossip", "--without-mingle"], REDIS_URL=own_redis.url)
    ended = wait_for(lambda: Deployment.objects.filter(pk=deployment.pk, state__in=FINISHED).first(), 180,
                     "the deployment to end")
    wait_for(lambda: agent.output().count("sites.agent.build[") >= 4, 60, "both deliveries to be done")

    assert ended.state == "succeeded", ended.log
    wait_for(lambda: served(platform, site.name).text == "once\n", 30, "the site to be served")
    final = Deployment.objects.get(pk=deployment.pk)
    assert final.log.count("-----> Released") == 1 and final.finished_at == ended.finished_at
    assert Release.objects.filter(site=site).count() == 1
    assert len(containers_of(engine, site.name, deployment)) == 1
