"""Attack: a suspended organization tries to bring its site back (every API action, an archive
upload, a git push) and waits for reconcile to do it; each is refused with a clear message and
the site keeps showing the suspended page, its containers stopped."""
from __future__ import annotations

import time

import pytest
from django.core.management import call_command

from tests.integration.support.deploying import (
    api,
    commit_all,
    create_site,
    finished_deployment,
    push,
    served,
    workdir_with,
)
from tests.archives import tar_gz
from tests.integration.support.processes import wait_for

pytestmark = pytest.mark.django_db(transaction=True)

REASON = "unpaid invoice 7"


def _tarball() -> bytes:
    return tar_gz({"public/index.html": b"back from an archive\n"})


def _shows_suspended(platform, site) -> bool:
    response = served(platform, site)
    return response.status_code == 503 and "This site is suspended" in response.text


def _running(engine, site) -> list[str]:
    return [c.name for c in engine.list_site_containers(site) if c.running]


def test_a_suspended_organization_can_bring_nothing_back(deploy_env, tmp_path, engine):
    from sites.models import Deployment

    platform, customers, _ = deploy_env
    owner = customers["owner"]
    site = create_site(deploy_env, "susp")
    work = workdir_with(tmp_path, None, {"public/index.html": "open\n"})
    push(deploy_env, work, site)
    custom = f"{site}.example.org"
    assert api(platform, owner, "POST", f"sites/{site}/domains/", json={"hostname": custom}).status_code == 201
    config = api(platform, owner, "POST", f"sites/{site}/env/", json={"vars": {"A": "1"}}).json()
    assert finished_deployment(platform, owner, site, config["id"])["state"] == "succeeded"
    assert served(platform, site).text == "open\n"

    call_command("suspend", owner.organization, "--reason", REASON)

    wait_for(lambda: _shows_suspended(platform, site), 15, "the suspended page")
    wait_for(lambda: not _running(engine, site), 30, "the site's containers to stop")
    deployments = Deployment.objects.filter(site__name=site).count()

    attempts = {
        "create a site": ("POST", "sites/", {"json": {"name": f"{site}-2"}}),
        "upload an archive": ("POST", f"sites/{site}/deployments/",
                              {"files": {"archive": ("app.tar.gz", _tarball(), "application/gzip")}}),
        "restart": ("POST", f"sites/{site}/restart/", {}),
        "start": ("POST", f"sites/{site}/start/", {}),
        "stop": ("POST", f"sites/{site}/stop/", {}),
        "roll back": ("POST", f"sites/{site}/rollback/", {"json": {"release": 1}}),
        "set config": ("POST", f"sites/{site}/env/", {"json": {"vars": {"B": "2"}}}),
        "unset config": ("DELETE", f"sites/{site}/env/A/", {}),
        "writable paths": ("PATCH", f"sites/{site}/", {"json": {"writable_paths": ["uploads"]}}),
        "force https": ("PATCH", f"sites/{site}/", {"json": {"force_https": True}}),
        "add a domain": ("POST", f"sites/{site}/domains/", {"json": {"hostname": f"www.{custom}"}}),
        "verify a domain": ("POST", f"sites/{site}/domains/{custom}/verify/", {}),
        "remove a domain": ("DELETE", f"sites/{site}/domains/{custom}/", {}),
        "delete the site": ("DELETE", f"sites/{site}/", {}),
    }
    for what, (method, path, kwargs) in attempts.items():
        response = api(platform, owner, method, path, **kwargs)
        assert response.status_code == 403, f"{what}: {response.status_code} {response.text}"
        assert f"suspended ({REASON})" in response.text, f"{what}: {response.text}"
        assert _shows_suspended(platform, site), f"{what} brought the site back"

    (work / "public/index.html").write_text("pushed while suspended\n")
    commit_all(work, "sneaky")
    result = push(deploy_env, work, site, check=False)
    assert result.returncode != 0 and f"suspended ({REASON})" in result.stderr, result.stderr

    # What a dockerd restart triggers: the agent's reconcile. It must not start the site again.
    from hosting.tasks import reconcile

    reconcile.apply_async(args=["platform-test"], queue="host.platform-test")
    time.sleep(5)
    assert _shows_suspended(platform, site)
    assert not _running(engine, site)
    assert Deployment.objects.filter(site__name=site).count() == deployments
    assert api(platform, owner, "GET", f"sites/{site}/").json()["status"] == "suspended"  # reads still work

    call_command("unsuspend", owner.organization)
    wait_for(lambda: served(platform, site).text == "open\n", 60, "the site to come back after the suspension")
