"""The support desk's rules, the one place for them: the portal's views and the staff admin call
these functions and nothing else writes tickets or messages.

States: a ticket is *open* (waiting for staff) when the customer wrote last, *answered* (waiting for
the customer) after a staff reply, *closed* when staff close it. A customer's reply reopens an
answered or closed ticket. Internal notes change nothing a customer can see: not the state, not
the last activity, no e-mail, and they are never in the customer's view (`customer_messages`).

Every write is recorded in the audit log: the customer's as support.ticket.*, staff's as
staff.ticket.*. Staff's internal notes are recorded platform-wide (no organization), so that not
even their existence shows in the customer's audit log.
"""
from __future__ import annotations

from datetime import timedelta

from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import Prefetch, QuerySet
from django.http import Http404
from django.utils import timezone

from accounts import audit
from accounts.models import Membership, Organization
from sites.models import Site
from support import attachments, notifications
from support.models import Attachment, Message, Ticket

MAX_SUBJECT = 200
MAX_BODY = 20_000


# --- reading ----------------------------------------------------------------------------------

def tickets_of(organization: Organization) -> QuerySet[Ticket]:
    """The organization's tickets, for its members: most recent activity first."""
    return (Ticket.objects.filter(organization=organization).select_related("site")
            .order_by("-last_message_at", "-id"))


def ticket_of(organization: Organization, ticket_id: int) -> Ticket:
    """One of the organization's tickets; any other id (another organization's) is a 404."""
    ticket = Ticket.objects.filter(organization=organization, pk=ticket_id).select_related("site").first()
    if ticket is None:
        raise Http404("No such ticket.")
    return ticket


def organization_of_ticket(user, ticket_id: int) -> Organization | None:
    """Which of `user`'s organizations holds the ticket, if any (a mail's link may name a ticket of
    another organization than the one the portal is working in)."""
    ticket = Ticket.objects.for_member(user).filter(pk=ticket_id).select_related("organization").first()
    return ticket.organization if ticket else None


def customer_messages(ticket: Ticket) -> QuerySet[Message]:
    """The conversation as the customer sees it: never an internal note."""
    return (ticket.messages.filter(internal=False).select_related("author")
            .prefetch_related(Prefetch("attachments", Attachment.objects.order_by("id"))))


def staff_messages(ticket: Ticket) -> QuerySet[Message]:
    """The whole conversation, internal notes included, for staff."""
    return ticket.messages.select_related("author").prefetch_related(Prefetch("attachments", Attachment.objects.order_by("id")))


def customer_attachment(organization: Organization, attachment_id: int) -> Attachment:
    """An attachment a member of `organization` may download: of its own tickets, never of an
    internal note (both: 404, as if it did not exist)."""
    attachment = (Attachment.objects.filter(pk=attachment_id, message__ticket__organization=organization,
                                            message__internal=False).first())
    if attachment is None:
        raise Http404("No such attachment.")
    return attachment


# How long a customer has waited for staff: the admin's filter and the dashboard's counts.
WAITING = {"1d": ("over a day", timedelta(days=1)), "3d": ("over 3 days", timedelta(days=3)),
           "7d": ("over a week", timedelta(days=7))}


def waiting_longer_than(queryset: QuerySet[Ticket], key: str) -> QuerySet[Ticket]:
    """The open tickets of `queryset` whose customer has waited longer than WAITING[key]."""
    return queryset.filter(state=Ticket.State.OPEN, last_message_at__lt=timezone.now() - WAITING[key][1])


def sites_to_choose(organization: Organization) -> QuerySet[Site]:
    return Site.objects.filter(organization=organization).order_by("name").only("id", "name")


# --- checks -----------------------------------------------------------------------------------

def _text(value: str, what: str, limit: int) -> str:
    value = (value or "").strip()
    if not value:
        raise ValidationError(f"Write the {what}.")
    if len(value) > limit:
        raise ValidationError(f"The {what} is too long ({len(value)} characters; at most {limit}).")
    return value


def _subject(value: str) -> str:
    """One line: a subject becomes a mail's header, where a line break is refused (or worse)."""
    return _text(" ".join("".join(ch if ch.isprintable() else " " for ch in value or "").split()), "subject", MAX_SUBJECT)


def _site_of(organization: Organization, site) -> Site | None:
    if site in (None, ""):
        return None
    site_id = site.pk if isinstance(site, Site) else site
    found = Site.objects.filter(organization=organization, pk=site_id).first() if str(site_id).isdigit() else None
    if found is None:
        raise ValidationError("Choose one of your organization's sites, or none.")
    return found


def _as_member(organization: Organization, user) -> None:
    if not Membership.objects.filter(organization=organization, user=user).exists():
        raise Http404("No such organization.")


def _as_staff(user, permission: str) -> None:
    if not (user and user.is_active and user.is_staff and user.has_perm(permission)):
        raise PermissionDenied(f"Only support staff may do this ({permission}).")


# --- writing ----------------------------------------------------------------------------------

def _add_message(ticket: Ticket, user, body: str, written: list[attachments.Stored], by_staff: bool,
                 internal: bool = False) -> Message:
    message = Message.objects.create(ticket=ticket, author=user, by_staff=by_staff, internal=internal, body=body)
    attachments.attach(message, written)
    return message


def _set_state(ticket: Ticket, state: str, visible_activity: bool = True) -> None:
    now = timezone.now()
    changes = {"state": state, "closed_at": now if state == Ticket.State.CLOSED else None}
    if visible_activity:
        changes["last_message_at"] = now
    Ticket.objects.filter(pk=ticket.pk).update(**changes)
    for field, value in changes.items():
        setattr(ticket, field, value)


def open_ticket(organization: Organization, user, subject: str, body: str, site=None, files=()) -> Ticket:
    """A member opens a ticket (optionally about one of the organization's sites), waiting for staff."""
    _as_member(organization, user)
    subject = _subject(subject)
    body = _text(body, "message", MAX_BODY)
    chosen = _site_of(organization, site)
    with attachments.stored(files) as written, transaction.atomic():
        ticket = Ticket.objects.create(organization=organization, site=chosen, subject=subject, opened_by=user,
                                       last_message_at=timezone.now())
        _add_message(ticket, user, body, written, by_staff=False)
        audit.record(organization, "support.ticket.open", str(ticket), site=chosen.name if chosen else "", by=user)
    return ticket


def reply_as_customer(ticket: Ticket, user, body: str, files=()) -> Message:
    """A member's reply: the ticket waits for staff again, even if it was closed."""
    _as_member(ticket.organization, user)
    body = _text(body, "message", MAX_BODY)
    with attachments.stored(files) as written, transaction.atomic():
        message = _add_message(ticket, user, body, written, by_staff=False)
        reopened = ticket.state == Ticket.State.CLOSED
        _set_state(ticket, Ticket.State.OPEN)
        audit.record(ticket.organization, "support.ticket.reply", str(ticket), site=_site_name(ticket), by=user,
                     reopened=reopened)
    return message


def reply_as_staff(ticket: Ticket, user, body: str, files=()) -> Message:
    """Staff answer: the ticket waits for the customer, who is mailed the reply (after commit)."""
    _as_staff(user, "support.add_message")
    body = _text(body, "reply", MAX_BODY)
    with attachments.stored(files) as written, transaction.atomic():
        message = _add_message(ticket, user, body, written, by_staff=True)
        _set_state(ticket, Ticket.State.ANSWERED)
        audit.record(ticket.organization, "staff.ticket.reply", str(ticket), site=_site_name(ticket), by=user)
        notifications.mail_after_commit(message)
    return message


def add_internal_note(ticket: Ticket, user, body: str, files=()) -> Message:
    """A note for staff only: no state change, no mail, never in the customer's view."""
    _as_staff(user, "support.add_message")
    body = _text(body, "note", MAX_BODY)
    with attachments.stored(files) as written, transaction.atomic():
        message = _add_message(ticket, user, body, written, by_staff=True, internal=True)
        # Platform-wide: the organization's own log would tell its members a note exists.
        audit.record(None, "staff.ticket.note", f"{ticket} of {ticket.organization.slug}", by=user,
                     customer=ticket.organization.slug, ticket=ticket.pk)
    return message


def assign(ticket: Ticket, user, assignee) -> Ticket:
    """Give the ticket to a staff member (None: to nobody)."""
    _as_staff(user, "support.change_ticket")
    if assignee is not None and not (assignee.is_active and assignee.is_staff):
        raise ValidationError("Tickets are assigned to active staff members only.")
    Ticket.objects.filter(pk=ticket.pk).update(assignee=assignee)
    ticket.assignee = assignee
    audit.record(ticket.organization, "staff.ticket.assign", str(ticket), site=_site_name(ticket), by=user,
                 assignee=assignee.get_username() if assignee else "")
    return ticket


def close(ticket: Ticket, user) -> Ticket:
    _as_staff(user, "support.change_ticket")
    if ticket.state == Ticket.State.CLOSED:
        raise ValidationError(f"Ticket #{ticket.pk} is already closed.")
    _set_state(ticket, Ticket.State.CLOSED, visible_activity=False)
    audit.record(ticket.organization, "staff.ticket.close", str(ticket), site=_site_name(ticket), by=user)
    return ticket


def reopen(ticket: Ticket, user) -> Ticket:
    """Staff reopen a closed ticket: it waits for staff again."""
    _as_staff(user, "support.change_ticket")
    if ticket.state != Ticket.State.CLOSED:
        raise ValidationError(f"Ticket #{ticket.pk} is not closed.")
    _set_state(ticket, Ticket.State.OPEN, visible_activity=False)
    audit.record(ticket.organization, "staff.ticket.reopen", str(ticket), site=_site_name(ticket), by=user)
    return ticket


def staff_to_assign() -> QuerySet:
    return get_user_model().objects.filter(is_active=True, is_staff=True).order_by("username")


def _site_name(ticket: Ticket) -> str:
    return ticket.site.name if ticket.site_id else ""
