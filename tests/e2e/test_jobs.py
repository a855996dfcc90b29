"""The Jobs tab in a real Chromium against the running platform: a developer schedules a command,
runs one now and reads its output as it comes on the run's page, then finds both on the tab.
Every page passes axe-core and is screenshotted."""
from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model
from playwright.sync_api import expect

from tests.e2e.journey.accounts import log_in
from tests.e2e.journey.walk import PASSWORD, Journey, Person
from tests.integration.support.deploying import create_site, push, workdir_with

pytestmark = pytest.mark.django_db(transaction=True)


def test_a_developer_schedules_a_job_and_runs_a_command_from_the_portal(deploy_env, new_browser_context, shot,
                                                                        axe_check, mailbox, tmp_path):
    platform, customers, created = deploy_env
    site = create_site(deploy_env, "jobs")
    push(deploy_env, workdir_with(tmp_path, None, {"public/index.html": "<h1>jobs</h1>\n"}), site)
    developer = get_user_model().objects.get(email=customers["developer"].email)
    developer.set_password(PASSWORD)
    developer.save()
    journey = Journey(platform, shot, axe_check, mailbox, created)
    person = Person(email=developer.email, page=new_browser_context().new_page())
    page = person.page
    log_in(journey, person)

    journey.visit(page, f"/sites/{site}/jobs/", "the jobs tab")
    expect(page.get_by_text("No scheduled jobs.")).to_be_visible()
    journey.record(page, "no jobs yet")
    page.locator("#job-name").fill("nightly")
    page.locator("#job-schedule").fill("0 3 * * *")
    page.locator("#job-command").fill("echo nightly")
    page.get_by_role("button", name="Add job").click()
    journey.expect_message(page, "Scheduled nightly")
    expect(page.get_by_role("row").filter(has_text="nightly")).to_contain_text("0 3 * * *")
    journey.record(page, "a job scheduled")

    page.locator("#run-command").fill("echo hello from the portal; exit 0")
    page.get_by_role("button", name="Run", exact=True).click()
    expect(page.locator("#run-output")).to_contain_text("hello from the portal", timeout=60_000)
    expect(page.locator("#run-output")).to_contain_text("exited with code 0", timeout=30_000)
    expect(page.locator("#run-state")).to_have_text("succeeded")
    journey.record(page, "a command's output")

    page.get_by_role("link", name="All jobs and runs").click()
    expect(page.locator("table.run-table")).to_contain_text("echo hello from the portal")
    journey.record(page, "the run listed")
    journey.finished("a job scheduled and a command run from the portal")
