"""The staff dashboard, a host's page and the runtime catalog in a real Chromium against the running
platform: a superuser (password and TOTP code: the staff site needs two-factor) sees the test host up
with its capacity and the fleet's charts, the host's page, and the runtime catalog: "Rebuild images"
sends the real agent a build, which records the host's images. Every page
passes axe-core and is screenshotted."""
from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model
from django.utils import timezone
from playwright.sync_api import expect

from hosting.models import RuntimeImage
from tests.e2e.journey.accounts import enable_two_factor, log_in, log_in_with_two_factor
from tests.e2e.journey.walk import PASSWORD, Journey, Person

pytestmark = pytest.mark.django_db(transaction=True)
HOST = "platform-test"  # the integration platform's agent (tests/integration/conftest.py)


def test_a_superuser_sees_the_fleet_and_asks_the_host_to_rebuild_its_images(platform, new_browser_context, shot,
                                                                              axe_check, mailbox):
    get_user_model().objects.create_superuser("fleet-boss", "fleet-boss@hosting.test", PASSWORD)
    journey = Journey(platform, shot, axe_check, mailbox, [])
    boss = Person(email="fleet-boss@hosting.test", page=new_browser_context().new_page())
    page = boss.page
    log_in(journey, boss, "superuser logs in")
    log_in_with_two_factor(journey, boss, enable_two_factor(journey, boss))

    journey.visit(page, "/admin/", "the dashboard")
    host_row = page.locator(f'tr[data-host="{HOST}"]')
    expect(host_row).to_contain_text("up")
    expect(page.get_by_role("heading", name="The fleet's load over the last day")).to_be_visible()
    expect(page.locator("svg[data-chart]")).to_have_count(3)
    journey.record(page, "the dashboard")

    host_row.get_by_role("link", name=HOST).click()
    expect(page.get_by_role("heading", name=f"Containers on {HOST}")).to_be_visible()
    journey.record(page, "a host's page")

    # The agent recorded its images at its start, but the tests before this one emptied the database
    # (their transactions are flushed), so the catalog is checked after the rebuild records them again.
    journey.visit(page, "/admin/hosting/runtimeimage/", "the runtime catalog")
    journey.record(page, "the runtime catalog")
    before = timezone.now()
    page.get_by_role("button", name="Rebuild images").click()
    expect(page.get_by_text(f"Asked {HOST} to build")).to_be_visible()
    journey.record(page, "rebuild asked")
    journey.reload_until(page, lambda: page.get_by_role("row").filter(has_text=HOST).first
                         if RuntimeImage.objects.filter(recorded_at__gt=before).count() == 5 else page.locator("#none"),
                         timeout=120, what="the agent recorded its images again")
    expect(page.get_by_role("row").filter(has_text=HOST)).to_have_count(5)  # the OS image and four runtimes
    journey.finished("dashboard, host page and catalog; a rebuild through the host's agent")
