"""What every step of the journey shares: the person's browser page, the platform, screenshots, the
accessibility check, the mailbox, and the steps still waiting for their page."""
from __future__ import annotations

import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from urllib.parse import urlsplit

import requests
from django.contrib.auth import get_user_model
from playwright.sync_api import Locator, Page, expect

from accounts.services import issue_token
from tests.e2e.support.mailbox import Mailbox
from tests.e2e.support.screenshots import Screenshots
from tests.integration.support.deploying import Platform

# The foundation's stub pages (accounts/views/stubs.py, sites/portal/pages.py) say this until the
# page is built; a step whose page still says it waits instead of failing.
STUB_TEXT = "This page is being built."
PASSWORD = "correct horse battery staple 11"


@dataclass
class Person:
    email: str
    page: Page
    password: str = PASSWORD
    organization: str = ""
    api_token: str = ""  # only for steps done behind the portal while their page waits


@dataclass
class Journey:
    platform: Platform
    shot: Screenshots
    axe_check: Callable
    mailbox: Mailbox
    sites_created: list[str]  # removed after the test (deploy_env)
    done: list[str] = field(default_factory=list)
    waiting: list[str] = field(default_factory=list)

    def url(self, path: str) -> str:
        return self.platform.portal.rstrip("/") + path

    def record(self, page: Page, step: str) -> None:
        """The end of a step as a person sees it: a numbered screenshot, then the accessibility check."""
        page.wait_for_load_state("load")
        self.shot(page, step)
        self.axe_check(page, step)

    def finished(self, step: str) -> None:
        self.done.append(step)

    def visit(self, page: Page, path: str, step: str) -> bool:
        """Open a portal page; False (the step waits) while it is still the foundation's stub."""
        response = page.goto(self.url(path))
        assert response is not None and response.ok, f"{step}: {path} answered {response and response.status}"
        return self.built(page, step)

    def is_stub(self, page: Page) -> bool:
        return bool(page.get_by_text(STUB_TEXT).count())

    def built(self, page: Page, step: str) -> bool:
        if self.is_stub(page):
            self.waiting.append(f"{step} (waits for {urlsplit(page.url).path})")
            return False
        return True

    def api_token_of(self, person: Person) -> str:
        """A token made behind the portal, for steps whose page waits."""
        if not person.api_token:
            person.api_token = issue_token(get_user_model().objects.get(email=person.email), name="behind the portal")
        return person.api_token

    def api(self, person: Person, method: str, path: str, **kwargs) -> requests.Response:
        """The REST API as `person`, for a step whose page waits: the web process does the work, as
        the page would (files it writes belong to the platform user, not to this root test)."""
        response = requests.request(method, self.url(f"/api/v1/{path}"), timeout=60,
                                    headers={"Authorization": f"Bearer {self.api_token_of(person)}"}, **kwargs)
        assert response.ok, f"{method} {path}: {response.status_code} {response.text}"
        return response

    def expect_message(self, page: Page, text: str | re.Pattern) -> None:
        """The page's message (the base template's live region) says `text`."""
        expect(page.get_by_role("status")).to_contain_text(text)

    def reload_until(self, page: Page, locator: Callable[[], Locator], timeout: float, what: str) -> Locator:
        """Reload the page until `locator()` finds something (state that a background task changes)."""
        deadline = time.monotonic() + timeout
        while not locator().count():
            assert time.monotonic() < deadline, f"{what}: not seen on {page.url} after {timeout:.0f} s"
            time.sleep(1)
            page.reload()
        return locator()
