"""Backups of a site's /data at their own interfaces: who may take, download and restore them, the
clear refusals, and how long they are kept (days, and the plan's backup_mb). The real packing and
restoring in containers is tests/integration/test_data_backups.py."""
from __future__ import annotations

import hashlib
from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from accounts.models import AuditEvent
from hosting.models import Host, Instance
from sites import data_backups
from sites.models import Site, SiteBackup
from sites.services import suspend_organization

pytestmark = pytest.mark.django_db


@pytest.fixture
def sent(monkeypatch) -> list[tuple]:
    """What was sent to the hosts' agents."""
    messages: list[tuple] = []
    monkeypatch.setattr(data_backups, "send_to_host", lambda *message: messages.append(message))
    return messages


def backed_up(world, monkeypatch, content: bytes = b"tarball of shop's /data") -> SiteBackup:
    """The world's site running on h1, with one backup taken (its tarball in the store); what is
    sent to the agents is not sent."""
    monkeypatch.setattr(data_backups, "send_to_host", lambda *message: None)
    site = world["site"]
    instance = Instance.objects.create(host=Host.objects.get(name="h1"), name="site-shop-v1-d1", site_label="shop",
                                       release_label="v1", state="running", memory_mb=256, cpu_millicores=250)
    Site.objects.filter(pk=site.pk).update(current_instance=instance)
    return backup_of(Site.objects.get(pk=site.pk), content)


DUMP = b"-- PostgreSQL dump of shop's database"


def backup_of(site: Site, content: bytes, days_ago: float = 0, state: str = "succeeded",
              dump: bytes | None = DUMP) -> SiteBackup:
    """A backup of `site` with its tarball holding `content` and, unless `dump` is None, a dump of
    its PostgreSQL database holding `dump`, both in the store with their true sha256."""
    parts = [] if dump is None else [{"engine": "postgresql", "size_bytes": len(dump),
                                      "sha256": hashlib.sha256(dump).hexdigest()}]
    backup = SiteBackup.objects.create(site=site, kind="nightly", state=state, host_name="h1",
                                       size_bytes=len(content), sha256=hashlib.sha256(content).hexdigest(),
                                       databases=parts)
    SiteBackup.objects.filter(pk=backup.pk).update(created_at=timezone.now() - timedelta(days=days_ago))
    path = data_backups.tarball(backup)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(content)
    if dump is not None:
        data_backups.dump_file(backup, "postgresql").write_bytes(dump)
    return SiteBackup.objects.get(pk=backup.pk)


def test_it_takes_restores_and_downloads_for_owners_and_admins_only(world, monkeypatch, sent):
    backup = backed_up(world, monkeypatch)
    monkeypatch.setattr(data_backups, "send_to_host", lambda *message: sent.append(message))
    base = "/api/v1/sites/shop/backups/"
    for who in ("developer", "viewer"):
        api = world["client"](who)
        assert api.get(base).json()[0]["id"] == backup.pk  # every member sees the list
        assert api.post(base).status_code == 403
        assert api.get(f"{base}{backup.pk}/download/").status_code == 403
        assert api.post(f"{base}{backup.pk}/restore/").status_code == 403
    assert SiteBackup.objects.count() == 1

    admin = world["client"]("admin")
    download = admin.get(f"{base}{backup.pk}/download/")
    assert download.status_code == 200 and b"".join(download.streaming_content) == b"tarball of shop's /data"
    assert download["Content-Disposition"].startswith('attachment; filename="shop-data-')
    assert admin.post(f"{base}{backup.pk}/restore/").status_code == 202
    taken = admin.post(base)
    assert taken.status_code == 202 and taken.json()["state"] == "running"
    actions = set(AuditEvent.objects.filter(site_name="shop").values_list("action", flat=True))
    assert {"site.backup", "site.backup_restore"} <= actions
    assert sent == [("sites.agent.restore_data", backup.pk, "h1"), ("sites.agent.backup_data", taken.json()["id"], "h1")]


def test_it_says_why_it_cannot_take_or_restore_one(world, monkeypatch):
    site = world["site"]
    with pytest.raises(ValidationError, match="not running"):
        data_backups.take(site)
    backup = backed_up(world, monkeypatch)
    site.refresh_from_db()
    data_backups.take(site)
    with pytest.raises(ValidationError, match="being taken"):
        data_backups.take(site)
    failed = backup_of(site, b"", state="failed")
    with pytest.raises(ValidationError, match="taken completely"):
        data_backups.restore(failed)
    assert world["client"]("owner").get(f"/api/v1/sites/shop/backups/{failed.pk}/download/").status_code == 404
    assert data_backups.restore(backup) == backup


def test_old_backups_go_after_the_kept_days_but_never_the_newest(world, settings):
    settings.SITE_BACKUP_KEEP_DAYS = 7
    site = world["site"]
    old, older = backup_of(site, b"1", days_ago=8), backup_of(site, b"2", days_ago=9)
    assert data_backups.expire() == 1
    assert list(SiteBackup.objects.values_list("pk", flat=True)) == [old.pk]  # the newest, though old
    assert not data_backups.tarball(older).exists()
    fresh = backup_of(site, b"3", days_ago=1)
    assert data_backups.expire() == 1
    assert list(SiteBackup.objects.values_list("pk", flat=True)) == [fresh.pk]


def test_the_oldest_go_while_the_backups_hold_more_than_the_plan_allows(world):
    site = world["site"]
    site.plan.backup_mb = 3
    site.plan.save()
    sizes = [2, 1, 1, 2]  # MB, oldest first
    backups = [backup_of(site, b"x" * (mb * 2**20), days_ago=len(sizes) - number)
               for number, mb in enumerate(sizes)]
    removed = data_backups.keep_within_plan(Site.objects.get(pk=site.pk))
    assert removed == [backups[0].pk, backups[1].pk]  # 6 MB -> 3 MB
    assert [b.pk for b in SiteBackup.objects.order_by("created_at")] == [backups[2].pk, backups[3].pk]
    site.plan.backup_mb = 1
    site.plan.save()
    assert data_backups.keep_within_plan(Site.objects.get(pk=site.pk)) == [backups[2].pk]
    assert list(SiteBackup.objects.values_list("pk", flat=True)) == [backups[3].pk]  # the newest stays


def test_the_nightly_run_asks_for_every_running_sites_backup_but_not_a_suspended_ones(world, monkeypatch, sent):
    backed_up(world, monkeypatch)
    monkeypatch.setattr(data_backups, "send_to_host", lambda *message: sent.append(message))
    assert data_backups.nightly() == 1
    [nightly] = SiteBackup.objects.filter(kind="nightly", state="running")
    assert sent == [("sites.agent.backup_data", nightly.pk, "h1")]
    SiteBackup.objects.filter(pk=nightly.pk).update(state="succeeded")
    suspend_organization(world["org"], "unpaid")
    assert data_backups.nightly() == 0 and len(sent) == 1
