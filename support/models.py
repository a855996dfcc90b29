"""Support tickets: a conversation between an organization's members and the hosting company's
staff, optionally about one of its sites. Staff may add internal notes the customer never sees."""
from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models

from accounts.models import Organization
from sites.models import Site


def _random_name() -> str:
    return uuid.uuid4().hex


class TicketQuerySet(models.QuerySet):
    def for_member(self, user) -> "TicketQuerySet":
        """The tickets of the organizations `user` belongs to, and no others (the portal's way in)."""
        return self.filter(organization__memberships__user=user)

    def still_open(self) -> "TicketQuerySet":
        return self.exclude(state=Ticket.State.CLOSED)


class Ticket(models.Model):
    class State(models.TextChoices):
        OPEN = "open", "Waiting for staff"
        ANSWERED = "answered", "Waiting for the customer"
        CLOSED = "closed", "Closed"

    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="tickets")
    site = models.ForeignKey(Site, null=True, blank=True, on_delete=models.SET_NULL, related_name="tickets",
                             help_text="The site it is about, if any.")
    subject = models.CharField(max_length=200)
    state = models.CharField(max_length=16, choices=State.choices, default=State.OPEN, db_index=True)
    opened_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                  related_name="+")
    assignee = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                 related_name="assigned_tickets", limit_choices_to={"is_staff": True},
                                 help_text="The staff member answering it.")
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    # The last message the customer can see (a reply, not an internal note): how old the wait is.
    last_message_at = models.DateTimeField(null=True, blank=True)
    closed_at = models.DateTimeField(null=True, blank=True)

    objects = TicketQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["state", "created_at"], name="ticket_by_state_age"),
                   # the staff's queue: open tickets, the longest waiting first
                   models.Index(fields=["state", "last_message_at"], name="ticket_by_state_wait")]

    def __str__(self) -> str:
        return f"#{self.pk} {self.subject}"


class Message(models.Model):
    """One message of a ticket's conversation. `internal`: a staff note, never shown to the customer."""

    ticket = models.ForeignKey(Ticket, on_delete=models.CASCADE, related_name="messages")
    author = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                               related_name="+")
    by_staff = models.BooleanField(default=False)
    internal = models.BooleanField(default=False, help_text="An internal note: staff only.")
    body = models.TextField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created_at", "id"]

    def __str__(self) -> str:
        return f"{'note' if self.internal else 'message'} on #{self.ticket_id}"


class Attachment(models.Model):
    """A file sent with a message. Stored under a random name (`stored_name`), never a path made
    from the upload's name; `filename` is only shown and offered as the download's name."""

    message = models.ForeignKey(Message, on_delete=models.CASCADE, related_name="attachments")
    filename = models.CharField(max_length=200, help_text="The upload's name, cleaned, for display only.")
    stored_name = models.CharField(max_length=64, unique=True, default=_random_name, editable=False)
    size_bytes = models.PositiveBigIntegerField()
    sha256 = models.CharField(max_length=64)
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return self.filename
