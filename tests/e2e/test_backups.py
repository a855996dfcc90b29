"""The Backups tab in a real Chromium against the running platform: the organization's owner takes a
backup of a PHP site's /data from the page, watches it succeed (the list follows it by itself),
downloads the tarball, damages the data, then restores the backup after the confirmation page: the
site restarts and serves the data of the backup again. Every page passes axe-core and is
screenshotted. (The agents' packing and restoring are tests/integration/test_data_backups.py's.)"""
from __future__ import annotations

import tarfile

import pytest
from django.contrib.auth import get_user_model
from playwright.sync_api import expect

from sites.models import Deployment, SiteBackup
from tests.e2e.journey.accounts import log_in
from tests.e2e.journey.walk import PASSWORD, Journey, Person
from tests.integration.support.deploying import create_site, push, served, workdir_with
from tests.integration.support.processes import wait_for

pytestmark = pytest.mark.django_db(transaction=True)


def test_an_owner_takes_downloads_and_restores_a_backup_from_the_portal(deploy_env, new_browser_context, shot,
                                                                         axe_check, mailbox, tmp_path):
    platform, customers, created = deploy_env
    site = create_site(deploy_env, "bkui", writable_paths=["uploads"])
    push(deploy_env, workdir_with(tmp_path, "php"), site)
    assert "wrote" in served(platform, site, "/?write=orders.txt&content=order-1001").text
    owner = get_user_model().objects.get(email=customers["owner"].email)
    owner.set_password(PASSWORD)
    owner.save()
    journey = Journey(platform, shot, axe_check, mailbox, created)
    person = Person(email=owner.email, page=new_browser_context().new_page())
    page = person.page
    log_in(journey, person)

    journey.visit(page, f"/sites/{site}/", "the overview")
    page.get_by_role("navigation", name="Site").get_by_role("link", name="Backups").click()
    expect(page.get_by_text("No backups yet.")).to_be_visible()
    journey.record(page, "no backups yet")

    page.get_by_role("button", name="Take a backup now").click()
    journey.expect_message(page, "A backup of /data is being taken")
    row = page.locator("table.backup-table tbody tr").first
    expect(row).to_contain_text("manual")
    expect(row.locator(".badge")).to_have_text("succeeded", timeout=120_000)  # the section polls while it runs
    expect(row).to_contain_text(owner.email)
    expect(page.get_by_role("button", name="Take a backup now")).to_be_visible()
    journey.record(page, "the backup succeeded")
    backup = SiteBackup.objects.get(site__name=site)
    assert backup.state == "succeeded" and backup.created_by_id == owner.pk

    with page.expect_download() as downloading:
        row.get_by_role("link", name="Download").click()
    download = downloading.value
    assert download.suggested_filename.startswith(f"{site}-data-") and download.suggested_filename.endswith(".tar.gz")
    with tarfile.open(download.path()) as packed:
        assert "data/writable/uploads/orders.txt" in packed.getnames()
        assert packed.extractfile("data/writable/uploads/orders.txt").read() == b"order-1001"

    served(platform, site, "/?write=orders.txt&content=DAMAGED")
    served(platform, site, "/?write=later.txt&content=after-the-backup")
    restarts = Deployment.objects.filter(site__name=site, trigger="restart").count()
    row.get_by_role("link", name="Restore").click()
    replaces = page.locator("#restore-replaces")
    expect(replaces).to_contain_text("/data")
    expect(replaces).to_contain_text("is gone")
    expect(page.get_by_text("the site restarts")).to_be_visible()
    journey.record(page, "the restore asks first")
    page.get_by_role("button", name="Replace /data and restart").click()
    journey.expect_message(page, "Restoring the backup of")
    journey.record(page, "the restore under way")

    wait_for(lambda: Deployment.objects.filter(site__name=site, trigger="restart", state="succeeded").count()
             > restarts, 180, "the site to restart after the restore")
    assert served(platform, site, "/?read=orders.txt").text.strip() == "order-1001"
    assert served(platform, site, "/?read=later.txt").status_code == 404  # /data is the backup's, whole
    journey.finished("a backup taken, downloaded and restored from the portal")
