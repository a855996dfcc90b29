"""Site steps: create a site, copy its git remote, push, follow the deploy, open the site through the
edge, change config, roll back, read the charts."""
from __future__ import annotations

import re
import threading
import uuid
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

from playwright.sync_api import Page, expect

from sites.models import Deployment
from tests.e2e.journey.walk import Journey, Person
from tests.e2e.support.browser import VIEWPORT
from tests.integration.support.deploying import git
from tests.integration.support.processes import wait_for

DEPLOY_TIMEOUT = 180  # seconds: a build and a release on a busy two-core machine
UNFINISHED = re.compile(r"queued|building|releasing")
PHONE = {"width": 375, "height": 740}


def create_site(journey: Journey, person: Person) -> str:
    """Create a site, the name checked as it is typed; returns its name."""
    name = f"journey-{uuid.uuid4().hex[:6]}"
    journey.sites_created.append(name)
    page = person.page
    journey.visit(page, "/sites/new/", "create a site")
    field = page.get_by_label("Site name")
    field.press_sequentially("9lives", delay=30)
    expect(page.get_by_text("is not a valid site name")).to_be_visible()
    journey.record(page, "create a site: a bad name is flagged while typing")
    field.fill("")
    field.press_sequentially(name, delay=20)
    expect(page.get_by_text(f"{name} is available.")).to_be_visible()
    journey.record(page, "create a site: the name is available")
    page.get_by_role("button", name="Create site").click()
    expect(page.get_by_role("heading", name=name, exact=True)).to_be_visible()
    journey.record(page, "site created")
    journey.finished("create a site (name checked as you type)")
    return name


def copy_git_remote(journey: Journey, person: Person, site: str) -> str:
    """The git remote, as the copy button puts it on the clipboard."""
    page = person.page
    journey.visit(page, f"/sites/{site}/", "copy the git remote")
    with_git = page.get_by_role("region", name="Deploy with git")
    with_git.get_by_role("button", name="Copy").click()
    expect(with_git.get_by_role("button", name="Copied")).to_be_visible()
    copied = page.evaluate("() => navigator.clipboard.readText()")
    assert copied == journey.url(f"/git/{site}.git"), copied
    journey.record(page, "git remote copied")
    journey.finished("copy the git remote")
    return copied


def push_in_background(remote: str, token: str, work: Path) -> threading.Thread:
    """`git push` with the token as the password, as a developer's terminal would, while the browser
    watches; `finish_push` joins it and fails the test if the push failed."""
    parts = urlsplit(remote)
    with_password = urlunsplit(parts._replace(netloc=f"user:{token}@{parts.netloc}"))
    result: dict = {}

    def run() -> None:
        result["git"] = git("push", with_password, "HEAD:main", cwd=work, check=False)

    thread = threading.Thread(target=run, name="git push")
    thread.result = result
    thread.start()
    return thread


def finish_push(pusher: threading.Thread) -> str:
    pusher.join(timeout=DEPLOY_TIMEOUT)
    assert not pusher.is_alive(), "git push did not end"
    pushed = pusher.result["git"]
    assert pushed.returncode == 0, f"git push failed:\n{pushed.stdout}\n{pushed.stderr}"
    return pushed.stderr


def watch_deploy(journey: Journey, person: Person, site: str, pusher: threading.Thread) -> None:
    """Open the deployment as soon as the push made it and see its log follow to success."""

    def started() -> Deployment | None:
        if not pusher.is_alive():
            finish_push(pusher)  # a push that ended without a deployment failed: say how
        return Deployment.objects.filter(site__name=site).order_by("-pk").first()

    deployment = wait_for(started, 60, f"the push's deployment of {site}")
    page = person.page
    journey.visit(page, f"/sites/{site}/deployments/{deployment.pk}/", "watch the deploy log")
    heading = page.get_by_role("heading", name=re.compile(rf"^Deployment #{deployment.pk}"))
    live = bool(UNFINISHED.search(heading.inner_text()))
    journey.record(page, "deploy log while it runs" if live else "deploy log (already finished)")
    expect(heading).to_contain_text("succeeded", timeout=DEPLOY_TIMEOUT * 1000)
    expect(page.get_by_role("region", name="Log")).to_contain_text("Static site", timeout=10_000)
    journey.record(page, "deploy succeeded")
    journey.finished(f"watch the deploy log reach success ({'followed live' if live else 'finished before the page opened'})")


def open_site_through_edge(journey: Journey, person: Person, site: str, text: str) -> None:
    """Follow the portal's link to the site, served through the edge at its own name (Chromium
    resolves *.localhost to loopback)."""
    page = person.page
    address = f"http://{site}.apps.localhost:{journey.platform.edge_port}/"
    link = page.get_by_role("link", name=f"{site}.apps.localhost").first
    if link.count():
        expect(link).to_have_attribute("href", address)
        link.click()
    else:
        page.goto(address)
    expect(page.get_by_text(text)).to_be_visible()
    assert page.url == address, page.url
    journey.shot(page, "the site through the edge")  # the customer's page: not ours to check
    page.go_back()
    journey.finished("open the site through the edge")


def see_it_running_in_the_list(journey: Journey, person: Person, site: str) -> None:
    page = person.page
    journey.visit(page, "/", "see the site running in the list")
    row = page.get_by_role("row").filter(has=page.get_by_role("link", name=site, exact=True))
    expect(row).to_contain_text("running")
    journey.record(page, "sites list: the site is running")
    journey.finished("see the site running in the list")


def add_env_var(journey: Journey, person: Person, site: str) -> None:
    """Set a variable and see the release it makes."""
    page = person.page
    journey.visit(page, f"/sites/{site}/env/", "add an env var")
    page.get_by_label("Key", exact=True).fill("GREETING")
    page.get_by_label("Value", exact=True).fill("hello")
    page.get_by_role("button", name="Set variable").click()
    expect(page.get_by_role("row").filter(has_text="GREETING")).to_be_visible()
    expect(page.get_by_role("row").filter(has_text="GREETING")).not_to_contain_text("hello")  # masked
    journey.record(page, "env var added, its value masked")
    _expect_current_release(journey, page, site, "v2", "new release with the env var")
    journey.finished("add an env var and see the new release")


def roll_back(journey: Journey, person: Person, site: str) -> None:
    page = person.page
    journey.visit(page, f"/sites/{site}/deployments/", "roll back")
    page.get_by_role("button", name="Roll back to v1").click()
    _expect_current_release(journey, page, site, "v3", "rolled back to v1 as v3")
    journey.finished("roll back")


def _expect_current_release(journey: Journey, page: Page, site: str, label: str, step: str) -> None:
    """See release `label` become the current one."""
    journey.visit(page, f"/sites/{site}/deployments/", step)
    releases = page.get_by_role("region", name="Releases")

    def current():
        return releases.get_by_role("row").filter(has=page.get_by_role("cell", name=label, exact=True)).filter(has_text="current")

    journey.reload_until(page, current, DEPLOY_TIMEOUT, f"{label} current")
    journey.record(page, step)


def see_charts(journey: Journey, person: Person, site: str) -> None:
    """The Metrics tab: the memory chart shows what the site uses (the agent samples it) and the
    requests chart the visits of the journey (the edge's access log, collected every minute)."""
    page = person.page
    journey.visit(page, f"/sites/{site}/metrics/", "see the charts fill")
    for title in ("Memory", "Requests"):
        # The chart's text alternative names its highest point: "... highest 2.4 MiB at 02:17, ...".
        above_zero = re.compile(rf"^{title}.*: highest (?!0[ ,])")
        journey.reload_until(page, lambda: page.get_by_role("img", name=above_zero), 90, f"the {title} chart above zero")
    journey.record(page, "charts filled")
    journey.finished("see the charts fill")


def see_usage(journey: Journey, person: Person, site: str) -> None:
    """The plan's limits and what the organization uses of them, the new site among its sites."""
    page = person.page
    journey.visit(page, "/usage/", "see the usage")
    expect(page.get_by_role("meter", name="Sites used")).to_have_attribute("aria-valuenow", "1")
    expect(page.get_by_role("link", name=site)).to_be_visible()
    journey.record(page, "usage of the plan")
    journey.finished("see the plan's usage")


def on_a_phone(journey: Journey, person: Person, site: str) -> None:
    """The site's overview in a phone's width: nothing wider than the screen (no sideways scrolling)."""
    page = person.page
    journey.visit(page, f"/sites/{site}/", "the site on a phone")
    page.set_viewport_size(PHONE)
    try:
        wider = page.evaluate("() => document.documentElement.scrollWidth - window.innerWidth")
        journey.record(page, "the site's overview on a phone")
        assert wider <= 0, f"the overview is {wider}px wider than a {PHONE['width']}px phone screen"
    finally:
        page.set_viewport_size(VIEWPORT)
    journey.finished("the site's overview on a phone")


# The portal's other pages, each opened once so the accessibility check covers them too:
# (path under the portal, the heading a person sees there).
OTHER_PAGES = (("/sites/{site}/domains/", "{site}"), ("/sites/{site}/logs/", "{site}"),
               ("/sites/{site}/settings/", "{site}"), ("/audit/", "Audit log"), ("/account/", "Account"),
               ("/support/", "Support"))


def look_around(journey: Journey, person: Person, site: str) -> None:
    page = person.page
    for path, heading in OTHER_PAGES:
        path, heading = path.format(site=site), heading.format(site=site)
        journey.visit(page, path, f"look at {path}")
        expect(page.get_by_role("heading", level=1)).to_contain_text(re.compile(re.escape(heading), re.I))
        journey.record(page, f"a look at {path}")
        journey.finished(f"a look at {path}")
