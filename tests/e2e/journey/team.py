"""Team steps: invite a teammate by e-mail; they accept in their own browser and see the site."""
from __future__ import annotations

import re
import uuid

from playwright.sync_api import BrowserContext, expect

from tests.e2e.journey.walk import Journey, Person


def invite_teammate(journey: Journey, person: Person) -> str | None:
    """Invite a developer; returns their address (None while the team page waits)."""
    page = person.page
    if not journey.visit(page, "/team/", "invite a teammate"):
        return None
    address = f"grace-{uuid.uuid4().hex[:6]}@example.com"
    page.get_by_label(re.compile("e-?mail", re.I)).fill(address)
    page.get_by_label(re.compile("role", re.I)).select_option("developer")
    page.get_by_role("button", name=re.compile("invite", re.I)).click()
    expect(page.get_by_text(address).first).to_be_visible()
    journey.record(page, "teammate invited")
    return address


def teammate_accepts(journey: Journey, context: BrowserContext, address: str, site: str) -> None:
    """The invited person opens the mail's link in their own browser, accepts, and sees the site."""
    page = context.new_page()
    teammate = Person(email=address, page=page)
    page.goto(journey.mailbox.newest_to(address).link("/invitations/"))
    journey.record(page, "invitation opened by the teammate")
    passwords = page.get_by_label(re.compile("password", re.I))
    for index in range(passwords.count()):
        passwords.nth(index).fill(teammate.password)
    page.get_by_role("button", name=re.compile("accept|join", re.I)).click()
    expect(page.get_by_role("button", name="Log out")).to_be_visible()
    page.goto(journey.url("/"))
    expect(page.get_by_role("link", name=site)).to_be_visible()
    journey.record(page, "the teammate sees the site")
    journey.finished("invite a teammate who accepts and sees the site")
