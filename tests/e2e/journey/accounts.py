"""Account steps: sign up and confirm the address, log in and out, API tokens, two-factor."""
from __future__ import annotations

import re
import uuid

from django.contrib.auth import get_user_model
from playwright.sync_api import Page, expect

from accounts.services import create_organization, issue_token
from tests.e2e.journey.walk import Journey, Person
from tests.e2e.support.totp import totp


def sign_up_and_confirm(journey: Journey, page: Page) -> Person:
    suffix = uuid.uuid4().hex[:6]
    person = Person(email=f"ada-{suffix}@example.com", page=page, organization=f"analytical-{suffix}")
    if not journey.visit(page, "/signup/", "sign up"):
        _create_account_behind_the_portal(person)
        log_in(journey, person)
        return person
    page.get_by_label(re.compile("organization", re.I)).first.fill(person.organization)
    page.get_by_label(re.compile("e-?mail", re.I)).fill(person.email)
    passwords = page.get_by_label(re.compile("password", re.I))
    for index in range(passwords.count()):
        passwords.nth(index).fill(person.password)
    journey.record(page, "sign up form filled")
    page.get_by_role("button", name=re.compile("sign up|create", re.I)).click()
    expect(page.get_by_text(re.compile(re.escape(person.email)))).to_be_visible()
    journey.record(page, "signed up, asked to confirm the address")

    link = journey.mailbox.newest_to(person.email).link("/signup/confirm/")
    page.goto(link)
    journey.record(page, "address confirmed")
    if page.get_by_role("heading", name=re.compile("log in", re.I)).count():
        log_in(journey, person)
    expect(page.get_by_role("link", name=person.email)).to_be_visible()
    journey.finished("sign up and confirm the e-mail address")
    return person


def _create_account_behind_the_portal(person: Person) -> None:
    """While the sign-up page is being built: the account the sign-up would have made."""
    create_organization(person.organization, person.email)
    user = get_user_model().objects.get(email=person.email)
    user.set_password(person.password)
    user.save(update_fields=["password"])


def log_in(journey: Journey, person: Person, step: str = "logged in") -> None:
    page = person.page
    page.goto(journey.url("/login/"))
    page.get_by_label("E-mail").fill(person.email)
    page.get_by_label("Password").fill(person.password)
    journey.record(page, f"{step}: the login form")
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("button", name="Log out")).to_be_visible()
    journey.record(page, f"{step}: the first page")


def log_out(journey: Journey, person: Person) -> None:
    person.page.get_by_role("button", name="Log out").click()
    expect(person.page.get_by_role("heading", name="Log in")).to_be_visible()


def create_token(journey: Journey, person: Person) -> str:
    """A new API token, as the Tokens page shows it once (the git password)."""
    page = person.page
    if not journey.visit(page, "/tokens/", "create an API token"):
        user = get_user_model().objects.get(email=person.email)
        return issue_token(user, name="laptop")
    page.get_by_label(re.compile("name", re.I)).fill("laptop")
    page.get_by_role("button", name=re.compile("create", re.I)).click()
    shown = page.get_by_text(re.compile(r"hst_\w+"))
    expect(shown.first).to_be_visible()
    token = re.search(r"hst_\w+", shown.first.inner_text()).group(0)
    journey.record(page, "API token created, shown once")
    journey.finished("create an API token (shown once)")
    return token


def enable_two_factor(journey: Journey, person: Person) -> str | None:
    """Turn on TOTP with the secret the page shows; returns the secret (None while the page waits)."""
    page = person.page
    if not journey.visit(page, "/account/two-factor/", "enable two-factor"):
        return None
    secret_text = page.get_by_text(re.compile(r"\b[A-Z2-7]{16,}\b")).first
    secret = re.search(r"[A-Z2-7]{16,}", secret_text.inner_text().replace(" ", "")).group(0)
    journey.record(page, "two-factor: the secret to scan")
    page.get_by_label(re.compile("code", re.I)).fill(totp(secret))
    page.get_by_role("button", name=re.compile("enable|turn on|confirm", re.I)).click()
    expect(page.get_by_text(re.compile("recovery codes", re.I)).first).to_be_visible()
    journey.record(page, "two-factor on, recovery codes shown")
    journey.finished("enable two-factor")
    return secret


def log_in_with_two_factor(journey: Journey, person: Person, secret: str) -> None:
    log_out(journey, person)
    page = person.page
    page.get_by_label("E-mail").fill(person.email)
    page.get_by_label("Password").fill(person.password)
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_label(re.compile("code", re.I))).to_be_visible()
    journey.record(page, "two-factor: asked for the code")
    page.get_by_label(re.compile("code", re.I)).fill(totp(secret))
    page.get_by_role("button", name=re.compile("verify|log in|continue", re.I)).click()
    expect(page.get_by_role("button", name="Log out")).to_be_visible()
    journey.record(page, "logged in with two-factor")
    journey.finished("log out and in with two-factor")
