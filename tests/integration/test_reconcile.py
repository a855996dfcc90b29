"""Reconcile brings sites back after their containers stopped (a daemon restart) or vanished."""
from __future__ import annotations

import subprocess
import uuid
from dataclasses import replace

import pytest
from django.utils import timezone

from hosting import instances as fleet
from hosting.models import Host, Instance
from hosting.readiness import HealthCheck
from proxy.models import Route
from sites.models import Deployment, Release, Site, Slug
from tests.integration.support.deploying import create_site, push, served, workdir_with
from tests.integration.support.processes import wait_for

pytestmark = pytest.mark.django_db(transaction=True)


def reconcile_now() -> None:
    from hosting.tasks import reconcile

    reconcile.apply_async(args=["platform-test"], queue="host.platform-test")


def running(engine, site) -> list[str]:
    return [c.name for c in engine.list_site_containers(site) if c.running]


def answers(platform, site, text) -> bool:
    response = served(platform, site)
    return response.status_code == 200 and response.text == text


def test_a_stopped_container_is_started_again(deploy_env, tmp_path, engine):
    platform = deploy_env[0]
    site = create_site(deploy_env, "revive")
    push(deploy_env, workdir_with(tmp_path, None, {"public/index.html": "alive\n"}), site)
    (container,) = [c for c in engine.list_site_containers(site) if c.running]
    engine.stop(container.name, timeout=1)
    # Refused (502) or unanswered (504), depending on whether the address is still on the network;
    # unless beat's own reconcile (every minute) came first and started it again already.
    down = served(platform, site).status_code
    assert down in (502, 504) or (down == 200 and container.name in running(engine, site)), down

    reconcile_now()

    wait_for(lambda: answers(platform, site, "alive\n"), 30, "the site to answer again")
    assert [c.name for c in engine.list_site_containers(site) if c.running] == [container.name]


def test_a_vanished_container_is_replaced(deploy_env, tmp_path, engine):
    platform = deploy_env[0]
    site = create_site(deploy_env, "replace")
    push(deploy_env, workdir_with(tmp_path, None, {"public/index.html": "back\n"}), site)
    (container,) = [c for c in engine.list_site_containers(site) if c.running]
    engine.remove(container.name)

    reconcile_now()

    wait_for(lambda: answers(platform, site, "back\n"), 60, "a new container to serve the site")
    running = [c.name for c in engine.list_site_containers(site) if c.running]
    assert len(running) == 1 and running != [container.name]


def test_the_route_follows_a_container_that_comes_back_on_a_new_address(deploy_env, tmp_path, engine):
    platform = deploy_env[0]
    site = create_site(deploy_env, "moved")
    push(deploy_env, workdir_with(tmp_path, None, {"public/index.html": "moved along\n"}), site)
    (container,) = [c for c in engine.list_site_containers(site) if c.running]
    network, old_address = next(iter(engine.inspect(container.name)["NetworkSettings"]["Networks"].items()))
    old_address = old_address["IPAddress"]
    engine.stop(container.name, timeout=1)
    # Something else takes the stopped container's address: it must come back on another one.
    squatter = f"fleet-test-squatter-{uuid.uuid4().hex[:8]}"
    image = engine.inspect(container.name)["Config"]["Image"]
    subprocess.run(["docker", "run", "-d", "--rm", "--name", squatter, "--network", network, "--ip", old_address,
                    "--user", "10000", image, "sleep", "300"], check=True, capture_output=True)
    try:
        reconcile_now()

        wait_for(lambda: answers(platform, site, "moved along\n"), 60, "the site to answer on its new address")
        # The same container restarted; or, when something took its host port meanwhile, a new one.
        (running,) = [c for c in engine.list_site_containers(site) if c.running]
        assert running.address != old_address
        (route,) = Route.objects.filter(hostname=f"{site}.apps.localhost")
        assert route.upstreams == [f"{running.address}:5000"] and route.status == "live"
    finally:
        subprocess.run(["docker", "rm", "-f", squatter], capture_output=True)


def test_reconcile_removes_containers_of_failed_deployments_and_of_deleted_sites(deploy_env, sites, engine):
    """Started through the fleet, as a deployment's instance is: one of a deployment that failed,
    one whose row went with its site (a purge that never ran)."""
    host = Host.objects.get(name="platform-test")
    site = Site.objects.get(name=create_site(deploy_env, "leftover"))
    slug = Slug.objects.create(site=site, sha256="0" * 64, size_bytes=1, runtime="static", source="x")
    release = Release.objects.create(site=site, version=1, slug=slug, encrypted_config="", description="v1")
    failed = Deployment.objects.create(site=site, trigger="push", release=release, state=Deployment.State.FAILED,
                                       finished_at=timezone.now())
    spec = sites.make_spec("static", {"public/index.html": "still here\n"}, publish=False)
    started = [fleet.start_instance(engine, host, replace(spec, instance=instance), HealthCheck(), timeout=30)
               for instance in (f"d{failed.pk}", "d999999")]
    Instance.objects.filter(pk=started[1].pk).delete()
    # Both ran healthy (beat's own reconcile may already be removing the first while this test goes on).
    assert [instance.state for instance in started] == ["running", "running"]

    reconcile_now()

    wait_for(lambda: not [c for c in engine.list_site_containers(spec.site)], 30, "reconcile to remove both")
    assert Instance.objects.get(pk=started[0].pk).state == "failed"
