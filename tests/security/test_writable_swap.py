"""Attack: a running site replaces its /data/writable (and a writable path) with links to host
folders, then asks for a restart, so that the next start would create, copy, chown and bind-mount
host folders into its container.

Writable paths are links inside the slug (/app/<path> -> /data/writable/<path>) and are made and
seeded inside the site's own container as its uid: the host never resolves them.
"""
from __future__ import annotations

from django.conf import settings

from sites.models import Site
from tests.integration.support.deploying import api, create_site, finished_deployment, push, served, workdir_with
from tests.security.attacks import platform_still_answers


def _running_container(engine, site: str):
    running = [c for c in engine.list_site_containers(site) if c.running and "-slug-" not in c.name]
    assert len(running) == 1, running
    return engine.client.containers.get(running[0].name)


def test_it_never_resolves_a_tenants_links_in_data_on_the_host(deploy_env, tmp_path, engine, sentinels):
    platform, customers, _ = deploy_env
    owner = customers["owner"]
    site = create_site(deploy_env, "swap", writable_paths=["uploads"])
    push(deploy_env, workdir_with(tmp_path, "php"), site)
    assert "wrote uploads/kept.txt" in served(platform, site, "/?write=kept.txt&content=mine").text
    uid = Site.objects.get(name=site).uid

    container = _running_container(engine, site)
    # The slug is read-only: the tenant cannot plant links in /app.
    planted = container.exec_run(["sh", "-c", f"ln -s {sentinels.folder} /app/evil"], user=f"{uid}:{uid}")
    assert planted.exit_code != 0
    # /data is the tenant's: swap the writable folders for links to host folders.
    swapped = container.exec_run(["sh", "-c", (
        f"mv /data/writable /data/writable.orig && ln -s {sentinels.folder} /data/writable"
        f" && ln -s {sentinels.root} /data/writable.orig/uploads-elsewhere"
    )], user=f"{uid}:{uid}")
    assert swapped.exit_code == 0, swapped.output

    for _ in range(2):  # a restart, then a start from the release again
        restart = api(platform, owner, "POST", f"sites/{site}/restart/")
        assert restart.status_code == 202, restart.text
        finished_deployment(platform, owner, site, restart.json()["id"], timeout=90)
        sentinels.assert_untouched()

    for state in engine.list_site_containers(site):
        mounts = engine.inspect(state.name)["Mounts"]
        sources = {m["Source"] for m in mounts}
        assert all(s.startswith(str(settings.VOLUMES_DIR)) for s in sources), sources
        assert {m["Destination"] for m in mounts} <= {"/app", "/data"}, mounts
    sentinels.assert_untouched()
    platform_still_answers(platform, owner)
