"""Accounts services: organizations, members and API tokens."""
from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta

from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.validators import validate_email
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from accounts import audit
from accounts.models import ApiToken, Membership, Organization, Plan, Role
from accounts.roles import Action, changes_state, role_may
from core.names import is_dns_label

MAX_ORG_SLUG = 40
TOKEN_PREFIX = "hst_"


def default_plan() -> Plan:
    plan = Plan.objects.filter(is_default=True).first() or Plan.objects.order_by("memory_mb").first()
    if plan is None:
        raise ValidationError("No plan exists yet; create one in the admin.")
    return plan


def validate_org_slug(slug: str) -> None:
    if not is_dns_label(slug, MAX_ORG_SLUG):
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


# --- API tokens ----------------------------------------------------------------------------------

MAX_TOKEN_DAYS = 3650
# last_used_at is a hint for people, not an audit log: writing it on every request would make
# each API call a write, so it moves at most once a minute.
LAST_USED_RESOLUTION = timedelta(minutes=1)


def issue_token(user, name: str = "", expires_days: int | None = None) -> str:
    """Create a token for `user` and return it; it cannot be shown again. Without
    `expires_days` it is valid until revoked."""
    expires_at = None
    if expires_days is not None:
        if not 1 <= expires_days <= MAX_TOKEN_DAYS:
            raise ValidationError(f"A token expires after 1 to {MAX_TOKEN_DAYS} days.")
        expires_at = timezone.now() + timedelta(days=expires_days)
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    ApiToken.objects.create(user=user, name=name[:100], prefix=token[:12], digest=_digest(token), expires_at=expires_at)
    return token


def active_tokens():
    """Tokens that still authenticate: not revoked, not expired, of an active user."""
    now = timezone.now()
    return ApiToken.objects.filter(revoked_at__isnull=True, user__is_active=True).filter(
        Q(expires_at__isnull=True) | Q(expires_at__gt=now)
    )


def token_for(raw: str) -> ApiToken | None:
    """The active ApiToken `raw` is, or None (unknown, revoked, expired or its user disabled)."""
    if not raw or not raw.startswith(TOKEN_PREFIX) or len(raw) > 200:
        return None
    api_token = active_tokens().select_related("user").filter(digest=_digest(raw)).first()
    if api_token is None:
        return None
    now = timezone.now()
    if api_token.last_used_at is None or api_token.last_used_at < now - LAST_USED_RESOLUTION:
        # Conditional: of many concurrent requests with a stale value, one writes.
        ApiToken.objects.filter(pk=api_token.pk).filter(
            Q(last_used_at__isnull=True) | Q(last_used_at__lt=now - LAST_USED_RESOLUTION)
        ).update(last_used_at=now)
    return api_token


def user_for_token(raw: str):
    """The active user a token belongs to, or None."""
    api_token = token_for(raw)
    return api_token.user if api_token else None


def tokens_of(user):
    """The user's own tokens, newest first."""
    return ApiToken.objects.for_member(user).order_by("-created_at")


def revoke_token(user, prefix: str) -> ApiToken | None:
    """Revoke `user`'s token starting with `prefix` (as listed); None when there is none to revoke."""
    token = tokens_of(user).filter(prefix=prefix, revoked_at__isnull=True).first()
    return _revoke(token) if token is not None else None


def _revoke(token: ApiToken) -> ApiToken:
    ApiToken.objects.filter(pk=token.pk, revoked_at__isnull=True).update(revoked_at=timezone.now())
    token.refresh_from_db()
    return token


def revoke_token_as_staff(token: ApiToken, by) -> bool:
    """Staff revoke a (leaked) token; each organization its user belongs to sees it in its audit
    log. False when it was revoked already."""
    if token.revoked_at is not None:
        return False
    _revoke(token)
    for membership in Membership.objects.filter(user_id=token.user_id).select_related("organization"):
        audit.record(membership.organization, "staff.token.revoke", f"{token.prefix}… of {token.user.email}",
                     by=by, name=token.name)
    return True


def revoke_token_by_prefix(prefix: str, email: str | None = None) -> ApiToken:
    """For operators: revoke the one unrevoked token with `prefix` (of the user `email`)."""
    candidates = ApiToken.objects.filter(prefix=prefix, revoked_at__isnull=True).select_related("user")
    if email:
        candidates = candidates.filter(user__email__iexact=email)
    found = list(candidates[:2])
    if not found:
        raise ValidationError(f"No unrevoked token starts with {prefix!r}.")
    if len(found) > 1:
        raise ValidationError(f"Several tokens start with {prefix!r}; name the user with --user.")
    ApiToken.objects.filter(pk=found[0].pk).update(revoked_at=timezone.now())
    found[0].refresh_from_db()
    return found[0]


# --- members, roles and suspension ---------------------------------------------------------------


class OrganizationSuspended(PermissionDenied):
    """The organization is suspended: nothing of it may change until staff restore it."""


def ensure_active(organization: Organization) -> None:
    """Refuse any change to a suspended organization's sites. Read from the database, not from
    `organization`, so a suspension made a moment ago counts."""
    row = Organization.objects.filter(pk=organization.pk).values("suspended", "suspended_reason").first()
    if row and row["suspended"]:
        reason = f" ({row['suspended_reason']})" if row["suspended_reason"] else ""
        raise OrganizationSuspended(
            f"This organization is suspended{reason}: its sites cannot be changed, deployed or started. "
            "Contact support."
        )


def authorize(membership: Membership, action: Action) -> None:
    """The one check behind every API call and git request: the role matrix, then suspension
    for anything that changes state. Not being a member at all is the caller's 404."""
    if not role_may(membership.role, action):
        raise PermissionDenied(f"Your role in this organization ({membership.role}) may not {action.value.replace('_', ' ')}.")
    if changes_state(action):
        ensure_active(membership.organization)


@transaction.atomic
def mark_suspended(organization: Organization, suspended: bool, reason: str = "") -> None:
    """Record the suspension (or its end) on the organization; sites.services does the rest."""
    if suspended and not reason.strip():
        raise ValidationError("Give a reason for the suspension.")
    Organization.objects.filter(pk=organization.pk).update(
        suspended=suspended,
        suspended_reason=reason.strip()[:500] if suspended else "",
        suspended_at=timezone.now() if suspended else None,
    )
    organization.refresh_from_db()
