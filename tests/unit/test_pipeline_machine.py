"""The deploy pipeline's state machine at its own interface: one deployment of a site at a time,
the next in order; roll-outs made on top of what went live before them; rollbacks restore config
and refuse releases that never went live; a bug leaves its traceback for staff (the Sender, our
interface to Celery, is a recorder here)."""
from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from accounts.services import create_organization
from hosting.models import Host, Instance
from sites import services
from sites.config_crypto import config_of, decrypt_config, encrypt, encrypt_config
from sites.models import Deployment, EnvVar, Release, Site, Slug
from sites.pipeline import machine
from sites.pipeline import tasks as pipeline_tasks

pytestmark = pytest.mark.django_db


class Recorder:
    """A Sender that records what the machine asks to run next."""

    def __init__(self) -> None:
        self.sent: list[tuple[str, int]] = []

    def first_step(self, deployment, build, refused) -> None:
        self.sent.append(("build" if build else "start", deployment.pk))

    def start(self, deployment) -> None:
        self.sent.append(("start", deployment.pk))

    def switch(self, deployment, instance) -> None:
        self.sent.append(("switch", deployment.pk))

    def stop_instance(self, instance, delay: int = 0) -> None:
        self.sent.append(("stop", instance.pk))

    def stop_site(self, site) -> None:
        self.sent.append(("stop site", site.pk))

    def forget_slugs(self, shas, hosts) -> None:
        pass


@pytest.fixture
def recorder(monkeypatch) -> Recorder:
    recorder = Recorder()
    monkeypatch.setattr(services, "SENDER", recorder)
    return recorder


@pytest.fixture
def site() -> Site:
    Host.objects.create(name="h1", memory_mb=8192, cpus=4, last_heartbeat=timezone.now())
    site = services.create_site(create_organization("acme", "owner@example.com"), "shop")
    slug = Slug.objects.create(site=site, sha256="0" * 64, size_bytes=1, runtime="static", source="abc")
    release = Release.objects.create(site=site, version=1, slug=slug, description="v1",
                                     encrypted_config=encrypt_config({"GREETING": "one"}))
    Site.objects.filter(pk=site.pk).update(current_release=release)
    EnvVar.objects.create(site=site, key="GREETING", encrypted_value=encrypt("one"))
    return Site.objects.get(pk=site.pk)


def write_source(path_for) -> None:
    """What a push's writer does: one source archive at the path it is given."""
    path = path_for(".tar")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"source")


def go_live(deployment: Deployment, recorder: Recorder) -> None:
    deployment.refresh_from_db()
    instance = Instance.objects.create(host=Host.objects.get(name="h1"), name=f"site-shop-d{deployment.pk}",
                                       site_label="shop", release_label="v", state="running",
                                       container_address="10.0.0.5")
    machine.switch_to(deployment.pk, instance.pk, recorder)


def test_changes_to_one_site_wait_for_the_one_before_and_apply_in_order(site, recorder):
    first = services.set_env(site, {"A": "1"})
    second = services.set_env(site, {"B": "2"})
    third = services.restart(site)

    states = lambda: [Deployment.objects.get(pk=d.pk).state for d in (first, second, third)]  # noqa: E731
    assert states() == ["releasing", "queued", "queued"] and recorder.sent == [("start", first.pk)]
    go_live(first, recorder)
    assert states() == ["succeeded", "releasing", "queued"] and recorder.sent[-1] == ("start", second.pk)
    machine.fail(Deployment.objects.get(pk=second.pk), "the app never answered", recorder)
    assert states() == ["succeeded", "failed", "releasing"] and recorder.sent[-1] == ("start", third.pk)
    # The config release made when its turn came holds every key set before it.
    assert decrypt_config(Deployment.objects.get(pk=second.pk).release.encrypted_config) == {
        "GREETING": "one", "A": "1", "B": "2"}


def test_a_config_change_queued_behind_a_push_keeps_the_pushed_code(site, recorder):
    push = machine.deploy_source(site, Deployment.Trigger.PUSH, "abc (main)", write_source, recorder)
    change = services.set_env(site, {"A": "1"})
    assert recorder.sent == [("build", push.pk)]

    pushed = Slug.objects.create(site=site, sha256="1" * 64, size_bytes=1, runtime="static", source="def")
    machine.after_build(Deployment.objects.get(pk=push.pk), pushed, "h1", recorder)
    go_live(push, recorder)

    change.refresh_from_db()
    assert change.state == "releasing" and change.release.slug_id == pushed.pk


def test_a_rollback_restores_its_releases_config_and_takes_the_version_as_shown(site, recorder):
    services.set_env(site, {"GREETING": "two", "EXTRA": "x"})

    deployment = services.rollback(Site.objects.get(pk=site.pk), "v1")

    assert config_of(site) == {"GREETING": "one"}  # what GET /env/ lists and the next push builds with
    assert deployment.trigger == "rollback"


def test_a_release_whose_deployment_failed_cannot_be_rolled_back_to(site, recorder):
    failed = Release.objects.create(site=site, version=2, slug=site.current_release.slug, description="bad",
                                    encrypted_config=encrypt_config({}))
    Deployment.objects.create(site=site, trigger="push", state="failed", release=failed)

    with pytest.raises(ValidationError, match="never went live"):
        services.rollback(site, 2)
    with pytest.raises(ValidationError, match="not a release"):
        services.rollback(site, "version two")


class FakeTask:
    class request:
        retries = 0

    max_retries = 5


def test_a_bug_fails_the_deployment_with_a_reference_and_keeps_the_traceback_for_staff(site, admin_client):
    deployment = Deployment.objects.create(site=site, trigger="restart", state="releasing", host_name="h1")

    with pytest.raises(ZeroDivisionError):
        with pipeline_tasks.deployment_step(FakeTask, deployment):
            1 / 0

    deployment.refresh_from_db()
    assert deployment.state == "failed"
    assert deployment.error == machine.INTERNAL_ERROR.format(id=deployment.pk)
    assert "ZeroDivisionError" in deployment.internal_error and "ZeroDivisionError" not in deployment.log
    page = admin_client.get(f"/admin/sites/deployment/{deployment.pk}/change/")
    assert "ZeroDivisionError" in page.content.decode()
