"""The Backups tab: the list every member reads, taking, downloading and restoring (owners and
admins only, as in the API), the clear refusals, and 404s for another organization's site or backup.
What the agents are sent is recorded (sites.data_backups.send_to_host); the real packing and
restoring is tests/integration/test_data_backups.py, the page in a browser tests/e2e/test_backups.py."""
from __future__ import annotations

import pytest

from accounts.models import AuditEvent
from accounts.services import get_or_create_user
from sites import data_backups
from sites.models import Site, SiteBackup
from tests.unit.portal_client import signed_in
from tests.unit.test_data_backups import DUMP, backed_up, backup_of

pytestmark = pytest.mark.django_db

PAGE = "/sites/shop/backups/"


@pytest.fixture
def sent(monkeypatch) -> list[tuple]:
    messages: list[tuple] = []
    monkeypatch.setattr(data_backups, "send_to_host", lambda *message: messages.append(message))
    return messages


@pytest.fixture
def backup(world, monkeypatch, sent) -> SiteBackup:
    """shop runs on h1 and has one succeeded backup with its tarball."""
    made = backed_up(world, monkeypatch)
    monkeypatch.setattr(data_backups, "send_to_host", lambda *message: sent.append(message))
    return made


def _urls(backup_id: int, site: str = "shop") -> list[tuple[str, str]]:
    base = f"/sites/{site}/backups/"
    return [("get", base), ("post", base), ("get", f"{base}{backup_id}/download/"),
            ("get", f"{base}{backup_id}/restore/"), ("post", f"{base}{backup_id}/restore/")]


def test_another_organizations_site_and_backups_are_404(world, backup, sent):
    outsider = signed_in("outsider")
    for method, url in _urls(backup.pk):
        assert getattr(outsider, method)(url).status_code == 404, url
    # The outsider's own site does not reach acme's backup either.
    for method, url in _urls(backup.pk, site="gshop")[2:]:
        assert getattr(outsider, method)(url).status_code == 404, url
    # Nor does acme's owner reach globex's backup through shop.
    theirs = backup_of(Site.objects.get(name="gshop"), b"globex's data")
    for method, url in _urls(theirs.pk)[2:]:
        assert getattr(signed_in("owner"), method)(url).status_code == 404, url
    assert sent == [] and SiteBackup.objects.count() == 2


@pytest.mark.parametrize("who", ["developer", "viewer"])
def test_developers_and_viewers_see_the_list_but_may_not_take_download_or_restore(world, backup, sent, who):
    client = signed_in(who)
    page = client.get(PAGE)
    assert page.status_code == 200
    text = page.content.decode()
    assert f'id="backup-{backup.pk}"' in text and "succeeded" in text
    assert "/download/" not in text and "/restore/" not in text and "Take a backup now" not in text
    for method, url in _urls(backup.pk)[1:]:
        assert getattr(client, method)(url).status_code == 403, url
    assert sent == [] and SiteBackup.objects.count() == 1


def test_the_list_shows_each_backup_the_storage_used_and_how_long_they_are_kept(world, backup, settings):
    settings.SITE_BACKUP_KEEP_DAYS = 9
    site = Site.objects.get(name="shop")
    owner = get_or_create_user("owner@example.com")
    SiteBackup.objects.create(site=site, kind="manual", state="failed", host_name="h1", created_by=owner,
                              error="/data is larger than the plan's backup storage (1 MB)")
    text = signed_in("admin").get(PAGE).content.decode()
    assert "23\xa0bytes of " in text and f"{site.plan.backup_mb} MB backup storage used" in text  # only the succeeded
    assert "kept 9 days" in text
    assert "nightly" in text and "the platform" in text  # a nightly one: no member took it
    assert "manual" in text and "owner@example.com" in text
    assert "larger than the plan&#x27;s backup storage (1 MB)" in text
    # the failed one has neither; the one that succeeded downloads /data and its dump
    assert text.count("/download/") == 2 and text.count("/restore/") == 1
    assert f"/sites/shop/backups/{backup.pk}/download/" in text


def test_an_admin_takes_a_backup_and_the_page_follows_it_while_it_runs(world, backup, sent):
    admin = signed_in("admin")
    answer = admin.post(PAGE, follow=True)
    taken = SiteBackup.objects.exclude(pk=backup.pk).get()
    assert taken.kind == "manual" and taken.state == "running" and taken.created_by.email == "admin@example.com"
    assert sent == [("sites.agent.backup_data", taken.pk, "h1")]
    text = answer.content.decode()
    assert "A backup of /data is being taken" in text
    assert 'hx-trigger="every 2s"' in text and "A backup is being taken" in text and "Take a backup now</button>" not in text
    assert AuditEvent.objects.filter(action="site.backup", site_name="shop").exists()

    again = admin.post(PAGE, follow=True).content.decode()  # one at a time, said clearly
    assert "A backup of this site is being taken; wait for it to finish." in again
    assert SiteBackup.objects.count() == 2 and len(sent) == 1

    SiteBackup.objects.filter(pk=taken.pk).update(state="succeeded", size_bytes=10)
    assert 'hx-trigger="every 2s"' not in admin.get(PAGE).content.decode()  # done: the polling stops


def test_a_site_that_is_not_running_says_start_it_first(world, backup, sent):
    Site.objects.filter(name="shop").update(current_instance=None)
    owner = signed_in("owner")
    assert "so\n    <a href=\"/sites/shop/\">start it first</a>" in owner.get(PAGE).content.decode()
    answer = owner.post(PAGE, follow=True).content.decode()
    assert "The site is not running: its /data is on the host that runs it, so start it first." in answer
    restore = owner.post(f"{PAGE}{backup.pk}/restore/", follow=True).content.decode()
    assert "start it first" in restore
    assert sent == [] and SiteBackup.objects.count() == 1


def test_the_download_is_the_apis(world, backup):
    portal = signed_in("owner").get(f"{PAGE}{backup.pk}/download/")
    api = world["client"]("owner").get(f"/api/v1/sites/shop/backups/{backup.pk}/download/")
    assert portal.status_code == api.status_code == 200
    assert b"".join(portal.streaming_content) == b"".join(api.streaming_content) == b"tarball of shop's /data"
    assert portal["Content-Disposition"] == api["Content-Disposition"]
    assert portal["Content-Disposition"].startswith('attachment; filename="shop-data-')
    assert portal["Content-Type"] == "application/gzip"

    portal = signed_in("owner").get(f"{PAGE}{backup.pk}/download/postgresql/")
    api = world["client"]("owner").get(f"/api/v1/sites/shop/backups/{backup.pk}/download/postgresql/")
    assert b"".join(portal.streaming_content) == b"".join(api.streaming_content) == DUMP
    assert portal["Content-Disposition"] == api["Content-Disposition"]
    assert portal["Content-Disposition"].startswith('attachment; filename="shop-postgresql-')
    assert signed_in("owner").get(f"{PAGE}{backup.pk}/download/mariadb/").status_code == 404  # it holds none


def test_the_list_says_what_each_backup_holds_with_a_download_per_part(world, backup):
    only_data = backup_of(Site.objects.get(name="shop"), b"older", days_ago=1, dump=None)
    text = signed_in("owner").get(PAGE).content.decode()
    row = text.split(f'id="backup-{backup.pk}"')[1].split("</tr>")[0]
    assert "<code>/data</code>, postgresql" in row and f"{PAGE}{backup.pk}/download/postgresql/" in row
    row = text.split(f'id="backup-{only_data.pk}"')[1].split("</tr>")[0]
    assert "postgresql" not in row and f"{PAGE}{only_data.pk}/download/" in row


def test_a_backup_without_a_tarball_is_not_downloaded_nor_restored(world, backup, sent):
    failed = backup_of(Site.objects.get(name="shop"), b"half", state="failed")
    owner = signed_in("owner")
    assert owner.get(f"{PAGE}{failed.pk}/download/").status_code == 404
    confirm = owner.get(f"{PAGE}{failed.pk}/restore/").content.decode()
    assert "Only a backup that was taken completely can be restored" in confirm and "<form" not in confirm.split(
        'id="restore-heading"')[1]
    answer = owner.post(f"{PAGE}{failed.pk}/restore/", follow=True).content.decode()
    assert "Only a backup that was taken completely can be restored." in answer
    data_backups.tarball(backup).unlink()  # its file is gone: a 404 too, not a 500
    assert owner.get(f"{PAGE}{backup.pk}/download/").status_code == 404
    assert sent == []


def test_restoring_asks_first_saying_what_it_replaces_then_restores(world, backup, sent):
    admin = signed_in("admin")
    confirm = admin.get(f"{PAGE}{backup.pk}/restore/")
    assert confirm.status_code == 200 and sent == []  # the confirmation changes nothing
    text = confirm.content.decode()
    assert "<code>/data</code>" in text and "is gone" in text and "the site restarts" in text
    assert f'action="{PAGE}{backup.pk}/restore/"' in text and "csrfmiddlewaretoken" in text

    answer = admin.post(f"{PAGE}{backup.pk}/restore/", follow=True)
    assert answer.redirect_chain[-1][0] == PAGE
    assert "Restoring the backup of" in answer.content.decode()
    assert sent == [("sites.agent.restore_data", backup.pk, "h1")]
    assert AuditEvent.objects.filter(action="site.backup_restore", site_name="shop").exists()


def test_the_restore_confirmation_names_the_sites_databases(world, backup):
    from tests.portal_data import seed_database
    database = seed_database(Site.objects.get(name="shop"))
    text = signed_in("owner").get(f"{PAGE}{backup.pk}/restore/").content.decode()
    assert "The site's databases" in text and database.name in text
    assert "replaced with the backup's dumps of them" in text and "Replace /data and the databases" in text
    older = backup_of(Site.objects.get(name="shop"), b"older", days_ago=1, dump=None)  # before the database
    text = signed_in("owner").get(f"{PAGE}{older.pk}/restore/").content.decode()
    assert "holds no dump of them, so they are left as they are" in text


def test_a_suspended_organizations_backups_are_listed_but_not_taken(world, backup, sent):
    from sites.services import suspend_organization
    suspend_organization(world["org"], "unpaid")
    owner = signed_in("owner")
    text = owner.get(PAGE).content.decode()
    assert f'id="backup-{backup.pk}"' in text and "Take a backup now" not in text and "/restore/" not in text
    assert owner.post(PAGE).status_code == 403
    assert owner.get(f"{PAGE}{backup.pk}/download/").status_code == 403  # as the API: MANAGE_BACKUPS changes state
    assert sent == []


def test_the_url_tables_backup_pages_answer_for_a_seeded_organization(world):
    """What the query-count test and `make bench` measure are the pages themselves, not 404s."""
    from django.urls import reverse

    from tests.portal_data import seed
    from tests.portal_urls import PORTAL, targets_for
    seed(world["org"], 2, 10)
    targets = targets_for(world["org"], get_or_create_user("owner@example.com"))
    owner = signed_in("owner")
    for name in ("sites:backups", "sites:backup-download", "sites:backup-restore"):
        response = owner.get(reverse(name, kwargs=PORTAL[name].fill(targets)))
        assert response.status_code == 200, name
    assert SiteBackup.objects.filter(site__name=targets.site).count() == 10
