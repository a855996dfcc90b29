"""The support desk's customer side: the organization's tickets, opening one, a ticket's
conversation with the reply form, and attachments' downloads.

Every member may read and write tickets, viewers included (Action.READ for both methods): a ticket
changes nothing about the organization's sites, the person who notices a problem is often not the
one who may deploy, and a suspended organization must still be able to ask why. Tickets are
reached through the current organization only, so another organization's ticket is a 404.
"""
from __future__ import annotations

from django.contrib import messages
from django.core.paginator import Paginator
from django.shortcuts import redirect, render
from django.views.decorators.csrf import csrf_exempt, csrf_protect

from accounts.portal import organization_view, use_organization
from accounts.roles import Action
from core.portal import attempt, failed
from support import attachments, services, uploads
from support.models import Ticket

TICKETS_PER_PAGE = 25
TOO_LARGE = "The message with its attachments is larger than allowed; nothing was sent."


@organization_view(GET=Action.READ)
def home(request):
    tickets = Paginator(services.tickets_of(request.membership.organization), TICKETS_PER_PAGE)
    return render(request, "support/list.html", {"nav": "support", "page": tickets.get_page(request.GET.get("page"))})


def _form_context(request, **extra) -> dict:
    return {"nav": "support", "max_files": attachments.max_count(), "max_bytes": attachments.max_bytes(),
            "max_size": attachments.size_in_words(attachments.max_bytes()), **extra}


def _refused_upload(request, template: str, status: int, **context):
    return render(request, template, _form_context(request, **context), status=status)


# Attachments: CSRF is checked after the upload limit is in place (support/uploads.py says why).
@csrf_exempt
@organization_view(GET=Action.READ, POST=Action.READ)
def new_ticket(request):
    organization = request.membership.organization
    sites = services.sites_to_choose(organization)
    if request.method == "POST" and uploads.body_too_large(request):
        messages.error(request, TOO_LARGE)
        return _refused_upload(request, "support/new.html", 413, sites=sites, entered={})
    limit = uploads.limit_request(request) if request.method == "POST" else None
    return _open_ticket(request, organization, sites, limit)


@csrf_protect
def _open_ticket(request, organization, sites, limit):
    entered = {}
    if request.method == "POST":
        entered = {key: request.POST.get(key, "") for key in ("subject", "body", "site")}
        if limit.problem():
            messages.error(request, limit.problem())
        else:
            ticket = attempt(request, services.open_ticket, organization, request.user, entered["subject"],
                             entered["body"], site=entered["site"], files=request.FILES.getlist("files"))
            if not failed(ticket):
                messages.success(request, f"Ticket #{ticket.pk} is open: support will answer here and by e-mail.")
                return redirect("support:ticket", ticket.pk)
    return render(request, "support/new.html", _form_context(request, sites=sites, entered=entered),
                  status=400 if entered else 200)


@csrf_exempt
@organization_view(GET=Action.READ, POST=Action.READ)
def ticket(request, ticket_id: int):
    organization = request.membership.organization
    elsewhere = services.organization_of_ticket(request.user, ticket_id)
    if elsewhere is not None and elsewhere != organization and request.method == "GET":
        # The link of a reply's e-mail, opened while working in another of the member's organizations.
        use_organization(request, elsewhere.slug)
        messages.info(request, f"You are now working in {elsewhere.name}.")
        return redirect("support:ticket", ticket_id)
    shown = services.ticket_of(organization, ticket_id)
    if request.method == "POST" and uploads.body_too_large(request):
        messages.error(request, TOO_LARGE)
        return _ticket_page(request, shown, {}, status=413)
    limit = uploads.limit_request(request) if request.method == "POST" else None
    return _reply(request, shown, limit)


@csrf_protect
def _reply(request, shown: Ticket, limit):
    entered = {}
    if request.method == "POST":
        entered = {"body": request.POST.get("body", "")}
        if limit.problem():
            messages.error(request, limit.problem())
        else:
            was_closed = shown.state == Ticket.State.CLOSED
            message = attempt(request, services.reply_as_customer, shown, request.user, entered["body"],
                              files=request.FILES.getlist("files"))
            if not failed(message):
                messages.success(request, "Your reply was sent; the ticket is open again." if was_closed
                                 else "Your reply was sent.")
                return redirect("support:ticket", shown.pk)
    return _ticket_page(request, shown, entered, status=400 if entered else 200)


def _ticket_page(request, shown: Ticket, entered: dict, status: int):
    return render(request, "support/ticket.html",
                  _form_context(request, ticket=shown, conversation=services.customer_messages(shown),
                                entered=entered, State=Ticket.State), status=status)


@organization_view(GET=Action.READ)
def attachment(request, attachment_id: int):
    found = services.customer_attachment(request.membership.organization, attachment_id)
    return attachments.download(found)

