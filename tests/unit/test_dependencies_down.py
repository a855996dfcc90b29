"""Redis down: reads answer, actions that need the queue get 503 and record nothing. Deployments
are claimed once: a duplicated or late message does nothing, and an agent that starts again fails
what its predecessor left half done (Docker faked at our own interface, ContainerEngine)."""
from __future__ import annotations

import json
from dataclasses import dataclass, field

import pytest
from django.test import override_settings
from django.utils import timezone
from rest_framework.test import APIClient

from accounts.services import create_organization, get_or_create_user, issue_token
from hosting.spec import LABEL_INSTANCE, LABEL_SITE
from core import problems
from core.errors import QueueUnavailable
from hosting.models import Host, Instance
from sites import recovery, tasks
from sites.pipeline import machine
from sites.pipeline import tasks as pipeline_tasks
from sites.pipeline.tasks import SENDER
from sites.models import Deployment, Release, Site, Slug
from sites import services
from sites.services import create_site

pytestmark = pytest.mark.django_db

GONE_REDIS = "redis+socket:///nonexistent/redis.sock"


@pytest.fixture
def site() -> Site:
    org = create_organization("acme", "owner@example.com")
    site = create_site(org, "shop")
    slug = Slug.objects.create(site=site, sha256="0" * 64, size_bytes=1, runtime="static", source="abc")
    release = Release.objects.create(site=site, version=1, slug=slug, encrypted_config="", description="v1")
    Site.objects.filter(pk=site.pk).update(current_release=release)
    return Site.objects.get(pk=site.pk)


@pytest.fixture
def host() -> Host:
    return Host.objects.create(name="h1", memory_mb=4096, cpus=2, last_heartbeat=timezone.now())


def api_client(token: str | None = None) -> APIClient:
    # The responses Django gives a real client, not the exception the test client re-raises.
    client = APIClient(raise_request_exception=False)
    if token:
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
    return client


@pytest.fixture
def redis_down(fake_redis):
    fake_redis.down = True  # the queue checks and deployment logs (tests/unit/conftest.py)
    with override_settings(REDIS_URL=GONE_REDIS, CACHES={"default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": "unix:///nonexistent/redis.sock",
            "OPTIONS": {"socket_timeout": 1, "socket_connect_timeout": 1}}}):
        yield


# --- Redis down ----------------------------------------------------------------------------------

def test_it_answers_reads_and_refuses_a_restart_with_503_while_redis_is_down(site, redis_down):
    token = issue_token(get_or_create_user("owner@example.com"), "ci")
    client = api_client(token)

    running = Deployment.objects.create(site=site, trigger="push", state="building")

    assert client.get("/api/v1/sites/shop/").status_code == 200  # the request throttles fail open
    detail = client.get(f"/api/v1/sites/shop/deployments/{running.pk}/")
    assert detail.status_code == 200 and "cannot be read" in detail.json()["log"]
    refused = client.post("/api/v1/sites/shop/restart/")

    assert refused.status_code == 503
    assert refused.json() == problems.body(503, QueueUnavailable.MESSAGE)
    assert refused["Content-Type"] == problems.CONTENT_TYPE
    assert list(Deployment.objects.all()) == [running]  # nothing recorded that waits for a task


def test_it_refuses_to_stop_start_or_delete_a_site_while_redis_is_down(site, redis_down):
    client = api_client(issue_token(get_or_create_user("owner@example.com"), "ci"))

    assert client.post("/api/v1/sites/shop/stop/").status_code == 503
    assert client.delete("/api/v1/sites/shop/").status_code == 503
    assert Site.objects.get(pk=site.pk).desired_state == Site.DesiredState.RUNNING  # nothing half-applied
    Site.objects.filter(pk=site.pk).update(desired_state=Site.DesiredState.STOPPED)
    assert client.post("/api/v1/sites/shop/start/").status_code == 503
    assert Site.objects.get(pk=site.pk).desired_state == Site.DesiredState.STOPPED


def test_it_refuses_token_guessing_while_the_failure_counter_is_gone(site, redis_down):
    answer = api_client("not-a-token").get("/api/v1/sites/")

    assert answer.status_code == 503  # fails closed: no unlimited guessing without the counter


def answer_to(error: Exception, path: str, rf):
    from core import unavailable

    try:
        raise error
    except Exception:  # Django calls handler500 inside the handling of the view's exception
        return unavailable.server_error(rf.get(path))


def test_the_portal_shows_a_page_and_the_api_json_when_a_dependency_is_down(rf):
    import redis
    from django.db import OperationalError

    from core.unavailable import DATABASE_DOWN, INTERNAL_ERROR

    page = answer_to(redis.ConnectionError("gone"), "/admin/sites/site/", rf)
    assert page.status_code == 503 and page["Content-Type"].startswith("text/html")
    assert QueueUnavailable.MESSAGE in page.content.decode()
    api = answer_to(OperationalError("connection refused"), "/api/v1/sites/", rf)
    assert (api.status_code, json.loads(api.content)) == (503, problems.body(503, DATABASE_DOWN))
    assert answer_to(ValueError("a bug"), "/admin/", rf).status_code == 500  # a bug stays a 500
    bug = answer_to(ValueError("a bug"), "/api/v1/sites/shop/env/", rf)  # never Django's HTML page
    assert (bug.status_code, json.loads(bug.content)) == (500, problems.body(500, INTERNAL_ERROR))


# --- claims ----------------------------------------------------------------------------------------

def test_the_first_delivery_of_a_build_claims_it_and_another_message_does_nothing(site, host):
    deployment = Deployment.objects.create(site=site, trigger="push", state="building", host_name="h1")

    assert machine.claim_build(deployment.pk, "task-1").task_id == "task-1"
    assert machine.claim_build(deployment.pk, "task-2") is None  # a duplicated message
    assert machine.claim_build(deployment.pk, "task-1").pk == deployment.pk  # our own retry, or a redelivery


def test_a_retried_build_of_a_failed_deployment_does_nothing(site, host):
    deployment = Deployment.objects.create(site=site, trigger="push", state="failed", error="agent restarted",
                                           host_name="h1", task_id="task-1")

    assert machine.claim_build(deployment.pk, "task-1") is None


class NoDocker:
    def __enter__(self):
        return self

    def __exit__(self, *exc_info) -> None:
        return None


def test_a_build_redelivered_after_its_agent_died_builds_again(site, host, settings, tmp_path, monkeypatch):
    """The agent died mid-build and no agent start failed it: the message comes back (acks_late)
    with the same task id, and this delivery builds it instead of leaving it "building" for ever."""
    settings.ARCHIVES_DIR = tmp_path
    deployment = Deployment.objects.create(site=site, trigger="push", state="building", host_name="h1",
                                           task_id="the-dead-agents-task")
    (tmp_path / f"{deployment.pk}.tar").write_bytes(b"source")
    slug = Slug.objects.create(site=site, sha256="1" * 64, size_bytes=1, runtime="static", source="def")
    started = []
    monkeypatch.setattr(pipeline_tasks, "ContainerEngine", NoDocker)
    monkeypatch.setattr(pipeline_tasks.build_step, "build", lambda *args: slug)
    monkeypatch.setattr(SENDER, "start", lambda deployment: started.append(deployment.pk))
    monkeypatch.setattr(SENDER, "empty_trash", lambda *args: None)

    tasks.build.apply(args=[deployment.pk, "h1"], task_id="the-dead-agents-task")

    deployment.refresh_from_db()
    assert (deployment.state, deployment.release.slug_id, started) == ("releasing", slug.pk, [deployment.pk])


def test_the_first_delivery_of_a_start_claims_it(site, host):
    deployment = Deployment.objects.create(site=site, trigger="restart", state="releasing", host_name="h1",
                                           release=site.current_release)

    assert machine.claim_start(deployment.pk, "task-1", retrying=False).task_id == "task-1"
    assert machine.claim_start(deployment.pk, "task-1", retrying=False) is None  # redelivered
    assert machine.claim_start(deployment.pk, "task-2", retrying=True) is None  # another task's
    assert machine.claim_start(deployment.pk, "task-1", retrying=True).pk == deployment.pk
    Deployment.objects.filter(pk=deployment.pk).update(state="failed")
    assert machine.claim_start(deployment.pk, "task-1", retrying=True) is None


def test_a_duplicated_start_leaves_a_started_deployment_alone(site, host):
    deployment = Deployment.objects.create(site=site, trigger="restart", state="releasing", host_name="h1",
                                           release=site.current_release, task_id="the-first-delivery")

    tasks.start_release.apply(args=[deployment.pk, "h1"])

    deployment.refresh_from_db()
    assert (deployment.state, deployment.error) == ("releasing", "")
    assert not Instance.objects.exists()


def test_a_failed_deployment_never_goes_live(site, host):
    deployment = Deployment.objects.create(site=site, trigger="restart", state="failed", host_name="h1",
                                           release=site.current_release)
    instance = Instance.objects.create(host=host, name=f"site-shop-v1-d{deployment.pk}", site_label="shop",
                                       release_label="v1", state="running", container_address="10.0.0.5")

    machine.switch_to(deployment.pk, instance.pk, SENDER)

    assert Site.objects.get(pk=site.pk).current_instance_id is None


def test_an_older_deployment_does_not_switch_after_a_newer_one_went_live(site, host, monkeypatch):
    def releasing() -> tuple[Deployment, Instance]:
        deployment = Deployment.objects.create(site=site, trigger="restart", state="releasing", host_name="h1",
                                               release=site.current_release, task_id="taken")
        instance = Instance.objects.create(host=host, name=f"site-shop-v1-d{deployment.pk}", site_label="shop",
                                           release_label="v1", state="running", container_address="10.0.0.5")
        return deployment, instance

    (older, its_instance), (newer, new_instance) = releasing(), releasing()
    stopped = []
    monkeypatch.setattr(SENDER, "stop_instance", lambda instance, delay=0: stopped.append(instance.pk))

    machine.switch_to(newer.pk, new_instance.pk, SENDER)
    machine.switch_to(older.pk, its_instance.pk, SENDER)  # its switch task came late

    assert Site.objects.get(pk=site.pk).current_instance_id == new_instance.pk
    older.refresh_from_db()
    assert (older.state, older.error) == ("failed", "Not switched: a newer deployment went live first.")
    assert stopped == [its_instance.pk]


# --- an agent that starts again ----------------------------------------------------------------

@dataclass
class FakeContainer:
    name: str
    labels: dict


@dataclass
class FakeEngine:
    containers: list[FakeContainer]
    removed: list[str] = field(default_factory=list)

    def list_site_containers(self, site: str | None = None) -> list[FakeContainer]:
        return [c for c in self.containers if site is None or c.labels[LABEL_SITE] == site]

    def remove(self, name: str) -> None:
        self.removed.append(name)


def container(site: str, release: str, instance: str) -> FakeContainer:
    return FakeContainer(f"site-{site}-{release}-{instance}", {LABEL_SITE: site, LABEL_INSTANCE: instance})


def test_it_fails_what_the_previous_agent_left_half_done_and_removes_its_containers(site, host):
    Host.objects.create(name="h2", memory_mb=4096, cpus=2, last_heartbeat=timezone.now())
    def make(state: str, **extra) -> Deployment:
        return Deployment.objects.create(site=site, trigger="push", state=state, **extra)

    building = make("building", host_name="h1", task_id="taken")
    sent = make("building", host_name="h1")  # its build message is still in the queue
    starting = make("releasing", host_name="h1", task_id="taken")
    waiting = make("releasing", host_name="h1")  # its start message is still in the queue
    queued = make("queued", host_name="h1")
    elsewhere = make("building", host_name="h2")
    serving = Instance.objects.create(host=host, name="site-shop-v1-d1", site_label="shop", release_label="v1",
                                      state="running")
    Site.objects.filter(pk=site.pk).update(current_instance=serving)
    engine = FakeEngine([container("shop", "build", f"d{building.pk}"), container("shop", "v2", f"d{starting.pk}"),
                         container("shop", "v1", "d1"), container("shop", "build", f"d{elsewhere.pk}")])

    assert recovery.fail_interrupted_deployments(host, engine) == 2

    states = {d.pk: (d.state, d.error) for d in Deployment.objects.all()}
    assert states[building.pk][0] == states[starting.pk][0] == "failed"
    assert "restarted during this deployment" in states[building.pk][1]
    assert [states[pk][0] for pk in (waiting.pk, queued.pk, elsewhere.pk, sent.pk)] == [
        "releasing", "queued", "building", "building"]
    assert sorted(engine.removed) == sorted([f"site-shop-build-d{building.pk}", f"site-shop-v2-d{starting.pk}"])
    assert Site.objects.get(pk=site.pk).current_instance_id == serving.pk  # the previous release keeps serving
    assert recovery.fail_interrupted_deployments(host, FakeEngine([])) == 0  # once


def test_it_leaves_a_deployment_whose_instance_went_live_meanwhile(site, host):
    deployment = Deployment.objects.create(site=site, trigger="restart", state="releasing", host_name="h1",
                                           task_id="taken")
    live = Instance.objects.create(host=host, name=f"site-shop-v1-d{deployment.pk}", site_label="shop",
                                   release_label="v1", state="running")
    Site.objects.filter(pk=site.pk).update(current_instance=live)
    engine = FakeEngine([container("shop", "v1", f"d{deployment.pk}")])

    assert recovery.fail_interrupted_deployments(host, engine) == 0
    assert engine.removed == [] and Deployment.objects.get(pk=deployment.pk).state == "releasing"


def test_a_deployment_whose_task_the_queue_refused_ends_failed_not_queued(site, host, monkeypatch,
                                                                          django_capture_on_commit_callbacks):
    def refuse(task, args, queue):
        raise QueueUnavailable()

    monkeypatch.setattr(pipeline_tasks, "send_now", refuse)  # Redis went away between the check and the send

    with pytest.raises(QueueUnavailable), django_capture_on_commit_callbacks(execute=True):
        services.restart(site)  # the API answers QueueUnavailable with 503 (above)

    (deployment,) = Deployment.objects.all()
    assert (deployment.state, deployment.error) == ("failed", QueueUnavailable.MESSAGE)
