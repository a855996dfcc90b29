"""Accounts services: organizations, members and API tokens."""
from __future__ import annotations

import hashlib
import re
import secrets

from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from accounts.models import ApiToken, Membership, Organization, Plan, Role

ORG_SLUG = re.compile(r"^[a-z0-9]([a-z0-9-]{0,38}[a-z0-9])?$")
TOKEN_PREFIX = "hst_"


def default_plan() -> Plan:
    plan = Plan.objects.filter(is_default=True).first() or Plan.objects.order_by("memory_mb").first()
    if plan is None:
        raise ValidationError("No plan exists yet; create one in the admin.")
    return plan


def validate_org_slug(slug: str) -> None:
    if not ORG_SLUG.match(slug or ""):
        raise ValidationError(
            f"{slug!r} is not a valid organization name: use lowercase letters, digits and inner hyphens (at most 40)."
        )


@transaction.atomic
def create_organization(slug: str, owner_email: str, name: str = "", plan: Plan | None = None) -> Organization:
    """Create an organization owned by the user with `owner_email`, creating that user if needed."""
    validate_org_slug(slug)
    if Organization.objects.filter(slug=slug).exists():
        raise ValidationError(f"An organization named {slug!r} already exists.")
    user = get_or_create_user(owner_email)
    org = Organization.objects.create(slug=slug, name=name or slug, plan=plan or default_plan())
    Membership.objects.create(organization=org, user=user, role=Role.OWNER)
    return org


def get_or_create_user(email: str):
    from django.core.validators import validate_email

    validate_email(email)
    User = get_user_model()
    user = User.objects.filter(email__iexact=email).first()
    if user is None:
        user = User.objects.create_user(username=email.lower(), email=email.lower())
        user.set_unusable_password()
        user.save(update_fields=["password"])
    return user


def add_member(org: Organization, email: str, role: str) -> Membership:
    if role not in Role.values:
        raise ValidationError(f"{role!r} is not a role; choose one of {', '.join(Role.values)}.")
    user = get_or_create_user(email)
    membership, _ = Membership.objects.update_or_create(organization=org, user=user, defaults={"role": role})
    return membership


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def issue_token(user, name: str = "") -> str:
    """Create a token for `user` and return it; it cannot be shown again."""
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    ApiToken.objects.create(user=user, name=name, prefix=token[:12], digest=_digest(token))
    return token


def user_for_token(token: str):
    """The active user a token belongs to, or None."""
    if not token or not token.startswith(TOKEN_PREFIX) or len(token) > 200:
        return None
    api_token = ApiToken.objects.select_related("user").filter(digest=_digest(token)).first()
    if api_token is None or not api_token.user.is_active:
        return None
    ApiToken.objects.filter(pk=api_token.pk).update(last_used_at=timezone.now())
    return api_token.user


def membership_of(user, org: Organization) -> Membership | None:
    if user is None or not user.is_authenticated:
        return None
    return Membership.objects.filter(user=user, organization=org).first()
