"""The portal's organization scope: which organization a signed-in user is working in.

A user may belong to several organizations; the portal works in one at a time (kept in the
session, switched from the navigation). Organization pages (team, audit log, tokens) use
`organization_view`, which asks the role matrix with the membership of the current organization;
site pages reach sites through sites.portal.base.site_view instead.
"""
from __future__ import annotations

from functools import wraps

from django.contrib.auth.decorators import login_required
from django.http import HttpResponseNotAllowed
from django.shortcuts import render

from accounts.models import Membership
from accounts.roles import Action
from accounts.services import authorize

SESSION_KEY = "organization"


def memberships_of(user) -> list[Membership]:
    return list(Membership.objects.for_member(user).select_related("organization__plan")
                .order_by("organization__slug"))


def current_membership(request) -> Membership | None:
    """The membership of the organization the user works in (the session's, else their first)."""
    if not hasattr(request, "_current_membership"):
        memberships = memberships_of(request.user) if request.user.is_authenticated else []
        slug = request.session.get(SESSION_KEY)
        chosen = next((m for m in memberships if m.organization.slug == slug), None)
        request._memberships = memberships
        request._current_membership = chosen or (memberships[0] if memberships else None)
    return request._current_membership


def use_organization(request, slug: str) -> Membership | None:
    """Work in the organization `slug` from now on, if the user is a member (None if not)."""
    memberships = memberships_of(request.user)
    membership = next((m for m in memberships if m.organization.slug == slug), None)
    if membership is not None:
        request.session[SESSION_KEY] = slug
        request._memberships = memberships
        request._current_membership = membership
    return membership


def context(request) -> dict:
    """Template context of every portal page: the organizations the user may switch between."""
    if not getattr(request, "user", None) or not request.user.is_authenticated:
        return {}
    membership = current_membership(request)
    return {"current_membership": membership, "memberships": request._memberships,
            "current_organization": membership.organization if membership else None}


def organization_view(**actions: Action):
    """An organization page: signed in, a member of the current organization, and a role that may
    do the action named for the request's method (GET=..., POST=...); 403 with the reason if not."""

    def decorate(view):
        @login_required
        @wraps(view)
        def wrapper(request, *args, **kwargs):
            membership = current_membership(request)
            if membership is None:
                return render(request, "accounts/no_organization.html", status=403)
            action = actions.get(request.method)
            if action is None:
                return HttpResponseNotAllowed(list(actions))
            authorize(membership, action)
            request.membership = membership
            return view(request, *args, **kwargs)

        wrapper.actions = actions
        return wrapper

    return decorate

