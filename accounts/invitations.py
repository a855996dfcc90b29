"""Invitations to join an organization.

An invitation is a link with a single-use token, mailed to one address and valid for
INVITATION_DAYS days. It is bound to that address: only a signed-in user whose e-mail it is may
accept it, and a person without an account creates one from it (the link reached their inbox, which
confirms the address as a password reset link would). Only the token's SHA-256 is stored. Sending,
revoking and accepting are written to the audit log.
"""
from __future__ import annotations

import hashlib
import secrets
import smtplib
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.mail import send_mail
from django.core.validators import validate_email
from django.db import transaction
from django.db.models import QuerySet
from django.http import Http404
from django.utils import timezone

from accounts.audit import record
from accounts.models import Invitation, Membership, Role
from accounts.roles import Action
from accounts.services import authorize, get_or_create_user
from accounts.team import grantable_roles, members_of

MAX_TOKEN_LENGTH = 100
# The platform sends these mails in its own name: an organization cannot make it mail the world.
MAX_OPEN_INVITATIONS = 50


class State:
    PENDING = "pending"
    ACCEPTED = "accepted"
    EXPIRED = "expired"
    REVOKED = "revoked"
    UNKNOWN = "unknown"


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def state_of(invitation: Invitation | None) -> str:
    if invitation is None:
        return State.UNKNOWN
    if invitation.accepted_at:
        return State.ACCEPTED
    if invitation.revoked_at:
        return State.REVOKED
    if invitation.expires_at <= timezone.now():
        return State.EXPIRED
    return State.PENDING


def _open() -> QuerySet[Invitation]:
    return Invitation.objects.filter(accepted_at__isnull=True, revoked_at__isnull=True, expires_at__gt=timezone.now())


def pending_of(membership: Membership) -> QuerySet[Invitation]:
    """The organization's invitations that can still be accepted, newest first."""
    return _open().of_organization(membership.organization).select_related("invited_by")


def _normalized_email(email: str) -> str:
    email = (email or "").strip().lower()
    try:
        validate_email(email)
    except ValidationError:
        raise ValidationError(f"{email!r} is not an e-mail address." if email else "Enter the e-mail address to invite.")
    return email


def invite(actor: Membership, email: str, role: str, link_for: Callable[[str], str]) -> Invitation:
    """Invite `email` to `actor`'s organization as `role` and mail them the link (`link_for(token)`).
    A new invitation to the same address replaces the one still open, so one link works at a time."""
    authorize(actor, Action.MANAGE_TEAM)
    email = _normalized_email(email)
    if role not in dict(grantable_roles(actor)):
        raise ValidationError(f"You may invite as {', '.join(dict(grantable_roles(actor)))}; not as {role!r}.")
    organization = actor.organization
    if members_of(organization).filter(user__email__iexact=email).exists():
        raise ValidationError(f"{email} is already a member of {organization.name}.")
    if _open().of_organization(organization).exclude(email=email).count() >= MAX_OPEN_INVITATIONS:
        raise ValidationError(f"{organization.name} has {MAX_OPEN_INVITATIONS} open invitations: withdraw some first.")
    token = secrets.token_urlsafe(32)
    try:
        with transaction.atomic():
            _open().of_organization(organization).filter(email=email).update(revoked_at=timezone.now())
            invitation = Invitation.objects.create(
                organization=organization, email=email, role=role, digest=_digest(token), invited_by=actor.user,
                expires_at=timezone.now() + timedelta(days=settings.INVITATION_DAYS))
            # Inside the transaction: an invitation whose mail could not be sent is not left behind.
            _send(invitation, link_for(token))
    except (OSError, smtplib.SMTPException) as exc:
        raise ValidationError(f"The invitation could not be sent ({exc}); try again later.")
    record(organization, "team.invite", email, by=actor.user, role=role)
    return invitation


def _send(invitation: Invitation, link: str) -> None:
    inviter = invitation.invited_by.email if invitation.invited_by else "Someone"
    organization = invitation.organization.name
    body = (
        f"{inviter} invited you to join {organization} on the hosting platform as {Role(invitation.role).label.lower()}.\n\n"
        f"Accept the invitation:\n{link}\n\n"
        f"The link works once, for {invitation.email} only, until {invitation.expires_at:%Y-%m-%d %H:%M} UTC.\n"
        "If you did not expect this invitation, ignore this e-mail.\n"
    )
    send_mail(f"Join {organization} on the hosting platform", body, None, [invitation.email])


@transaction.atomic
def revoke(actor: Membership, invitation_id: int) -> Invitation:
    """Withdraw an open invitation of `actor`'s organization (404 for any other id)."""
    authorize(actor, Action.MANAGE_TEAM)
    invitation = Invitation.objects.of_organization(actor.organization).filter(pk=invitation_id).first()
    if invitation is None:
        raise Http404("No such invitation.")
    if invitation.role == Role.OWNER and actor.role != Role.OWNER:
        raise PermissionDenied("Only an owner may withdraw an invitation to become owner.")
    if not _open().filter(pk=invitation.pk).update(revoked_at=timezone.now()):
        raise ValidationError(f"The invitation to {invitation.email} was already {state_of(invitation)}.")
    record(actor.organization, "team.invitation_revoke", invitation.email, by=actor.user, role=invitation.role)
    return invitation


def find(token: str) -> Invitation | None:
    """The invitation `token` opens (in any state), or None."""
    if not token or len(token) > MAX_TOKEN_LENGTH:
        return None
    return Invitation.objects.select_related("organization", "invited_by").filter(digest=_digest(token)).first()


class Next:
    """What the invitation page offers the person holding the link."""

    ACCEPT = "accept"                  # signed in with the invited address
    WRONG_USER = "wrong_user"          # signed in as someone else
    LOG_IN = "log_in"                  # the invited address has an account: sign in first
    CREATE_ACCOUNT = "create_account"  # no account yet: choose a password


@dataclass(frozen=True)
class Offer:
    invitation: Invitation | None
    state: str
    next: str = ""


def _has_account(email: str) -> bool:
    user = get_user_model().objects.filter(email__iexact=email).first()
    return user is not None and user.has_usable_password()


def offer(token: str, user) -> Offer:
    """The invitation behind `token` and what its holder (`user`, maybe anonymous) may do with it."""
    invitation = find(token)
    state = state_of(invitation)
    if state != State.PENDING:
        return Offer(invitation, state)
    if user.is_authenticated:
        matches = (user.email or "").lower() == invitation.email
        return Offer(invitation, state, Next.ACCEPT if matches else Next.WRONG_USER)
    return Offer(invitation, state, Next.LOG_IN if _has_account(invitation.email) else Next.CREATE_ACCOUNT)


_REFUSALS = {
    State.UNKNOWN: "This invitation link is not valid.",
    State.ACCEPTED: "This invitation was already used.",
    State.REVOKED: "This invitation was withdrawn.",
    State.EXPIRED: "This invitation has expired.",
}


def _open_invitation(token: str) -> Invitation:
    invitation = find(token)
    state = state_of(invitation)
    if state != State.PENDING:
        raise ValidationError(_REFUSALS[state] + " Ask the organization for a new one.")
    return invitation


@transaction.atomic
def accept(token: str, user) -> Membership:
    """`user` joins the organization with the invitation's role, if the invitation is open and
    was sent to their address. Already a member: their role stays (an invitation never lowers it)."""
    invitation = _open_invitation(token)
    if (user.email or "").lower() != invitation.email:
        raise PermissionDenied(f"This invitation was sent to {invitation.email}; you are signed in as {user.email}.")
    # Claim it: of two tabs accepting at once, one wins.
    if not _open().filter(pk=invitation.pk).update(accepted_at=timezone.now(), accepted_by=user):
        raise ValidationError(_REFUSALS[State.ACCEPTED])
    membership, _ = Membership.objects.select_related("organization").get_or_create(
        organization=invitation.organization, user=user, defaults={"role": invitation.role})
    record(invitation.organization, "team.accept", invitation.email, by=user, role=membership.role)
    return membership


@transaction.atomic
def accept_with_new_account(token: str, password: str) -> Membership:
    """Create the invited address's account with `password` and accept: for a person who has no
    account yet. The invitation's link reaching them confirms the address."""
    invitation = _open_invitation(token)
    if _has_account(invitation.email):
        raise ValidationError(f"{invitation.email} already has an account: log in to accept the invitation.")
    user = get_or_create_user(invitation.email)
    validate_password(password, user)
    user.set_password(password)
    user.save(update_fields=["password"])
    return accept(token, user)
