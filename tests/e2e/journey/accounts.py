"""Account steps: sign up and confirm the address, log in and out, API tokens, two-factor."""
from __future__ import annotations

import re
import time
import uuid

from playwright.sync_api import Page, expect

from tests.e2e.journey.walk import Journey, Person
from tests.e2e.support.totp import totp


def sign_up_and_confirm(journey: Journey, page: Page) -> Person:
    suffix = uuid.uuid4().hex[:6]
    person = Person(email=f"ada-{suffix}@example.com", page=page, organization=f"analytical-{suffix}")
    journey.visit(page, "/signup/", "sign up")
    page.get_by_label("E-mail").fill(person.email)
    page.get_by_label("Password").fill(person.password)
    page.get_by_label("Organization name").fill(person.organization)
    journey.record(page, "sign up form filled")
    page.get_by_role("button", name="Create account").click()
    journey.expect_message(page, f"we sent a link to {person.email}")
    journey.record(page, "signed up, asked to confirm the address")

    page.goto(journey.mailbox.newest_to(person.email).link("/signup/confirm/"))
    journey.expect_message(page, "confirmed")
    journey.record(page, "address confirmed")
    log_in(journey, person)
    journey.finished("sign up and confirm the e-mail address")
    return person


def log_in(journey: Journey, person: Person, step: str = "logged in") -> None:
    page = person.page
    if not page.url.endswith("/login/"):
        page.goto(journey.url("/login/"))
    _fill_login_form(person)
    journey.record(page, f"{step}: the login form")
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("button", name="Log out")).to_be_visible()
    journey.record(page, f"{step}: the first page")


def _fill_login_form(person: Person) -> None:
    person.page.get_by_label("E-mail").fill(person.email)
    person.page.get_by_label("Password").fill(person.password)


def create_token(journey: Journey, person: Person) -> str:
    """A new API token, as the Tokens page shows it once (the git password), through its copy button."""
    page = person.page
    journey.visit(page, "/tokens/", "create an API token")
    page.get_by_label("Name", exact=True).fill("laptop")
    page.get_by_role("button", name="Create token").click()
    created = page.get_by_role("region", name="Your new token")
    created.get_by_role("button", name="Copy").click()
    expect(created.get_by_role("button", name="Copied")).to_be_visible()
    token = page.evaluate("() => navigator.clipboard.readText()")
    assert token.startswith("hst_"), token
    expect(page.get_by_role("row").filter(has_text="laptop")).to_contain_text("never")  # not used yet
    journey.record(page, "API token created, shown once")
    journey.finished("create an API token (shown once, copied)")
    return token


def enable_two_factor(journey: Journey, person: Person) -> str:
    """Turn on TOTP with the key the page shows (its copy button); returns the key."""
    page = person.page
    journey.visit(page, "/account/two-factor/", "enable two-factor")
    expect(page.get_by_role("img", name=re.compile("QR code", re.I)).first).to_be_visible()
    page.get_by_role("button", name="Copy").click()
    secret = page.evaluate("() => navigator.clipboard.readText()")
    journey.record(page, "two-factor: the key to scan")
    page.get_by_role("textbox", name="Code").fill(totp(secret))
    page.get_by_role("button", name="Turn on").click()
    expect(page.get_by_role("heading", name="Save your recovery codes")).to_be_visible()
    journey.record(page, "two-factor on, recovery codes shown once")
    journey.finished("enable two-factor")
    return secret


def log_in_with_two_factor(journey: Journey, person: Person, secret: str) -> None:
    page = person.page
    page.get_by_role("button", name="Log out").click()
    expect(page.get_by_role("heading", name="Log in")).to_be_visible()
    _fill_login_form(person)
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("heading", name="Two-factor authentication")).to_be_visible()
    journey.record(page, "two-factor: asked for the code")
    # A code is accepted once (RFC 6238 §5.2) and the one that turned two-factor on may still be the
    # current one: the app would show the next within 30 s; the platform allows one step of drift,
    # so the test types the next code now instead of waiting for it.
    page.get_by_role("textbox", name="Code").fill(totp(secret, at=time.time() + 30))
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("button", name="Log out")).to_be_visible()
    journey.record(page, "logged in with two-factor")
    journey.finished("log out and in with two-factor")
