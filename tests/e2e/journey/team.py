"""Team steps: invite a teammate by e-mail; they accept in their own browser and see the site."""
from __future__ import annotations

import uuid

from playwright.sync_api import BrowserContext, expect

from tests.e2e.journey.walk import Journey, Person


def invite_teammate(journey: Journey, person: Person) -> str:
    """Invite a developer; returns their address."""
    page = person.page
    journey.visit(page, "/team/", "invite a teammate")
    address = f"grace-{uuid.uuid4().hex[:6]}@example.com"
    page.get_by_label("E-mail", exact=True).fill(address)
    page.get_by_label("Role", exact=True).select_option("developer")
    page.get_by_role("button", name="Send invitation").click()
    expect(page.get_by_role("row").filter(has_text=address)).to_contain_text("Developer")
    journey.record(page, "teammate invited")
    return address


def teammate_accepts(journey: Journey, context: BrowserContext, address: str, site: str) -> None:
    """The invited person opens the mail's link in their own browser, accepts, and sees the site."""
    page = context.new_page()
    teammate = Person(email=address, page=page)
    page.goto(journey.mailbox.newest_to(address).link("/invitations/"))
    expect(page.get_by_role("heading", name="Join")).to_be_visible()
    journey.record(page, "invitation opened by the teammate")
    page.get_by_label("Password").fill(teammate.password)
    page.get_by_role("button", name="Create account and join").click()
    journey.expect_message(page, "Welcome to")
    expect(page.get_by_role("link", name=site, exact=True)).to_be_visible()
    journey.record(page, "the teammate sees the site")
    journey.finished("invite a teammate who accepts and sees the site")
