"""A site's /data backed up by its host's real agent, damaged, restored: the data is back, what was
written after the backup is gone, the site restarted and serves it. Real Docker, Celery, nginx."""
from __future__ import annotations

import hashlib
import tarfile

import pytest
from django.forms.models import model_to_dict

from accounts.models import AuditEvent, Plan
from sites import data_backups
from sites.models import Deployment, Site, SiteBackup
from sites.plans import change_plan
from tests.integration.support.deploying import create_site, push, served, workdir_with
from tests.integration.support.processes import wait_for

pytestmark = pytest.mark.django_db(transaction=True)


def ended(backup: SiteBackup) -> SiteBackup:
    wait_for(lambda: SiteBackup.objects.get(pk=backup.pk).state != SiteBackup.State.RUNNING, 120,
             f"backup {backup.pk} to end")
    return SiteBackup.objects.get(pk=backup.pk)


def test_it_backs_up_damages_and_restores_a_sites_data(deploy_env, tmp_path):
    platform = deploy_env[0]
    name = create_site(deploy_env, "bk", writable_paths=["uploads"])
    push(deploy_env, workdir_with(tmp_path, "php"), name)
    assert "wrote" in served(platform, name, "/?write=orders.txt&content=order-1001").text

    backup = ended(data_backups.take(Site.objects.get(name=name)))
    assert backup.state == SiteBackup.State.SUCCEEDED, backup.error
    path = data_backups.tarball(backup)
    assert hashlib.sha256(path.read_bytes()).hexdigest() == backup.sha256 and backup.size_bytes == path.stat().st_size
    with tarfile.open(path) as packed:  # the daemon's view of /data: the writable path's file is in it
        assert "data/writable/uploads/orders.txt" in packed.getnames()

    served(platform, name, "/?write=orders.txt&content=DAMAGED")
    served(platform, name, "/?write=later.txt&content=after-the-backup")
    restarts = Deployment.objects.filter(site__name=name, trigger="restart").count()
    data_backups.restore(backup)

    wait_for(lambda: Deployment.objects.filter(site__name=name, trigger="restart", state="succeeded").count()
             > restarts, 180, "the site to restart after the restore")
    assert served(platform, name, "/?read=orders.txt").text.strip() == "order-1001"
    assert served(platform, name, "/?read=later.txt").status_code == 404  # /data is the backup's, whole
    assert AuditEvent.objects.filter(action="site.backup_restored", site_name=name).exists()


def test_a_data_dir_larger_than_the_plans_backup_storage_fails_clearly_and_keeps_nothing(deploy_env, tmp_path):
    platform = deploy_env[0]
    name = create_site(deploy_env, "bkbig", writable_paths=["uploads"])
    push(deploy_env, workdir_with(tmp_path, "php"), name)
    site = Site.objects.select_related("organization__plan").get(name=name)
    tiny = Plan.objects.create(**{**model_to_dict(site.organization.plan, exclude=["id"]), "name": "tiny-backups",
                                  "is_default": False, "backup_mb": 1})
    change_plan(site.organization, tiny)
    for number in range(150):  # 150 files of 7 KB (a URL's limit): more than 1 MB in a tar
        assert "wrote" in served(platform, name, f"/?write=f{number}.txt&content={'x' * 7000}").text

    backup = ended(data_backups.take(Site.objects.get(name=name)))
    assert backup.state == SiteBackup.State.FAILED
    assert "larger than the plan's backup storage (1 MB)" in backup.error
    assert not data_backups.tarball(backup).exists()
    assert [p.name for p in data_backups.store().iterdir() if p.name.startswith(".")] == []  # no half file
