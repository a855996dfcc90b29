"""Issue 11's journey in a real Chromium: a customer signs up and confirms, creates a site, copies its
git remote, pushes a sample app with the git CLI, watches the deploy log reach success, opens the site
through the edge, adds an env var and sees the new release, rolls back, sees the charts fill, invites
a teammate who accepts and sees the site, and enables two-factor and logs in with it. Every step is
screenshotted and passes axe-core with no serious or critical violation."""
from __future__ import annotations

import pytest

from tests.e2e.journey import accounts, sites, team
from tests.e2e.journey.walk import Journey
from tests.integration.support.deploying import workdir_with

pytestmark = pytest.mark.django_db(transaction=True)

APP_TEXT = "hello from the journey"


def test_it_walks_the_whole_customer_journey(deploy_env, new_browser_context, shot, axe_check, mailbox, tmp_path):
    platform, _, created = deploy_env
    journey = Journey(platform, shot, axe_check, mailbox, created)
    customer = accounts.sign_up_and_confirm(journey, new_browser_context().new_page())

    site = sites.create_site(journey, customer)
    remote = sites.copy_git_remote(journey, customer, site)
    token = accounts.create_token(journey, customer)
    work = workdir_with(tmp_path, None, {"public/index.html": f"<!doctype html><title>Journey</title><h1>{APP_TEXT}</h1>\n"})
    pusher = sites.push_in_background(remote, token, work)
    sites.watch_deploy(journey, customer, site, pusher)
    assert "is live at http://" in sites.finish_push(pusher)
    sites.open_site_through_edge(journey, customer, site, APP_TEXT)
    sites.see_it_running_in_the_list(journey, customer, site)

    sites.add_env_var(journey, customer, site)
    sites.roll_back(journey, customer, site)
    sites.see_usage(journey, customer, site)
    sites.on_a_phone(journey, customer, site)
    sites.look_around(journey, customer, site)

    teammate = team.invite_teammate(journey, customer)
    team.teammate_accepts(journey, new_browser_context(), teammate, site)
    secret = accounts.enable_two_factor(journey, customer)
    accounts.log_in_with_two_factor(journey, customer, secret)
    sites.see_charts(journey, customer, site)  # last: the edge's traffic is collected once a minute

    print("journey steps done in the browser:", *journey.done, sep="\n  ")
