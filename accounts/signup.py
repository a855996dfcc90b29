"""Signing up in the portal: a new organization with its owner, whose e-mail address is then
confirmed by a link before they can log in.

The link carries a signed token (django.core.signing, salted for this use) naming the user and the
address it was sent to; it expires after EMAIL_CONFIRMATION_DAYS and says nothing once the address
changed. Confirming twice is harmless, so no token row is needed.
"""
from __future__ import annotations

import logging
import smtplib

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.password_validation import validate_password
from django.core import signing
from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.core.mail import send_mail
from django.core.validators import validate_email
from django.db import IntegrityError, transaction
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone
from django.utils.text import slugify

from accounts import audit
from accounts.models import Organization, Profile
from accounts.services import MAX_ORG_SLUG, create_organization, validate_org_slug

log = logging.getLogger(__name__)

CONFIRM_SALT = "accounts.confirm-email"
RESEND_INTERVAL_SECONDS = 60
BAD_LINK = "This confirmation link is not valid or has expired: ask for a new one below."


def organization_slug(name: str) -> str:
    """The organization's URL name, made from the name a customer typed ("Acme & Co" -> acme-co)."""
    return slugify(name)[:MAX_ORG_SLUG].strip("-")


def sign_up(email: str, password: str, organization_name: str):
    """Create the organization `organization_name` and its owner `email` with `password`, waiting
    for their address to be confirmed. ValidationError by field when any of them is not right;
    then nothing is created."""
    email = email.strip().lower()
    User = get_user_model()
    errors: dict[str, list[str]] = {}
    try:
        validate_email(email)
    except ValidationError as exc:
        errors["email"] = exc.messages
    if User.objects.filter(email__iexact=email).exists() or User.objects.filter(username=email).exists():
        errors["email"] = ["An account with this e-mail address already exists: log in, or reset your password."]
    try:
        validate_password(password, user=User(username=email, email=email))
    except ValidationError as exc:
        errors["password"] = exc.messages
    slug = organization_slug(organization_name)
    errors.update(_organization_errors(organization_name, slug))
    if errors:
        raise ValidationError(errors)
    try:
        return _create_owner(email, password, organization_name.strip(), slug)
    except IntegrityError:  # a concurrent sign-up took the address or the name a moment ago
        raise ValidationError("That e-mail address or organization name was just taken: try again.") from None


def _organization_errors(name: str, slug: str) -> dict[str, list[str]]:
    if not name.strip():
        return {"organization": ["Enter your organization's name."]}
    try:
        validate_org_slug(slug)
    except ValidationError:
        return {"organization": ["Use letters or digits in the organization's name."]}
    if Organization.objects.filter(slug=slug).exists():
        return {"organization": [f"An organization named “{slug}” already exists: choose another name."]}
    return {}


@transaction.atomic
def _create_owner(email: str, password: str, name: str, slug: str):
    organization = create_organization(slug, email, name=name)
    user = organization.memberships.get().user
    user.set_password(password)
    user.save(update_fields=["password"])
    Profile.objects.create(user=user, email_confirmation_required=True)
    audit.record(organization, "organization.create", slug, by=user)
    return user


def confirmation_link(user, base_url: str) -> str:
    token = signing.dumps({"user": user.pk, "email": user.email.lower()}, salt=CONFIRM_SALT, compress=True)
    return base_url.rstrip("/") + reverse("accounts:confirm-email", args=[token])


def send_confirmation(user, base_url: str) -> bool:
    """Mail the confirmation link to `user`; False when the mail could not be handed over."""
    context = {"user": user, "link": confirmation_link(user, base_url), "days": settings.EMAIL_CONFIRMATION_DAYS}
    try:
        send_mail("Confirm your e-mail address", render_to_string("accounts/email/confirm_email.txt", context),
                  None, [user.email])
    except (OSError, smtplib.SMTPException) as exc:
        log.warning("the confirmation mail could not be sent: %s", exc, extra={"user": user.pk})
        return False
    return True


def confirm_email(token: str):
    """Mark the address the link was sent to confirmed; return its user. ValidationError when the
    link is forged, expired or for an address the user no longer has."""
    try:
        data = signing.loads(token, salt=CONFIRM_SALT, max_age=settings.EMAIL_CONFIRMATION_DAYS * 86400)
    except signing.BadSignature:
        raise ValidationError(BAD_LINK) from None
    user = get_user_model().objects.filter(pk=data.get("user"), is_active=True).first()
    if user is None or user.email.lower() != data.get("email"):
        raise ValidationError(BAD_LINK)
    mark_confirmed(user)
    return user


def mark_confirmed(user) -> None:
    """The user showed they read mail at their address (a confirmation or a password reset link)."""
    Profile.objects.for_member(user).filter(email_confirmed_at__isnull=True).update(email_confirmed_at=timezone.now())


def resend_confirmation(email: str, base_url: str) -> None:
    """Send a new link when `email` belongs to a sign-up still waiting for it; silently nothing
    otherwise (the page says the same either way). At most one mail a minute per account."""
    profile = (Profile.objects.filter(user__email__iexact=email.strip(), user__is_active=True,
                                      email_confirmation_required=True, email_confirmed_at__isnull=True)
               .select_related("user").first())
    if profile is None:
        return
    if cache.add(f"signup:resend:{profile.user_id}", 1, timeout=RESEND_INTERVAL_SECONDS):
        send_confirmation(profile.user, base_url)
