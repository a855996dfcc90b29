"""Issue 12's support desk in a real Chromium: a customer opens a ticket in the portal; a support
engineer (logged in with a password and a TOTP code: the staff site needs two-factor) replies and
adds an internal note in the staff admin, then closes the ticket; the customer sees the reply in the
portal and in an e-mail whose link opens the ticket, and never the note; the customer's reply opens
the closed ticket again. Portal pages pass axe-core; every step is screenshotted."""
from __future__ import annotations

import re

import pytest
from django.contrib.auth import get_user_model
from playwright.sync_api import expect

from staff import roles
from tests.e2e.journey.accounts import enable_two_factor, log_in, log_in_with_two_factor
from tests.e2e.journey.walk import PASSWORD, Journey, Person

pytestmark = pytest.mark.django_db(transaction=True)

SUBJECT = "Our shop answers 502 since noon"
REPLY = "We restarted your site's container; it answers again."
NOTE = "INTERNAL-ONLY: on the old plan, offer the upgrade before the refund"
LOG = b"2026-11-28 12:00:01 upstream prematurely closed connection\n"


@pytest.fixture
def desk_people(customers):
    """The customer (acme's owner) and a support engineer, both with a password to log in with."""
    User = get_user_model()
    owner = User.objects.get(email=customers["owner"].email)
    owner.set_password(PASSWORD)
    owner.save()
    engineer = User.objects.create_user("desk-engineer", "desk-engineer@hosting.test", PASSWORD)
    roles.make_support_staff(engineer)
    return owner.email, engineer.email


def test_it_shows_the_customer_the_staff_reply_and_its_mail_but_never_the_note(
        platform, desk_people, new_browser_context, shot, axe_check, mailbox):
    journey = Journey(platform, shot, axe_check, mailbox, [])
    customer = Person(email=desk_people[0], page=new_browser_context().new_page())
    staff = Person(email=desk_people[1], page=new_browser_context().new_page())

    log_in(journey, customer, "customer logs in")
    ticket_id = open_ticket(journey, customer)
    staff_log_in_with_two_factor(journey, staff)
    reply_note_and_close(journey, staff, ticket_id)
    read_the_reply(journey, customer, ticket_id)
    reply_reopens(journey, customer)
    print("support desk steps done in the browser:", *journey.done, sep="\n  ")


def open_ticket(journey: Journey, person: Person) -> int:
    page = person.page
    journey.visit(page, "/support/", "the support page")
    journey.record(page, "support: no tickets yet")
    page.get_by_role("link", name="Open a ticket").click()
    page.get_by_label("Subject").fill(SUBJECT)
    page.get_by_label("Message").fill("Every page of the shop answers 502 Bad Gateway.")
    page.get_by_label("Attachments").set_input_files(files=[{"name": "error.log", "mimeType": "text/plain", "buffer": LOG}])
    journey.record(page, "support: a new ticket, filled in")
    page.get_by_role("button", name="Open ticket").click()
    journey.expect_message(page, "is open")
    link = page.get_by_role("link", name="error.log")
    download = page.request.get(journey.url(link.get_attribute("href")))  # with the customer's cookies
    assert download.ok and download.body() == LOG
    assert download.headers["content-disposition"].startswith("attachment;")
    assert download.headers["x-content-type-options"] == "nosniff" and download.headers["content-security-policy"] == "sandbox"
    journey.record(page, "support: the ticket, waiting for staff")
    journey.finished("open a ticket with an attachment in the portal")
    return int(re.search(r"/support/(\d+)/", page.url).group(1))


def staff_log_in_with_two_factor(journey: Journey, person: Person) -> None:
    """The staff site opens only with two-factor: turn it on, then log in again with a TOTP code."""
    log_in(journey, person, "support engineer logs in")
    secret = enable_two_factor(journey, person)
    log_in_with_two_factor(journey, person, secret)
    journey.finished("a support engineer logs in with a TOTP code")


def reply_note_and_close(journey: Journey, person: Person, ticket_id: int) -> None:
    page = person.page
    page.goto(journey.url("/admin/support/ticket/?state__exact=open"))
    page.get_by_role("link", name=re.compile(rf"#{ticket_id} ")).click()
    expect(page.get_by_role("link", name="error.log")).to_be_visible()
    page.get_by_label("Message").fill(REPLY)
    journey.shot(page, "admin: a reply, written")
    page.get_by_role("button", name="Send").click()
    expect(page.get_by_text("Reply sent")).to_be_visible()

    page.get_by_label("Internal note (staff only)").check()
    page.get_by_label("Message").fill(NOTE)
    page.get_by_role("button", name="Send").click()
    expect(page.get_by_text("Internal note added")).to_be_visible()
    expect(page.locator(".message.note")).to_contain_text(NOTE)
    page.get_by_role("button", name="Close ticket").click()
    expect(page.get_by_role("button", name="Reopen ticket")).to_be_visible()
    journey.shot(page, "admin: the conversation with the reply and the internal note, closed")
    journey.finished("staff reply, add an internal note and close the ticket in the admin")


def read_the_reply(journey: Journey, person: Person, ticket_id: int) -> None:
    page = person.page
    mail = journey.mailbox.newest_to(person.email)
    assert REPLY in mail.body and NOTE not in mail.body, mail.body
    assert all(NOTE not in sent.body for sent in journey.mailbox.messages())
    page.goto(mail.link(f"/support/{ticket_id}/"))
    expect(page.get_by_text(REPLY)).to_be_visible()
    expect(page.get_by_text("Closed", exact=True)).to_be_visible()
    assert NOTE not in page.content()
    journey.record(page, "support: the customer reads the reply, opened from the e-mail")
    journey.visit(page, "/support/", "the ticket list")
    expect(page.get_by_role("row").filter(has_text=SUBJECT)).to_contain_text("Closed")
    assert NOTE not in page.content()
    journey.record(page, "support: the ticket list")
    journey.finished("the customer sees the reply in the portal and by e-mail, never the note")
    page.goto(journey.url(f"/support/{ticket_id}/"))


def reply_reopens(journey: Journey, person: Person) -> None:
    page = person.page
    page.get_by_label("Your reply").fill("Thank you, but the checkout page still fails.")
    page.get_by_role("button", name="Send reply").click()
    journey.expect_message(page, "open again")
    expect(page.get_by_text("Waiting for staff", exact=True)).to_be_visible()
    assert NOTE not in page.content()
    journey.record(page, "support: the customer's reply opened the ticket again")
    journey.finished("a customer's reply reopens the closed ticket")
