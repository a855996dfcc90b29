"""The team page: members and their roles, open invitations, inviting; and accepting an invitation."""
from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import login
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_http_methods

from accounts import invitations, team as team_services
from accounts.portal import organization_view, use_organization
from accounts.roles import Action
from core.portal import attempt, back, failed

TEMPLATE = "accounts/team.html"
OFFER_STATUS = {invitations.State.PENDING: 200, invitations.State.UNKNOWN: 404}


@organization_view(GET=Action.READ, POST=Action.MANAGE_TEAM)
def team(request):
    membership = request.membership
    entered = {}
    if request.method == "POST":
        entered = {"email": request.POST.get("email", ""), "role": request.POST.get("role", "")}
        link_for = lambda token: request.build_absolute_uri(reverse("accounts:accept-invitation", args=[token]))  # noqa: E731
        invitation = attempt(request, invitations.invite, membership, entered["email"], entered["role"], link_for)
        if not failed(invitation):
            messages.success(request, f"Invitation sent to {invitation.email}.")
            return back(request, "accounts:team")
    overview = team_services.overview(membership, invitations.pending_of(membership))
    return render(request, TEMPLATE, {"nav": "team", "team": overview, "entered": entered,
                                    "invitation_days": settings.INVITATION_DAYS},
                  status=400 if entered else 200)


@organization_view(POST=Action.MANAGE_TEAM)
def member_role(request, membership_id: int):
    changed = attempt(request, team_services.change_role, request.membership, membership_id, request.POST.get("role", ""))
    if not failed(changed):
        messages.success(request, f"{changed.user.email} is now {changed.get_role_display().lower()}.")
    return back(request, "accounts:team")


@organization_view(POST=Action.MANAGE_TEAM)
def member_remove(request, membership_id: int):
    removed = attempt(request, team_services.remove_member, request.membership, membership_id)
    if failed(removed):
        return back(request, "accounts:team")
    if removed.pk == request.membership.pk:
        messages.success(request, f"You left {removed.organization.name}.")
        return redirect("sites:list")
    messages.success(request, f"{removed.user.email} was removed from the team.")
    return back(request, "accounts:team")


@organization_view(POST=Action.READ)
def leave(request):
    left = attempt(request, team_services.leave, request.membership)
    if failed(left):
        return back(request, "accounts:team")
    messages.success(request, f"You left {left.organization.name}.")
    return redirect("sites:list")


@organization_view(POST=Action.MANAGE_TEAM)
def invitation_revoke(request, invitation_id: int):
    revoked = attempt(request, invitations.revoke, request.membership, invitation_id)
    if not failed(revoked):
        messages.success(request, f"The invitation to {revoked.email} was withdrawn.")
    return back(request, "accounts:team")


@require_http_methods(["GET", "POST"])
def accept_invitation(request, token: str):
    """Open to anyone holding the link: the page says what they may do (sign in, create an account,
    accept), and the services decide."""
    if request.method == "POST":
        if request.user.is_authenticated:
            joined = attempt(request, invitations.accept, token, request.user)
        else:
            joined = attempt(request, invitations.accept_with_new_account, token, request.POST.get("password", ""))
            if not failed(joined):
                login(request, joined.user, backend=settings.AUTHENTICATION_BACKENDS[0])
        if not failed(joined):
            use_organization(request, joined.organization.slug)
            messages.success(request, f"Welcome to {joined.organization.name}.")
            return redirect("sites:list")
    offer = invitations.offer(token, request.user)
    return render(request, "accounts/invitation.html", {"offer": offer, "Next": invitations.Next},
                  status=OFFER_STATUS.get(offer.state, 410))  # used, withdrawn, expired: gone
