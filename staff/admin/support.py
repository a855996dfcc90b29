"""The support desk in the staff site: tickets by state and age, and a ticket's page with the whole
conversation (internal notes included), its attachments, and forms to reply, add a note, assign,
close and reopen. Every write goes through support.services, which records it in the audit log and
mails the customer on a reply.

Nobody edits a ticket's fields or a past message here: the change page is read-only (view mode)
and the forms post to the views below, each checking its permission on the server (support staff
have support.add_message and support.change_ticket; superusers everything).
"""
from __future__ import annotations

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db.models import Case, IntegerField, QuerySet, Value, When
from django.http import HttpResponseNotAllowed
from django.shortcuts import get_object_or_404, redirect
from django.urls import path, reverse
from django.utils.timesince import timesince
from django.views.decorators.csrf import csrf_exempt, csrf_protect

from core.portal import attempt, failed
from support import attachments, services, uploads
from support.models import Attachment, Ticket

REPLY, CHANGE = "support.add_message", "support.change_ticket"
DRAFT_KEY = "support-draft-{}"  # what staff typed, kept in the session when a reply is refused
TOO_LARGE = "The message with its attachments is larger than allowed; nothing was sent."


class WaitingFilter(admin.SimpleListFilter):
    """Open tickets by how long the customer has been waiting for an answer."""

    title = "waiting for staff"
    parameter_name = "waiting"

    def lookups(self, request, model_admin):
        return [(key, label) for key, (label, _) in services.WAITING.items()]

    def queryset(self, request, queryset: QuerySet) -> QuerySet:
        if self.value() not in services.WAITING:
            return queryset
        return services.waiting_longer_than(queryset, self.value())


@admin.register(Ticket)
class TicketAdmin(admin.ModelAdmin):
    list_display = ("ticket", "organization", "site", "state", "assignee", "waiting", "last_message_at")
    list_display_links = ("ticket",)
    list_filter = ("state", ("assignee", admin.RelatedOnlyFieldListFilter), WaitingFilter)
    search_fields = ("subject", "organization__slug", "organization__name")
    list_select_related = ("organization", "site", "assignee")
    show_full_result_count = False
    fields = ("organization", "site", "subject", "state", "opened_by", "assignee", "created_at", "last_message_at",
              "closed_at")
    readonly_fields = fields
    change_form_template = "admin/support/ticket/change_form.html"
    actions = ["assign_to_me", "close_tickets"]

    # --- the list: open tickets first, the longest waiting first --------------------------------

    def get_queryset(self, request) -> QuerySet:
        queue = Case(When(state=Ticket.State.OPEN, then=Value(0)), When(state=Ticket.State.ANSWERED, then=Value(1)),
                     default=Value(2), output_field=IntegerField())
        # Annotated before ordering (ModelAdmin.get_queryset orders first, and the order needs it).
        return self.model._default_manager.annotate(queue=queue).order_by(*self.get_ordering(request))

    def get_ordering(self, request):
        return ["queue", "last_message_at", "id"]

    @admin.display(description="ticket", ordering="id")
    def ticket(self, obj: Ticket) -> str:
        return str(obj)

    @admin.display(description="waiting", ordering="last_message_at")
    def waiting(self, obj: Ticket) -> str:
        if obj.state != Ticket.State.OPEN or obj.last_message_at is None:
            return "—"
        return timesince(obj.last_message_at)

    # --- permissions: read-only rows, writes through the views below ----------------------------

    def has_add_permission(self, request) -> bool:
        return False  # customers open tickets, in the portal

    def has_change_permission(self, request, obj=None) -> bool:
        return False  # no field is edited by hand: the page's forms call the services

    def has_delete_permission(self, request, obj=None) -> bool:
        return False  # a ticket is the record of a conversation

    def has_reply_permission(self, request) -> bool:
        return request.user.has_perm(REPLY)

    def has_manage_permission(self, request) -> bool:
        return request.user.has_perm(CHANGE)

    @admin.action(description="Assign the selected tickets to me", permissions=["manage"])
    def assign_to_me(self, request, queryset) -> None:
        for ticket in queryset.select_related("organization", "site"):
            services.assign(ticket, request.user, request.user)
        self.message_user(request, f"{queryset.count()} ticket(s) assigned to you.")

    @admin.action(description="Close the selected tickets", permissions=["manage"])
    def close_tickets(self, request, queryset) -> None:
        open_ones = queryset.exclude(state=Ticket.State.CLOSED).select_related("organization", "site")
        closed = [services.close(ticket, request.user) for ticket in open_ones]
        self.message_user(request, f"{len(closed)} ticket(s) closed.")

    # --- the ticket's page ------------------------------------------------------------------------

    def change_view(self, request, object_id, form_url="", extra_context=None):
        ticket = self.get_object(request, object_id)
        if ticket is not None:
            extra_context = {**(extra_context or {}), **self._desk_context(request, ticket)}
        return super().change_view(request, object_id, form_url, extra_context)

    def _desk_context(self, request, ticket: Ticket) -> dict:
        return {
            "conversation": services.staff_messages(ticket),
            "may_reply": self.has_reply_permission(request),
            "may_manage": self.has_manage_permission(request),
            "staff_users": services.staff_to_assign(),
            "draft": request.session.pop(DRAFT_KEY.format(ticket.pk), {}),
            "State": Ticket.State,
            "max_files": attachments.max_count(), "max_bytes": attachments.max_bytes(),
            "max_size": attachments.size_in_words(attachments.max_bytes()),
        }

    def get_urls(self):
        view = self.admin_site.admin_view
        name = "support_ticket_{}"
        return [
            path("<int:ticket_id>/reply/", view(self.reply_view), name=name.format("reply")),
            path("<int:ticket_id>/assign/", view(self.assign_view), name=name.format("assign")),
            path("<int:ticket_id>/close/", view(self.close_view), name=name.format("close")),
            path("<int:ticket_id>/reopen/", view(self.reopen_view), name=name.format("reopen")),
            path("attachment/<int:attachment_id>/", view(self.attachment_view), name=name.format("attachment")),
            *super().get_urls(),
        ]

    def _ticket(self, request, ticket_id: int, allowed: bool) -> Ticket:
        if not allowed:
            raise PermissionDenied("Your staff role may not do this.")
        return get_object_or_404(Ticket.objects.select_related("organization", "site"), pk=ticket_id)

    def _back(self, ticket_id: int):
        return redirect(reverse("admin:support_ticket_change", args=[ticket_id]))

    # Attachments: CSRF is checked after the upload limit is in place (support/uploads.py says why).
    @csrf_exempt
    def reply_view(self, request, ticket_id: int):
        """A reply to the customer (mailed to them) or, with `internal`, a note for staff only."""
        if request.method != "POST":
            return HttpResponseNotAllowed(["POST"])
        ticket = self._ticket(request, ticket_id, self.has_reply_permission(request))
        if uploads.body_too_large(request):
            messages.error(request, TOO_LARGE)
            return self._back(ticket.pk)
        limit = uploads.limit_request(request)
        return csrf_protect(lambda request: self._post_message(request, ticket, limit))(request)

    def _post_message(self, request, ticket: Ticket, limit: uploads.AttachmentLimit):
        body, internal = request.POST.get("body", ""), request.POST.get("kind") == "note"
        service = services.add_internal_note if internal else services.reply_as_staff
        if limit.problem():
            messages.error(request, limit.problem())
            sent = None
        else:
            sent = attempt(request, service, ticket, request.user, body, files=request.FILES.getlist("files"))
        if sent is None or failed(sent):
            request.session[DRAFT_KEY.format(ticket.pk)] = {"body": body, "kind": "note" if internal else "reply"}
        else:
            messages.success(request, "Internal note added (staff only)." if internal
                             else "Reply sent; the customer was e-mailed.")
        return self._back(ticket.pk)

    def assign_view(self, request, ticket_id: int):
        if request.method != "POST":
            return HttpResponseNotAllowed(["POST"])
        ticket = self._ticket(request, ticket_id, self.has_manage_permission(request))
        chosen = request.POST.get("assignee", "")
        assignee = services.staff_to_assign().filter(pk=chosen).first() if chosen.isdigit() else None
        if chosen and assignee is None:
            messages.error(request, "Choose an active staff member, or nobody.")
        elif not failed(attempt(request, services.assign, ticket, request.user, assignee)):
            messages.success(request, f"Assigned to {assignee.get_username()}." if assignee else "Assigned to nobody.")
        return self._back(ticket.pk)

    def close_view(self, request, ticket_id: int):
        return self._state_view(request, ticket_id, services.close, "Ticket closed.")

    def reopen_view(self, request, ticket_id: int):
        return self._state_view(request, ticket_id, services.reopen, "Ticket reopened: it waits for staff.")

    def _state_view(self, request, ticket_id: int, service, done: str):
        if request.method != "POST":
            return HttpResponseNotAllowed(["POST"])
        ticket = self._ticket(request, ticket_id, self.has_manage_permission(request))
        if not failed(attempt(request, service, ticket, request.user)):
            messages.success(request, done)
        return self._back(ticket.pk)

    def attachment_view(self, request, attachment_id: int):
        """Any attachment, internal notes' too, for staff who may view tickets."""
        if not self.has_view_permission(request):
            raise PermissionDenied("Your staff role may not read tickets.")
        return attachments.download(get_object_or_404(Attachment, pk=attachment_id))
