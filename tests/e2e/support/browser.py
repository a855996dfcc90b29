"""Debian's Chromium, driven by Playwright: the one way the browser tests start a browser."""
from __future__ import annotations

import shutil
from contextlib import contextmanager
from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, BrowserContext, sync_playwright

# Debian's package (scripts/install.sh --test installs it); Playwright's own browser download is
# not reachable from the machines this runs on.
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu"]
# A phone-sized window would test the responsive layout; the journey uses a laptop's.
VIEWPORT = {"width": 1280, "height": 900}
# Generous for a page that waits on the platform (two cores, several test runs at once).
TIMEOUT_MS = 20_000


@contextmanager
def chromium() -> Iterator[Browser]:
    if not shutil.which(CHROMIUM):
        pytest.fail(f"{CHROMIUM} is missing: `make test` installs Debian's chromium (scripts/install.sh --test)")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        try:
            yield browser
        finally:
            browser.close()


def new_context(browser: Browser, base_url: str | None = None) -> BrowserContext:
    """A fresh browser profile (cookies, storage): one person. The clipboard may be read back, so
    the copy buttons can be checked; CSP is bypassed only so axe-core can be injected."""
    options = {"viewport": VIEWPORT, "bypass_csp": True, "permissions": ["clipboard-read", "clipboard-write"]}
    if base_url:
        options["base_url"] = base_url
    context = browser.new_context(**options)
    context.set_default_timeout(TIMEOUT_MS)
    return context
