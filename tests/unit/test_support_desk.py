"""The support desk's rules (support/services.py): states, a customer's reply reopening a ticket,
mail on staff replies only, internal notes kept from customers, attachments' limits and names."""
from __future__ import annotations

from datetime import timedelta

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.http import Http404
from django.utils import timezone

from accounts.models import AuditEvent
from accounts.services import add_member, create_organization, get_or_create_user
from sites.services import create_site
from support import attachments, services
from support.models import Attachment, Ticket
from tests.staff_users import support_engineer

pytestmark = pytest.mark.django_db

NOTE = "the customer's card was declined twice: watch for fraud"


@pytest.fixture
def desk():
    org = create_organization("acme", "owner@example.com")
    add_member(org, "viewer@example.com", "viewer")
    add_member(org, "quiet@example.com", "developer")
    create_organization("globex", "outsider@example.com")
    return {"org": org, "owner": get_or_create_user("owner@example.com"),
            "viewer": get_or_create_user("viewer@example.com"), "staff": support_engineer()}


def upload(name: str = "log.txt", content: bytes = b"hello\n") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, content)


def open_one(desk, **kwargs) -> Ticket:
    return services.open_ticket(desk["org"], desk["owner"], "Site down", "It answers 502.", **kwargs)


def test_it_opens_a_ticket_waiting_for_staff_with_the_first_message(desk):
    site = create_site(desk["org"], "shop")
    ticket = open_one(desk, site=str(site.pk), files=[upload()])
    assert ticket.state == Ticket.State.OPEN and ticket.site == site and ticket.last_message_at
    assert [m.body for m in services.customer_messages(ticket)] == ["It answers 502."]
    assert AuditEvent.objects.filter(organization=desk["org"], action="support.ticket.open", site_name="shop").exists()


def test_it_refuses_a_site_of_another_organization(desk):
    other = create_site(create_organization("initech", "boss@example.com"), "theirs")
    with pytest.raises(ValidationError):
        open_one(desk, site=other.pk)
    assert not Ticket.objects.exists()


def test_it_refuses_a_ticket_from_someone_outside_the_organization(desk):
    with pytest.raises(Http404):
        services.open_ticket(desk["org"], get_or_create_user("outsider@example.com"), "Hi", "Let me in")


def test_it_marks_a_staff_reply_answered_and_a_customer_reply_reopens_even_a_closed_ticket(desk):
    ticket = open_one(desk)
    services.reply_as_staff(ticket, desk["staff"], "Restarted it.")
    assert Ticket.objects.get().state == Ticket.State.ANSWERED
    services.close(ticket, desk["staff"])
    assert Ticket.objects.get().state == Ticket.State.CLOSED and Ticket.objects.get().closed_at
    services.reply_as_customer(ticket, desk["viewer"], "Down again!")
    reopened = Ticket.objects.get()
    assert reopened.state == Ticket.State.OPEN and reopened.closed_at is None
    assert AuditEvent.objects.filter(action="support.ticket.reply", detail__reopened=True).exists()


def test_it_lets_staff_reopen_a_closed_ticket_and_not_close_one_twice(desk):
    ticket = open_one(desk)
    services.close(ticket, desk["staff"])
    with pytest.raises(ValidationError):
        services.close(ticket, desk["staff"])
    services.reopen(ticket, desk["staff"])
    assert Ticket.objects.get().state == Ticket.State.OPEN
    assert list(AuditEvent.objects.filter(by_staff=True).values_list("action", flat=True).order_by("id")) == [
        "staff.ticket.close", "staff.ticket.reopen"]


def test_it_mails_the_opener_and_writers_on_a_staff_reply_after_commit_only(desk, mailoutbox,
                                                                           django_capture_on_commit_callbacks):
    ticket = open_one(desk)
    services.reply_as_customer(ticket, desk["viewer"], "Me too.")
    with django_capture_on_commit_callbacks(execute=True):
        services.reply_as_customer(ticket, desk["owner"], "Still down.")
        services.add_internal_note(ticket, desk["staff"], NOTE)
    assert mailoutbox == []  # customers' replies and notes send nothing
    with django_capture_on_commit_callbacks(execute=False) as pending:
        services.reply_as_staff(ticket, desk["staff"], "Fixed: the upstream was restarted.")
    assert mailoutbox == [] and len(pending) == 1  # not before the reply is committed
    pending[0]()
    assert sorted(mail.to[0] for mail in mailoutbox) == ["owner@example.com", "viewer@example.com"]
    mail = mailoutbox[0]
    assert "Fixed: the upstream was restarted." in mail.body and f"/support/{ticket.pk}/" in mail.body
    assert NOTE not in mail.body and "quiet@example.com" not in [m.to[0] for m in mailoutbox]


def test_it_keeps_internal_notes_out_of_the_customer_view_state_and_audit_log(desk):
    ticket = open_one(desk)
    before = Ticket.objects.get()
    services.add_internal_note(ticket, desk["staff"], NOTE, files=[upload("evidence.txt")])
    after = Ticket.objects.get()
    assert (after.state, after.last_message_at) == (before.state, before.last_message_at)
    assert NOTE not in [m.body for m in services.customer_messages(ticket)]
    assert NOTE in [m.body for m in services.staff_messages(ticket)]
    note_file = Attachment.objects.get(filename="evidence.txt")
    with pytest.raises(Http404):
        services.customer_attachment(desk["org"], note_file.pk)
    assert not AuditEvent.objects.filter(organization=desk["org"], action="staff.ticket.note").exists()
    assert AuditEvent.objects.filter(organization=None, action="staff.ticket.note").exists()


def test_it_lets_only_support_staff_reply_note_assign_and_close(desk):
    ticket = open_one(desk)
    for service in (services.reply_as_staff, services.add_internal_note):
        with pytest.raises(PermissionDenied):
            service(ticket, desk["owner"], "I am staff, trust me")
    with pytest.raises(PermissionDenied):
        services.close(ticket, desk["owner"])
    with pytest.raises(PermissionDenied):
        services.assign(ticket, desk["owner"], desk["owner"])
    with pytest.raises(ValidationError):
        services.assign(ticket, desk["staff"], desk["owner"])  # a customer is no assignee
    services.assign(ticket, desk["staff"], desk["staff"])
    assert Ticket.objects.get().assignee == desk["staff"]


def test_it_keeps_a_subject_on_one_line_so_the_reply_mail_can_carry_it(desk, mailoutbox,
                                                                      django_capture_on_commit_callbacks):
    ticket = services.open_ticket(desk["org"], desk["owner"], "Down\r\nBcc: everyone@example.com\x00 now", "body")
    assert ticket.subject == "Down Bcc: everyone@example.com now"
    with django_capture_on_commit_callbacks(execute=True):
        services.reply_as_staff(ticket, desk["staff"], "Looking.")
    assert [mail.to for mail in mailoutbox] == [["owner@example.com"]] and not mailoutbox[0].bcc


def test_it_refuses_empty_and_overlong_text(desk):
    with pytest.raises(ValidationError):
        services.open_ticket(desk["org"], desk["owner"], "  ", "body")
    with pytest.raises(ValidationError):
        services.open_ticket(desk["org"], desk["owner"], "Subject", "x" * (services.MAX_BODY + 1))
    assert not Ticket.objects.exists()


def test_it_refuses_too_many_or_too_large_attachments_and_stores_nothing(desk, settings):
    settings.SUPPORT_ATTACHMENT_MAX_BYTES = 10
    settings.SUPPORT_ATTACHMENTS_PER_MESSAGE = 2
    with pytest.raises(ValidationError, match="at most 2"):
        open_one(desk, files=[upload(), upload(), upload()])
    with pytest.raises(ValidationError, match="larger than"):
        open_one(desk, files=[upload("ok.txt", b"small"), upload("big.bin", b"x" * 11)])
    assert not Ticket.objects.exists() and not Attachment.objects.exists()
    assert not attachments.directory().exists() or not any(attachments.directory().iterdir())


def test_it_removes_stored_files_when_the_message_is_not_saved(desk, monkeypatch):
    def broken(*args, **kwargs):
        raise RuntimeError("the database went away")

    monkeypatch.setattr(services.audit, "record", broken)
    with pytest.raises(RuntimeError):
        open_one(desk, files=[upload()])
    assert list(attachments.directory().iterdir()) == []


def test_it_stores_a_crafted_name_under_a_random_name_inside_the_directory(desk):
    ticket = open_one(desk, files=[upload("../../etc/passwd", b"root:x:0:0"), upload("x.html", b"<script>1</script>")])
    stored = list(Attachment.objects.filter(message__ticket=ticket).order_by("id"))
    assert [a.filename for a in stored] == ["passwd", "x.html"]
    for attachment in stored:
        path = attachments.directory() / attachment.stored_name
        assert path.is_file() and path.resolve().parent == attachments.directory().resolve()
        assert len(attachment.stored_name) == 32 and attachment.filename not in attachment.stored_name
    assert (attachments.directory() / stored[0].stored_name).read_bytes() == b"root:x:0:0"
    assert stored[0].size_bytes == 10 and len(stored[0].sha256) == 64


@pytest.mark.parametrize("raw, shown", [
    ("../../etc/passwd", "passwd"),
    ("C:\\Users\\me\\report.pdf", "report.pdf"),
    ("invoice\u202egpj.exe", "invoicegpj.exe"),   # a right-to-left override disguising the extension
    ("bell\x07\r\nname.txt", "bellname.txt"),
    ("..", "attachment"),
    ("", "attachment"),
    ("a" * 300 + ".tar.gz", "a" * (attachments.MAX_FILENAME - 3) + ".gz"),
])
def test_it_cleans_the_name_it_shows(raw, shown):
    assert attachments.clean_filename(raw) == shown


def test_it_never_lets_a_header_parameter_out_of_the_filename():
    header = attachments.content_disposition('a"; filename=evil.html\\ é.txt')
    assert header.startswith('attachment; filename="a__ filename=evil.html_ _.txt"; filename*=UTF-8\'\'')
    assert header.count('"') == 2 and "%22%3B%20filename%3Devil.html%5C%20%C3%A9.txt" in header


def test_it_names_every_header_that_keeps_a_download_from_rendering():
    """Whatever the middleware adds: the desk's own headers never rely on it."""
    headers = attachments.download_headers(Attachment(filename="x.html"))
    assert headers["Content-Type"] == "application/octet-stream" and headers["X-Content-Type-Options"] == "nosniff"
    assert headers["Content-Security-Policy"] == "sandbox" and headers["Content-Disposition"].startswith("attachment;")


def test_it_counts_open_tickets_by_how_long_they_wait(desk):
    ages = [timedelta(hours=2), timedelta(days=2), timedelta(days=5), timedelta(days=10)]
    for age in ages:
        ticket = open_one(desk)
        Ticket.objects.filter(pk=ticket.pk).update(last_message_at=timezone.now() - age)
    services.reply_as_staff(open_one(desk), desk["staff"], "Answered: not waiting.")
    waiting = {key: services.waiting_longer_than(Ticket.objects.all(), key).count() for key in services.WAITING}
    assert waiting == {"1d": 3, "3d": 2, "7d": 1}


def test_it_removes_the_files_when_the_organization_is_deleted(desk, django_capture_on_commit_callbacks):
    open_one(desk, files=[upload()])
    path = attachments.directory() / Attachment.objects.get().stored_name
    with django_capture_on_commit_callbacks(execute=True):
        desk["org"].delete()
    assert not Attachment.objects.exists() and not path.exists()
