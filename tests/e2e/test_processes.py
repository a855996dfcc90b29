"""The overview's Processes card in a real Chromium against the running platform: a developer sees
the current release's process types, scales the worker with the form, and reads the plan's refusal
when asking for more; each step passes axe-core and is screenshotted. (The containers themselves
are tests/integration/test_processes.py's.)"""
from __future__ import annotations

import uuid

import pytest
from playwright.sync_api import expect

from accounts.models import Plan
from accounts.services import add_member, create_organization, get_or_create_user
from sites.models import Release, Site, Slug
from sites.services import create_site
from tests.e2e.journey.accounts import log_in
from tests.e2e.journey.walk import PASSWORD, Journey, Person
from tests.integration.support.deploying import seed_plans

pytestmark = pytest.mark.django_db(transaction=True)


def test_a_developer_scales_a_worker_on_the_overview(platform, new_browser_context, shot, axe_check, mailbox):
    seed_plans(Plan)
    Plan.objects.filter(name="starter").update(max_processes=2)
    suffix = uuid.uuid4().hex[:6]
    org = create_organization(f"procs-{suffix}", f"owner-{suffix}@example.com")
    email = f"dev-{suffix}@example.com"
    add_member(org, email, "developer")
    user = get_or_create_user(email)
    user.set_password(PASSWORD)
    user.save()
    site = create_site(org, f"queue-{suffix}")
    slug = Slug.objects.create(site=site, sha256="b" * 64, size_bytes=1, runtime="python", source="abc1234",
                               processes={"web": "python3 web.py", "worker": "python3 worker.py"})
    release = Release.objects.create(site=site, version=1, slug=slug, description="Deploy abc1234", encrypted_config="")
    Site.objects.filter(pk=site.pk).update(current_release=release)

    journey = Journey(platform, shot, axe_check, mailbox, [])
    developer = Person(email=email, page=new_browser_context().new_page())
    page = developer.page
    log_in(journey, developer, "developer logs in")
    journey.visit(page, f"/sites/{site.name}/", "the overview")
    card = page.get_by_role("region", name="Processes")
    expect(card.get_by_role("row").filter(has_text="python3 worker.py")).to_be_visible()
    journey.record(page, "the processes card")

    card.get_by_role("spinbutton", name="worker").fill("2")
    card.get_by_role("button", name="Scale").click()
    journey.expect_message(page, "Scaled")
    expect(card.get_by_role("spinbutton", name="worker")).to_have_value("2")
    journey.record(page, "scaled to two workers")
    assert Site.objects.get(pk=site.pk).formation == {"worker": 2}

    card.get_by_role("spinbutton", name="worker").evaluate("input => input.removeAttribute('max')")
    card.get_by_role("spinbutton", name="worker").fill("3")
    card.get_by_role("button", name="Scale").click()
    journey.expect_message(page, "allows 2 process containers")
    journey.record(page, "the plan's refusal")
    assert Site.objects.get(pk=site.pk).formation == {"worker": 2}
    journey.finished("scale a worker from the overview")
