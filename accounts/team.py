"""An organization's team: its members, their roles, removing members and leaving.

The role matrix (accounts.roles) says who may manage the team at all: owners and admins. The rules
here add what a matrix cannot say: only an owner touches owners (grants the role, changes an
owner's role, removes an owner), and an organization always keeps at least one owner. Every change
is written to the audit log.
"""
from __future__ import annotations

from dataclasses import dataclass

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import QuerySet
from django.http import Http404

from accounts.audit import record
from accounts.models import Invitation, Membership, Organization, Role
from accounts.roles import Action, role_may
from accounts.services import authorize


def members_of(organization: Organization) -> QuerySet[Membership]:
    """The organization's members with their users, longest-standing first."""
    return (Membership.objects.filter(organization=organization).select_related("user")
            .order_by("created_at", "id"))


def membership_in(organization: Organization, membership_id: int) -> Membership:
    """The membership `membership_id` of `organization`: ids are global, so anything else is the
    404 of a member that does not exist."""
    membership = members_of(organization).filter(pk=membership_id).first()
    if membership is None:
        raise Http404("No such member.")
    return membership


def grantable_roles(actor: Membership) -> list[tuple[str, str]]:
    """The roles `actor` may give someone (to invite with or change to), as (value, label)."""
    if not role_may(actor.role, Action.MANAGE_TEAM):
        return []
    return [(value, label) for value, label in Role.choices if actor.role == Role.OWNER or value != Role.OWNER]


def may_touch(actor: Membership, target: Membership) -> bool:
    """Whether `actor` may change `target`'s role or remove them (the page's buttons)."""
    return role_may(actor.role, Action.MANAGE_TEAM) and (actor.role == Role.OWNER or target.role != Role.OWNER)


@dataclass(frozen=True)
class Row:
    membership: Membership
    is_you: bool
    manageable: bool


@dataclass(frozen=True)
class Overview:
    """What the team page shows to `actor`."""

    organization: Organization
    rows: list[Row]
    invitations: list[Invitation]
    roles: list[tuple[str, str]]
    may_manage: bool


def overview(actor: Membership, pending: QuerySet[Invitation]) -> Overview:
    """The team as `actor` sees it; `pending` are the organization's open invitations."""
    may_manage = role_may(actor.role, Action.MANAGE_TEAM)
    rows = [Row(m, m.pk == actor.pk, m.pk != actor.pk and may_touch(actor, m))
            for m in members_of(actor.organization)]
    return Overview(actor.organization, rows, list(pending) if may_manage else [], grantable_roles(actor), may_manage)


def _current(actor: Membership) -> Membership:
    # The actor's role as it is now, locked: a role taken away a moment ago counts.
    fresh = Membership.objects.select_for_update().filter(pk=actor.pk).select_related("organization").first()
    if fresh is None:
        raise PermissionDenied("You are no longer a member of this organization.")
    return fresh


def _ensure_may_touch(actor: Membership, target: Membership, new_role: str | None = None) -> None:
    authorize(actor, Action.MANAGE_TEAM)
    if actor.role != Role.OWNER and (target.role == Role.OWNER or new_role == Role.OWNER):
        raise PermissionDenied("Only an owner may make someone owner, change an owner's role or remove an owner.")


def _ensure_an_owner_remains(target: Membership, what: str) -> None:
    """Refuse to take the owner role from the organization's last owner. The owners' rows are
    locked: two owners demoting each other at the same moment must not leave none."""
    if target.role != Role.OWNER:
        return
    owners = list(Membership.objects.select_for_update().filter(organization_id=target.organization_id,
                                                                 role=Role.OWNER).values_list("pk", flat=True))
    if owners == [target.pk]:
        who = "You are" if what == "leave" else f"{target.user.email} is"
        raise ValidationError(f"{who} the organization's last owner and cannot {what}: make another member owner first.")


@transaction.atomic
def change_role(actor: Membership, membership_id: int, role: str) -> Membership:
    """Give member `membership_id` the role `role`, as `actor` may."""
    actor = _current(actor)
    target = membership_in(actor.organization, membership_id)
    if role not in Role.values:
        raise ValidationError(f"{role!r} is not a role; choose one of {', '.join(Role.values)}.")
    _ensure_may_touch(actor, target, role)
    if target.role == role:
        return target
    if role != Role.OWNER:
        _ensure_an_owner_remains(target, "be given another role")
    previous = target.role
    Membership.objects.filter(pk=target.pk).update(role=role)
    target.role = role
    record(actor.organization, "team.role", target.user.email, by=actor.user, before=previous, after=role)
    return target


@transaction.atomic
def remove_member(actor: Membership, membership_id: int) -> Membership:
    """Remove member `membership_id` from the organization, as `actor` may (removing oneself is
    leaving)."""
    actor = _current(actor)
    target = membership_in(actor.organization, membership_id)
    if target.pk == actor.pk:
        return _leave(actor)
    _ensure_may_touch(actor, target)
    _ensure_an_owner_remains(target, "be removed")
    target.delete()
    record(actor.organization, "team.remove", target.user.email, by=actor.user, role=target.role)
    return target


@transaction.atomic
def leave(membership: Membership) -> Membership:
    """`membership`'s user leaves the organization (any role; not its last owner)."""
    return _leave(_current(membership))


def _leave(membership: Membership) -> Membership:
    _ensure_an_owner_remains(membership, "leave")
    membership.delete()
    record(membership.organization, "team.leave", membership.user.email, by=membership.user, role=membership.role)
    return membership


# --- staff ---------------------------------------------------------------------------------------
# Staff (the staff site) are not members: the role matrix does not apply to them (their own
# permissions do, checked by the admin), but the organization keeps its last owner all the same,
# and the customer sees each change in their audit log as done by staff.


def ensure_staff_may_add(user, by) -> None:
    """Support staff may not make a staff account (their own, say) a member of a customer's
    organization: as its member they could do in the portal what their role refuses them in the
    staff site (stop sites, delete them). Superusers may."""
    if user.is_staff and not getattr(by, "is_superuser", False):
        raise ValidationError("Only a superuser may make a staff account a member of a customer's organization.")


@transaction.atomic
def check_owner_remains(membership: Membership, what: str = "be given another role") -> None:
    """A clear ValidationError when `membership` is its organization's last owner (for a form's
    clean, before the change is made; the change itself checks again)."""
    _ensure_an_owner_remains(membership, what)


@transaction.atomic
def staff_set_member(organization: Organization, user, role: str, by) -> Membership:
    """Make `user` a member of `organization` with `role`, or change their role (by staff `by`)."""
    if role not in Role.values:
        raise ValidationError(f"{role!r} is not a role; choose one of {', '.join(Role.values)}.")
    ensure_staff_may_add(user, by)
    existing = Membership.objects.select_for_update().filter(organization=organization, user=user).first()
    if existing is None:
        membership = Membership.objects.create(organization=organization, user=user, role=role)
        record(organization, "staff.team.add", user.email or user.username, by=by, role=role)
        return membership
    if existing.role != role:
        if role != Role.OWNER:
            _ensure_an_owner_remains(existing, "be given another role")
        previous = existing.role
        Membership.objects.filter(pk=existing.pk).update(role=role)
        existing.role = role
        record(organization, "staff.team.role", user.email or user.username, by=by, before=previous, after=role)
    return existing


@transaction.atomic
def staff_remove_member(membership: Membership, by) -> None:
    """Remove `membership` from its organization (by staff `by`); never its last owner."""
    _ensure_an_owner_remains(membership, "be removed")
    membership.delete()
    record(membership.organization, "staff.team.remove", membership.user.email or membership.user.username,
           by=by, role=membership.role)
