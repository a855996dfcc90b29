"""What every step of the journey shares: the person's browser page, the platform, screenshots, the
accessibility check and the mailbox."""
from __future__ import annotations

import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from playwright.sync_api import Locator, Page, expect

from tests.e2e.support.mailbox import Mailbox
from tests.e2e.support.screenshots import Screenshots
from tests.integration.support.deploying import Platform

# The portal foundation's stub pages said this while a page was being built: none may any more.
STUB_TEXT = "This page is being built."
PASSWORD = "correct horse battery staple 11"


@dataclass
class Person:
    email: str
    page: Page
    password: str = PASSWORD
    organization: str = ""


@dataclass
class Journey:
    platform: Platform
    shot: Screenshots
    axe_check: Callable
    mailbox: Mailbox
    sites_created: list[str]  # removed after the test (deploy_env)
    done: list[str] = field(default_factory=list)

    def url(self, path: str) -> str:
        return self.platform.portal.rstrip("/") + path

    def record(self, page: Page, step: str) -> None:
        """The end of a step as a person sees it: a numbered screenshot, then the accessibility check."""
        page.wait_for_load_state("load")
        self.shot(page, step)
        self.axe_check(page, step)

    def finished(self, step: str) -> None:
        self.done.append(step)

    def visit(self, page: Page, path: str, step: str) -> None:
        """Open a portal page for `step`: it answers and is a built page, not a stub."""
        response = page.goto(self.url(path))
        assert response is not None and response.ok, f"{step}: {path} answered {response and response.status}"
        assert not page.get_by_text(STUB_TEXT).count(), f"{step}: {path} is still a stub"

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
