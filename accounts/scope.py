"""The member scope: how views reach an organization's rows, so that none can forget to ask.

A view never queries a tenant's model itself (tests/unit/test_tenancy_structure.py fails when one
does): it gets a `Member` for the signed-in user from `MemberAPIView` and asks it. Not being a
member of the organization that owns a row is a 404, never a 403, so nothing leaks; a member's
role then decides, with a 403 that says why (pretix scopes by event the same way).
"""
from __future__ import annotations

from django.core.exceptions import ValidationError
from django.http import Http404
from rest_framework.views import APIView

from accounts.models import Membership, Organization
from accounts.roles import Action, role_may
from accounts.services import authorize, tokens_of


class Member:
    """A user as a member of their organizations."""

    def __init__(self, user) -> None:
        self.user = user

    def memberships(self):
        return Membership.objects.for_member(self.user).select_related("organization")

    def tokens(self):
        return tokens_of(self.user)

    def authorize(self, organization_id: int, action: Action, missing: str) -> Membership:
        """The user's membership of `organization_id` if their role may do `action` (403 with the
        reason if not); a 404 saying `missing` if they are not a member at all."""
        membership = self.memberships().filter(organization_id=organization_id).first()
        if membership is None:
            raise Http404(missing)
        authorize(membership, action)
        return membership

    def organization_for(self, action: Action, slug: str | None) -> Organization:
        """The organization named `slug`, or the only one the user may do `action` in."""
        memberships = list(self.memberships())
        if slug:
            membership = next((m for m in memberships if m.organization.slug == slug), None)
            if membership is None:
                raise Http404("No such organization.")
        elif len(memberships) == 1:
            membership = memberships[0]
        else:
            allowed = [m for m in memberships if role_may(m.role, action)]
            if len(allowed) != 1:
                raise ValidationError("Name the organization the site belongs to (`organization`).")
            membership = allowed[0]
        authorize(membership, action)
        return membership.organization


class MemberAPIView(APIView):
    # Every API view's base: `self.member` is the signed-in user's scope, set before the handler
    # runs. (A comment, not a docstring: drf-spectacular would show a docstring on every operation.)

    member_class: type[Member] = Member
    member: Member

    def initial(self, request, *args, **kwargs) -> None:
        super().initial(request, *args, **kwargs)  # authenticates first: the scope is of a known user
        self.member = self.member_class(request.user)
