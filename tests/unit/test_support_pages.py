"""The support desk's pages: the portal's (open, read, reply, download; another organization's
tickets and files are 404) and the staff admin's (reply, note, assign, close, reopen through its
real URLs; refused to whoever lacks the permission)."""
from __future__ import annotations

from datetime import timedelta

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from accounts.models import AuditEvent
from accounts.services import add_member, create_organization, get_or_create_user
from sites.services import create_site
from staff import roles
from support import attachments, services
from support.models import Attachment, Message, Ticket
from tests.staff_users import client_of, superuser, support_engineer, with_two_factor
from tests.portal_data import seed_tickets
from tests.unit.portal_client import signed_in

pytestmark = pytest.mark.django_db

HTML = b"<!doctype html><script>alert(document.cookie)</script>"
NOTE = "internal: refund only after the manager agrees"


@pytest.fixture
def desk():
    org = create_organization("acme", "owner@example.com")
    add_member(org, "viewer@example.com", "viewer")
    create_organization("globex", "outsider@example.com")
    owner = get_or_create_user("owner@example.com")
    ticket = services.open_ticket(org, owner, "Site down", "It answers 502.",
                                  files=[SimpleUploadedFile("../../x.html", HTML)])
    return {"org": org, "owner": owner, "ticket": ticket, "staff": support_engineer(),
            "file": Attachment.objects.get(message__ticket=ticket)}


def ticket_url(ticket: Ticket) -> str:
    return reverse("support:ticket", args=[ticket.pk])


# --- the portal -----------------------------------------------------------------------------------

def test_it_opens_a_ticket_from_the_form_with_a_site_and_an_attachment(desk):
    site = create_site(desk["org"], "shop")
    response = signed_in("viewer").post(reverse("support:new"), {
        "subject": "Slow pages", "body": "Since noon.", "site": str(site.pk),
        "files": [SimpleUploadedFile("trace.txt", b"stack")]})
    ticket = Ticket.objects.get(subject="Slow pages")
    assert response.status_code == 302 and response["Location"] == ticket_url(ticket)
    assert ticket.site == site and ticket.opened_by.email == "viewer@example.com"
    assert Attachment.objects.filter(message__ticket=ticket, filename="trace.txt").exists()


def test_it_keeps_what_was_typed_when_a_ticket_is_refused(desk, settings):
    settings.SUPPORT_ATTACHMENT_MAX_BYTES = 4
    response = signed_in("owner").post(reverse("support:new"), {
        "subject": "Keep me", "body": "Typed with care.", "files": [SimpleUploadedFile("big.log", b"0123456789")]})
    assert response.status_code == 400
    page = response.content.decode()
    assert "big.log: larger than the limit" in page and "Keep me" in page and "Typed with care." in page
    assert not Ticket.objects.filter(subject="Keep me").exists()


def test_it_shows_the_conversation_without_notes_and_a_reply_reopens_a_closed_ticket(desk):
    ticket = desk["ticket"]
    services.reply_as_staff(ticket, desk["staff"], "We restarted it.")
    services.add_internal_note(ticket, desk["staff"], NOTE)
    services.close(ticket, desk["staff"])
    client = signed_in("owner")
    page = client.get(ticket_url(ticket)).content.decode()
    assert "We restarted it." in page and "It answers 502." in page and NOTE not in page
    assert NOTE not in client.get(reverse("support:home")).content.decode()
    response = client.post(ticket_url(ticket), {"body": "It is down again."})
    assert response.status_code == 302
    assert Ticket.objects.get(pk=ticket.pk).state == Ticket.State.OPEN


def test_it_opens_a_mails_link_to_a_ticket_of_the_members_other_organization(desk):
    other = create_organization("initech", "boss@example.com")
    add_member(other, "owner@example.com", "viewer")
    theirs = services.open_ticket(other, get_or_create_user("boss@example.com"), "Trouble at Initech", "x")
    client = signed_in("owner")
    client.post(reverse("accounts:switch-organization"), {"organization": "acme"})
    response = client.get(ticket_url(theirs))
    assert response.status_code == 302 and response["Location"] == ticket_url(theirs)
    assert "Trouble at Initech" in client.get(ticket_url(theirs)).content.decode()
    # A form never hops: a reply posted to acme's ticket while working in initech is a 404.
    assert client.post(ticket_url(desk["ticket"]), {"body": "x"}).status_code == 404
    assert Message.objects.filter(ticket=desk["ticket"]).count() == 1


def test_it_lists_only_the_organizations_tickets(desk):
    globex = create_organization("initech", "boss@example.com")
    services.open_ticket(globex, get_or_create_user("boss@example.com"), "Their secret trouble", "x")
    page = signed_in("viewer").get(reverse("support:home")).content.decode()
    assert "Site down" in page and "Their secret trouble" not in page


def test_it_gives_another_organizations_member_404_for_the_ticket_and_its_attachment(desk):
    outsider = signed_in("outsider")
    assert outsider.get(ticket_url(desk["ticket"])).status_code == 404
    assert outsider.post(ticket_url(desk["ticket"]), {"body": "hi"}).status_code == 404
    assert outsider.get(reverse("support:attachment", args=[desk["file"].pk])).status_code == 404
    assert Message.objects.count() == 1


def test_it_serves_an_html_upload_as_a_download_that_never_renders(desk):
    response = signed_in("viewer").get(reverse("support:attachment", args=[desk["file"].pk]))
    assert response.status_code == 200 and b"".join(response.streaming_content) == HTML
    assert response["Content-Type"] == "application/octet-stream"
    assert response["Content-Disposition"] == "attachment; filename=\"x.html\"; filename*=UTF-8''x.html"
    assert response["X-Content-Type-Options"] == "nosniff" and response["Content-Security-Policy"] == "sandbox"


def test_it_never_lets_a_customer_download_a_notes_attachment(desk):
    note = services.add_internal_note(desk["ticket"], desk["staff"], NOTE,
                                      files=[SimpleUploadedFile("notes.txt", b"secret")])
    response = signed_in("owner").get(reverse("support:attachment", args=[note.attachments.get().pk]))
    assert response.status_code == 404


# --- the staff admin ------------------------------------------------------------------------------

def admin_url(name: str, *args) -> str:
    return reverse(f"admin:support_ticket_{name}", args=args)


def test_it_lets_support_staff_reply_note_assign_close_and_reopen_through_the_admin(desk, mailoutbox,
                                                                                    django_capture_on_commit_callbacks):
    ticket, staff = desk["ticket"], desk["staff"]
    client = client_of(staff)
    with django_capture_on_commit_callbacks(execute=True):
        assert client.post(admin_url("reply", ticket.pk), {"kind": "reply", "body": "Restarted."}).status_code == 302
        client.post(admin_url("reply", ticket.pk), {"kind": "note", "body": NOTE,
                                                    "files": [SimpleUploadedFile("n.txt", b"n")]})
    assert [m.to for m in mailoutbox] == [["owner@example.com"]] and NOTE not in mailoutbox[0].body
    assert Ticket.objects.get().state == Ticket.State.ANSWERED
    client.post(admin_url("assign", ticket.pk), {"assignee": str(staff.pk)})
    client.post(admin_url("close", ticket.pk))
    assert Ticket.objects.get().state == Ticket.State.CLOSED and Ticket.objects.get().assignee == staff
    client.post(admin_url("reopen", ticket.pk))
    assert Ticket.objects.get().state == Ticket.State.OPEN
    page = client.get(admin_url("change", ticket.pk)).content.decode()
    assert "Restarted." in page and NOTE in page and "Internal note" in page
    note_file = Attachment.objects.get(filename="n.txt")
    assert client.get(admin_url("attachment", note_file.pk))["Content-Disposition"].startswith("attachment;")
    actions = set(AuditEvent.objects.filter(by_staff=True).values_list("action", flat=True))
    assert actions == {f"staff.ticket.{verb}" for verb in ("reply", "note", "assign", "close", "reopen")}


def test_it_refuses_staff_without_the_desks_permissions_on_the_server(desk):
    ticket = desk["ticket"]
    reader = support_engineer("reader")
    reader.groups.clear()
    reader.user_permissions.add(Permission.objects.get(codename="view_ticket"))
    client = client_of(reader)
    assert client.get(admin_url("change", ticket.pk)).status_code == 200
    for name, data in (("reply", {"body": "x"}), ("assign", {"assignee": str(reader.pk)}), ("close", {})):
        assert client.post(admin_url(name, ticket.pk), data).status_code == 403, name
    assert Message.objects.count() == 1 and Ticket.objects.get().state == Ticket.State.OPEN


def test_it_keeps_customers_and_staff_without_two_factor_out_of_the_admin(desk):
    ticket = desk["ticket"]
    customer = signed_in("owner")
    response = customer.post(admin_url("reply", ticket.pk), {"kind": "reply", "body": "I am staff now"})
    assert response.status_code in (302, 403)
    plain = get_user_model().objects.create_user("nofactor", "nofactor@hosting.test", "pw")
    roles.make_support_staff(plain)  # staff, in the Support group, but no second factor
    assert client_of(plain).post(admin_url("reply", ticket.pk), {"body": "x"}).status_code == 302  # to log in
    assert Message.objects.count() == 1


def test_it_lists_open_tickets_longest_waiting_first(desk):
    org, owner = desk["org"], desk["owner"]
    older = services.open_ticket(org, owner, "Waiting for days", "hello")
    Ticket.objects.filter(pk=older.pk).update(last_message_at=timezone.now() - timedelta(days=4))
    answered = services.open_ticket(org, owner, "Answered one", "hello")
    services.reply_as_staff(answered, desk["staff"], "Done.")
    client = client_of(superuser())
    page = client.get(reverse("admin:support_ticket_changelist")).content.decode()
    assert page.index("Waiting for days") < page.index("Site down") < page.index("Answered one")
    waiting = client.get(reverse("admin:support_ticket_changelist"), {"waiting": "3d"}).content.decode()
    assert "Waiting for days" in waiting and "Site down" not in waiting


def test_it_checks_csrf_on_the_forms_that_take_attachments(desk):
    """Those views are csrf_exempt to put the upload limit first, and check CSRF themselves after."""
    customer = Client(enforce_csrf_checks=True)
    customer.force_login(desk["owner"])
    assert customer.post(reverse("support:new"), {"subject": "Forged", "body": "x"}).status_code == 403
    assert customer.post(ticket_url(desk["ticket"]), {"body": "Forged"}).status_code == 403
    staff = Client(enforce_csrf_checks=True)
    staff.force_login(desk["staff"])
    assert staff.post(admin_url("reply", desk["ticket"].pk), {"kind": "reply", "body": "Forged"}).status_code == 403
    assert Message.objects.count() == 1 and Ticket.objects.count() == 1


def test_it_lists_tickets_in_the_admin_with_as_many_queries_for_three_times_the_rows(desk):
    client = client_of(superuser())
    url = reverse("admin:support_ticket_changelist")

    def queries() -> int:
        with CaptureQueriesContext(connection) as captured:
            assert client.get(url).status_code == 200
        return len(captured)

    seed_tickets(desk["org"], 3, 2)
    Ticket.objects.update(assignee=desk["staff"], site=create_site(desk["org"], "shop"))
    client.get(url)
    small = queries()
    seed_tickets(desk["org"], 9, 2)
    Ticket.objects.update(assignee=desk["staff"], site=Ticket.objects.exclude(site=None).first().site)
    assert queries() == small


def test_it_offers_no_way_to_edit_or_delete_a_ticket(desk):
    client = client_of(with_two_factor(superuser("root2")))
    url = admin_url("change", desk["ticket"].pk)
    client.post(url, {"subject": "rewritten", "state": "closed"})
    assert Ticket.objects.get().subject == "Site down"
    assert client.post(admin_url("delete", desk["ticket"].pk), {"post": "yes"}).status_code == 403
    assert Ticket.objects.exists() and attachments.directory().exists()


def test_it_closes_and_assigns_selected_tickets_from_the_list_only_for_those_who_may(desk):
    url = reverse("admin:support_ticket_changelist")
    selected = {"_selected_action": [str(desk["ticket"].pk)], "index": "0"}
    reader = support_engineer("reader")
    reader.groups.clear()
    reader.user_permissions.add(Permission.objects.get(codename="view_ticket"))
    refused = client_of(reader).post(url, {**selected, "action": "close_tickets"})
    assert refused.status_code == 200 and Ticket.objects.get().state == Ticket.State.OPEN  # not offered to them
    assert "close_tickets" not in refused.content.decode()
    client = client_of(desk["staff"])
    client.post(url, {**selected, "action": "assign_to_me"})
    client.post(url, {**selected, "action": "close_tickets"})
    ticket = Ticket.objects.get()
    assert ticket.state == Ticket.State.CLOSED and ticket.assignee == desk["staff"]


def test_it_refuses_a_request_larger_than_any_message_could_be_before_reading_it(desk, settings):
    settings.SUPPORT_ATTACHMENT_MAX_BYTES = 1000
    declared = {"CONTENT_LENGTH": str(100 * 2**20)}
    response = signed_in("owner").post(ticket_url(desk["ticket"]), {"body": "x"}, **declared)
    assert response.status_code == 413 and "larger than allowed" in response.content.decode()
    assert signed_in("owner").post(reverse("support:new"), {"subject": "s", "body": "x"}, **declared).status_code == 413
    client_of(desk["staff"]).post(admin_url("reply", desk["ticket"].pk), {"body": "x"}, **declared)
    assert Message.objects.count() == 1 and Ticket.objects.count() == 1
