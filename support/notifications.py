"""The e-mail a customer gets when staff reply to their ticket.

Only staff replies are mailed, and only the reply itself: an internal note never reaches this
module. Recipients are the members of the ticket's organization who opened it or wrote in it (a
person who left the organization gets nothing more). Mail is sent after the reply's transaction
commits, so no mail announces a reply that was rolled back; a mail server that fails loses the
mail, not the reply, which the portal shows anyway.
"""
from __future__ import annotations

import logging
import smtplib
from urllib.parse import urljoin

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.mail import send_mass_mail
from django.db import transaction
from django.urls import reverse

from support.models import Message, Ticket

log = logging.getLogger(__name__)


def ticket_link(ticket: Ticket) -> str:
    """The ticket's page in the portal, as a link for an e-mail."""
    return urljoin(settings.PORTAL_URL, reverse("support:ticket", args=[ticket.pk]))


def recipients(ticket: Ticket) -> list[str]:
    """The addresses of the members who opened or wrote in the ticket, still in its organization."""
    writers = Message.objects.filter(ticket=ticket, by_staff=False, internal=False).values("author")
    users = (get_user_model().objects.filter(memberships__organization=ticket.organization)
             .filter(pk__in=writers) | get_user_model().objects.filter(
                 pk=ticket.opened_by_id, memberships__organization=ticket.organization))
    return sorted({user.email for user in users.distinct() if user.email})


def _compose(message: Message) -> tuple[str, str]:
    ticket = message.ticket
    subject = f"[#{ticket.pk}] {ticket.subject}"
    attachments = [attachment.filename for attachment in message.attachments.all()]
    lines = [
        f"The hosting company's support answered your ticket #{ticket.pk}, \"{ticket.subject}\":", "",
        message.body, "",
    ]
    if attachments:
        lines += [f"Attached (in the portal): {', '.join(attachments)}", ""]
    lines += ["Read the conversation and reply in the portal:", ticket_link(ticket), "",
              "Replies to this e-mail are not read: please answer in the portal."]
    return subject, "\n".join(lines) + "\n"


def send_staff_reply(message_id: int) -> None:
    message = Message.objects.select_related("ticket__organization").get(pk=message_id)
    if message.internal or not message.by_staff:  # guarded here too: a note is never mailed
        return
    subject, body = _compose(message)
    addresses = recipients(message.ticket)
    try:
        # One mail per address: members need not see who else is told.
        send_mass_mail([(subject, body, None, [address]) for address in addresses])
    except (OSError, smtplib.SMTPException):
        log.exception("could not mail the staff reply", extra={"ticket": message.ticket_id})


def mail_after_commit(message: Message) -> None:
    """Mail the staff reply `message` once the transaction that saved it commits."""
    transaction.on_commit(lambda: send_staff_reply(message.pk))
