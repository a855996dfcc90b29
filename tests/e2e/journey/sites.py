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
from tests.integration.support.deploying import git
from tests.integration.support.processes import wait_for

DEPLOY_TIMEOUT_MS = 180_000  # a build on a busy two-core machine


def create_site(journey: Journey, person: Person) -> str:
    """Create a site, checking the name as it is typed; returns its name."""
    name = f"journey-{uuid.uuid4().hex[:6]}"
    journey.sites_created.append(name)
    page = person.page
    if not journey.visit(page, "/sites/new/", "create a site"):
        journey.api(person, "POST", "sites/", json={"name": name})
        return name
    field = page.get_by_label(re.compile("name", re.I)).first
    field.press_sequentially("Bad_Name", delay=30)
    expect(page.get_by_text(re.compile("lowercase|not a valid|invalid", re.I)).first).to_be_visible()
    journey.record(page, "create a site: a bad name is flagged while typing")
    field.fill("")
    field.press_sequentially(name, delay=20)
    expect(page.get_by_text(re.compile("available", re.I)).first).to_be_visible()
    journey.record(page, "create a site: the name is available")
    page.get_by_role("button", name=re.compile("create", re.I)).click()
    expect(page.get_by_role("heading", name=name)).to_be_visible()
    journey.record(page, "site created")
    journey.finished("create a site (name checked as you type)")
    return name


def copy_git_remote(journey: Journey, person: Person, site: str) -> str:
    """The git remote, as the copy button puts it on the clipboard."""
    page = person.page
    if not journey.visit(page, f"/sites/{site}/", "copy the git remote"):
        return journey.url(f"/git/{site}.git")
    page.get_by_role("button", name=re.compile("copy", re.I)).first.click()
    expect(page.get_by_role("button", name="Copied").first).to_be_visible()
    copied = page.evaluate("() => navigator.clipboard.readText()")
    assert copied == journey.url(f"/git/{site}.git"), copied
    journey.record(page, "git remote copied")
    journey.finished("copy the git remote")
    return copied


def push_in_background(remote: str, token: str, work: Path) -> threading.Thread:
    """`git push` with the token as the password, as a developer's terminal would, while the browser
    watches; the thread fails the test at join time through `result`."""
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
    pusher.join(timeout=DEPLOY_TIMEOUT_MS / 1000)
    assert not pusher.is_alive(), "git push did not end"
    pushed = pusher.result["git"]
    assert pushed.returncode == 0, f"git push failed:\n{pushed.stdout}\n{pushed.stderr}"
    return pushed.stderr


def watch_deploy(journey: Journey, person: Person, site: str, pusher: threading.Thread) -> None:
    """Open the deployment while it runs and see its log follow to success."""

    def started() -> Deployment | None:
        if not pusher.is_alive():
            finish_push(pusher)  # a push that ended without a deployment failed: say how
        return Deployment.objects.filter(site__name=site).order_by("-pk").first()

    deployment = wait_for(started, 60, f"the push's deployment of {site}")
    page = person.page
    if not journey.visit(page, f"/sites/{site}/deployments/{deployment.pk}/", "watch the deploy log"):
        return
    journey.record(page, "deploy log following")
    expect(page.get_by_text(re.compile("succeeded", re.I)).first).to_be_visible(timeout=DEPLOY_TIMEOUT_MS)
    expect(page.locator("pre, [role=log]").first).to_contain_text("Static", timeout=10_000)
    journey.record(page, "deploy succeeded")
    journey.finished("watch the deploy log reach success")


def open_site_through_edge(journey: Journey, person: Person, site: str, text: str) -> None:
    """The site at its own name through the edge (Chromium resolves *.localhost to loopback)."""
    page = person.page.context.new_page()
    page.goto(f"http://{site}.apps.localhost:{journey.platform.edge_port}/")
    expect(page.get_by_text(text)).to_be_visible()
    journey.shot(page, "the site through the edge")
    page.close()
    journey.finished("open the site through the edge")


def add_env_var(journey: Journey, person: Person, site: str) -> None:
    """Set a variable and see the release it makes."""
    page = person.page
    if not journey.visit(page, f"/sites/{site}/env/", "add an env var"):
        _wait_deployed(site, journey.api(person, "POST", f"sites/{site}/env/", json={"vars": {"GREETING": "hello"}}).json())
        return
    page.get_by_label(re.compile("^(name|key)", re.I)).fill("GREETING")
    page.get_by_label(re.compile("^value", re.I)).fill("hello")
    page.get_by_role("button", name=re.compile("add|set|save", re.I)).click()
    expect(page.get_by_text("GREETING").first).to_be_visible()
    journey.record(page, "env var added")
    _expect_release(journey, page, site, "v2", "new release with the env var")
    journey.finished("add an env var and see the new release")


def roll_back(journey: Journey, person: Person, site: str) -> None:
    page = person.page
    if not journey.visit(page, f"/sites/{site}/deployments/", "roll back"):
        _wait_deployed(site, journey.api(person, "POST", f"sites/{site}/rollback/", json={"release": "v1"}).json())
        return
    page.get_by_role("button", name=re.compile("roll ?back.*v1", re.I)).click()
    confirm = page.get_by_role("button", name=re.compile("^(confirm|roll ?back)$", re.I))
    if confirm.count():
        confirm.first.click()
    _expect_release(journey, page, site, "v3", "rolled back to v1")
    journey.finished("roll back")


def _expect_release(journey: Journey, page: Page, site: str, label: str, step: str) -> None:
    page.goto(journey.url(f"/sites/{site}/deployments/"))
    row = page.get_by_role("row").filter(has_text=label)
    expect(row.first).to_contain_text(re.compile("current", re.I), timeout=DEPLOY_TIMEOUT_MS)
    journey.record(page, step)


def _wait_deployed(site: str, answer: dict) -> None:
    """Wait for the deployment an API call answered with."""
    deployment_id = answer.get("id")
    assert deployment_id, answer
    wait_for(lambda: Deployment.objects.get(pk=deployment_id).state == Deployment.State.SUCCEEDED, DEPLOY_TIMEOUT_MS / 1000,
             f"deployment {deployment_id} of {site} to succeed")


def see_charts(journey: Journey, person: Person, site: str) -> None:
    page = person.page
    if not journey.visit(page, f"/sites/{site}/metrics/", "see the charts fill"):
        return
    charts = page.get_by_role("img", name=re.compile("cpu|memory|requests|bandwidth", re.I))
    expect(charts.first).to_be_visible()
    journey.record(page, "charts")
    journey.finished("see the charts fill")


def see_usage(journey: Journey, person: Person, site: str) -> None:
    """The plan's limits and what the organization uses of them, the new site among its sites."""
    page = person.page
    if not journey.visit(page, "/usage/", "see the usage"):
        return
    expect(page.get_by_role("meter", name="Sites used")).to_have_attribute("aria-valuenow", "1")
    expect(page.get_by_role("link", name=site)).to_be_visible()
    journey.record(page, "usage of the plan")
    journey.finished("see the plan's usage")
