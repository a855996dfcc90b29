"""Fixtures of the browser tests: Debian's Chromium through Playwright, against the running platform
of the integration tier (its fixtures are re-exported here), with an accessibility check, numbered
screenshots and the platform's outgoing mail.

Screenshots go under E2E_ARTIFACTS when it is set, else under pytest's basetemp (`e2e/`); the folder
is printed at the end of the run.
"""
from __future__ import annotations

import os
import re
from pathlib import Path

import pytest
from django.conf import settings

from tests.e2e.support.accessibility import axe_violations, blocking, describe
from tests.e2e.support.browser import chromium, new_context
from tests.e2e.support.mailbox import Mailbox
from tests.e2e.support.screenshots import Screenshots
from tests.integration.conftest import *  # noqa: F401,F403  (pytest finds fixtures by name)

ARTIFACTS_ENV = "E2E_ARTIFACTS"
_ARTIFACTS_KEY = pytest.StashKey[Path]()  # the run's folder, for the summary line
_FAILED_KEY = pytest.StashKey[bool]()  # whether a test's call failed, for its teardown


@pytest.fixture(scope="session")
def artifacts_dir(request, tmp_path_factory) -> Path:
    named = os.environ.get(ARTIFACTS_ENV)
    folder = Path(named).resolve() if named else tmp_path_factory.getbasetemp() / "e2e"
    folder.mkdir(parents=True, exist_ok=True)
    request.config.stash[_ARTIFACTS_KEY] = folder
    return folder


def pytest_terminal_summary(terminalreporter, config):
    folder = config.stash.get(_ARTIFACTS_KEY, None)
    if folder is not None:
        terminalreporter.write_line(f"e2e screenshots and accessibility reports: {folder}")


@pytest.fixture(scope="module")
def browser():
    """One Chromium per test module; each test gets its own contexts (profiles) in it. Per module, not per
    run: the setting below must not outlive the browser tests (child processes inherit it)."""
    # Playwright's sync API keeps an asyncio loop running in the test's thread while the browser is
    # open, and Django then refuses database calls (fixtures' flushes, the journey's look-ups) as if
    # they came from async code. They do not: every call here is synchronous, in one thread.
    allowed = os.environ.get("DJANGO_ALLOW_ASYNC_UNSAFE")
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    try:
        with chromium() as launched:
            yield launched
    finally:
        if allowed is None:
            del os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"]
        else:
            os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = allowed


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item, call):
    report = yield
    if report.when == "call":
        item.stash[_FAILED_KEY] = report.failed
    return report


@pytest.fixture
def new_browser_context(request, browser, test_artifacts):
    """Open another person's browser profile (e.g. a teammate's); closed after the test, each open
    page screenshotted first when the test failed (failed-<n>.png)."""
    opened = []

    def open_context(base_url: str | None = None):
        context = new_context(browser, base_url)
        opened.append(context)
        return context

    yield open_context
    failed = request.node.stash.get(_FAILED_KEY, False)
    pages = [page for context in opened for page in context.pages]
    for number, page in enumerate(pages if failed else [], 1):
        test_artifacts.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(test_artifacts / f"failed-{number}.png"), full_page=True)
    for context in opened:
        context.close()


@pytest.fixture
def page(new_browser_context):
    return new_browser_context().new_page()


@pytest.fixture
def test_artifacts(request, artifacts_dir) -> Path:
    return artifacts_dir / re.sub(r"[^A-Za-z0-9_.-]+", "-", request.node.name)


@pytest.fixture
def shot(test_artifacts) -> Screenshots:
    """shot(page, "signed up") saves <artifacts>/<test>/01-signed-up.png, 02-..., in step order."""
    return Screenshots(test_artifacts)


@pytest.fixture
def axe_check(test_artifacts):
    """axe_check(page) fails the test listing every serious or critical violation on the page;
    lesser ones are written to <artifacts>/<test>/accessibility.txt for a person to read."""
    checked = []

    def check(page, label: str = "") -> None:
        violations = axe_violations(page)
        checked.append(label or page.url)
        lesser = [violation for violation in violations if violation not in blocking(violations)]
        if lesser:
            test_artifacts.mkdir(parents=True, exist_ok=True)
            with open(test_artifacts / "accessibility.txt", "a", encoding="utf-8") as report:
                report.write(f"== {label or page.url} ({page.url})\n{describe(lesser)}\n\n")
        serious = blocking(violations)
        if serious:
            pytest.fail(f"accessibility violations on {label or page.url} ({page.url}):\n{describe(serious)}", pytrace=False)

    return check


@pytest.fixture
def mailbox() -> Mailbox:
    """The mail the platform sent (Django's file backend, EMAIL_FILE_PATH under DATA_DIR)."""
    folder = getattr(settings, "EMAIL_FILE_PATH", None)
    if not folder:
        pytest.fail("settings.EMAIL_FILE_PATH is not set: the browser tests read mail from the file e-mail backend")
    return Mailbox(Path(folder))
