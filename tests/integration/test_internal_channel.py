"""A host that shares no disk with the control plane: a real agent with its own data dir, joined
with `add_host`'s token, gets its build source and uploads its slug over /internal/v1 on the test
platform's web server, fetches the slug into its own cache to release, and the site serves through
the edge; a backup of its /data travels to the control plane's store and back to restore it."""
from __future__ import annotations

import os
import shutil
import subprocess
import uuid
from pathlib import Path

import pytest
from django.conf import settings

from hosting.host_tokens import add_host
from accounts.models import AuditEvent
from sites import data_backups, services
from sites.models import Deployment, Site, SiteBackup
from tests.integration.support.deploying import create_site, served
from tests.integration.support.processes import wait_for
from tests.integration.test_agent_restarts import deploy_archive, finished, start_own_agent

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def own_data(tmp_path):
    """The far host's data dir; its quota volumes (loop mounts) are unmounted after the test, as
    the host's own teardown would (the platform's purge reaches only live agents)."""
    path = tmp_path / "far-host"
    yield path
    mounts = [line.split()[1] for line in Path("/proc/mounts").read_text().splitlines()]
    for mount in reversed([m for m in mounts if m.startswith(str(path))]):
        subprocess.run(["umount", "--lazy", mount], check=False)


def _far_host(platform, start_process, own_data) -> str:
    host_name = f"far-{uuid.uuid4().hex[:6]}"
    joined = add_host(host_name, "127.0.0.1", platform.portal)
    start_own_agent(start_process, host_name, DATA_DIR=str(own_data), CONTROL_PLANE_URL=platform.portal,
                    HOST_TOKEN=joined.token, HOST_NAME=host_name, SLUGS_DIR=str(own_data / "slugs"),
                    VOLUMES_DIR=str(own_data / "volumes"), SECRET_KEY=settings.SECRET_KEY,
                    FERNET_KEY=settings.FERNET_KEY)
    return host_name


def test_it_builds_and_releases_on_a_host_with_its_own_data_dir_over_the_channel(
        deploy_env, start_process, monkeypatch, own_data):
    platform = deploy_env[0]
    host_name = _far_host(platform, start_process, own_data)
    site = Site.objects.get(name=create_site(deploy_env, "far"))
    deployment = finished(deploy_archive(site, {"public/index.html": b"from afar\n"}, host_name, monkeypatch), 240)
    assert deployment.state == "succeeded", deployment.log
    wait_for(lambda: served(platform, site.name).text == "from afar\n", 30, "the site to be served")
    sha = site.releases.get(version=deployment.release.version).slug.sha256
    assert (Path(settings.SLUGS_DIR) / f"{sha}.tar.gz").is_file()  # uploaded to the control plane's store
    assert (own_data / "slugs" / f"{sha}.tar.gz").is_file()  # and in the far host's own cache
    assert not (own_data / "archives" / f"{deployment.pk}.source").exists()  # its copy of the source, used up

    # A miss in the far host's cache: the restart's release fetches the slug from the control plane.
    (own_data / "slugs" / f"{sha}.tar.gz").unlink()
    unpacked = list((own_data / "volumes").glob(f"*-build/**/{sha[:40]}-*"))
    assert unpacked  # the release unpacks once per host; drop it so the tarball is needed again
    for folder in unpacked:
        shutil.rmtree(folder)
    restarted = finished(services.restart(Site.objects.get(pk=site.pk)), 240)
    assert restarted.state == "succeeded", restarted.log
    assert (own_data / "slugs" / f"{sha}.tar.gz").read_bytes() == (Path(settings.SLUGS_DIR) / f"{sha}.tar.gz").read_bytes()
    wait_for(lambda: served(platform, site.name).text == "from afar\n", 30, "the restarted site to be served")


def test_a_far_hosts_site_is_backed_up_to_the_control_planes_store_and_restored_from_it(
        deploy_env, start_process, monkeypatch, own_data):
    platform = deploy_env[0]
    host_name = _far_host(platform, start_process, own_data)
    site = Site.objects.get(name=create_site(deploy_env, "farbk"))
    deployment = finished(deploy_archive(site, {"public/index.html": b"from afar\n"}, host_name, monkeypatch), 240)
    assert deployment.state == "succeeded", deployment.log
    note = own_data / "volumes" / site.uuid.hex / "note.txt"  # what the site wrote in /data, on the far host
    note.write_text("order-1001")
    os.chown(note, site.uid, site.uid)

    backup = data_backups.take(Site.objects.get(pk=site.pk))
    wait_for(lambda: SiteBackup.objects.get(pk=backup.pk).state != "running", 120, "the far host's backup")
    backup = SiteBackup.objects.get(pk=backup.pk)
    assert backup.state == "succeeded", backup.error
    assert data_backups.tarball(backup).is_file()  # in the control plane's store, sent over the channel
    assert not list((own_data / "volumes").glob(f"{site.uuid.hex}-build/builds/backup-parts-*"))  # nothing kept there

    note.write_text("DAMAGED")
    restarts = Deployment.objects.filter(site=site, trigger="restart").count()
    data_backups.restore(backup)
    wait_for(lambda: Deployment.objects.filter(site=site, trigger="restart", state="succeeded").count() > restarts,
             240, "the far site to restart after the restore")
    assert note.read_text() == "order-1001"
    assert AuditEvent.objects.filter(action="site.backup_restored", site_name=site.name).exists()
