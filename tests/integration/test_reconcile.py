"""Reconcile brings sites back after their containers stopped (a daemon restart) or vanished."""
from __future__ import annotations

import pytest

from tests.integration.support.deploying import create_site, push, served, workdir_with
from tests.integration.support.processes import wait_for

pytestmark = pytest.mark.django_db(transaction=True)


def reconcile_now() -> None:
    from hosting.tasks import reconcile

    reconcile.apply_async(args=["platform-test"], queue="host.platform-test")


def answers(platform, site, text) -> bool:
    response = served(platform, site)
    return response.status_code == 200 and response.text == text


def test_a_stopped_container_is_started_again(deploy_env, tmp_path, engine):
    platform = deploy_env[0]
    site = create_site(deploy_env, "revive")
    push(deploy_env, workdir_with(tmp_path, None, {"public/index.html": "alive\n"}), site)
    (container,) = [c for c in engine.list_site_containers(site) if c.running]
    engine.stop(container.name, timeout=1)
    # Refused (502) or unanswered (504), depending on whether the address is still on the network.
    assert served(platform, site).status_code in (502, 504)

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
