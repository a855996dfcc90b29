"""Staff roles. Superusers do everything. Support staff (`is_staff`, in the Support group) read
everything, answer tickets, restart sites, verify domains by hand, and help with members and API
tokens; they cannot delete organizations, change plans, suspend, stop sites or edit hosts.

The admin asks Django's permissions (`user.has_perm`), so a refused action is refused on the
server, not only hidden; this module only keeps the group's list of permissions.
"""
from __future__ import annotations

import secrets

from django.apps import apps as django_apps
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group, Permission
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import transaction

from accounts import audit

SUPPORT = "Support"

# Everything of these apps can be viewed by support staff.
VIEWABLE_APPS = ("accounts", "hosting", "proxy", "sites", "support", "backups", "auth")

SUPPORT_PERMISSIONS = (
    # the support desk
    "support.change_ticket",
    "support.add_message",
    # "why is my site down?": restart it, redeploy the current release
    "sites.restart_site",
    "sites.verify_domain_by_hand",
    # a customer's people and tokens
    "accounts.add_membership",
    "accounts.change_membership",
    "accounts.delete_membership",
    "accounts.revoke_apitoken",
)


def support_permissions(permission_model=Permission):
    """The Support group's permissions: every `view_` of our apps, and SUPPORT_PERMISSIONS."""
    wanted = [p.split(".", 1) for p in SUPPORT_PERMISSIONS]
    query = permission_model.objects.none()
    for app_label, codename in wanted:
        query = query | permission_model.objects.filter(content_type__app_label=app_label, codename=codename)
    views = permission_model.objects.filter(content_type__app_label__in=VIEWABLE_APPS, codename__startswith="view_")
    return (query | views).distinct()


def ensure_groups(**kwargs) -> None:
    """Create or complete the Support group (after every migrate; idempotent)."""
    if not django_apps.is_installed("django.contrib.auth"):
        return
    group, _ = Group.objects.get_or_create(name=SUPPORT)
    group.permissions.add(*support_permissions())


def make_support_staff(user) -> None:
    """Give `user` the support role: staff, not superuser, in the Support group."""
    ensure_groups()
    user.is_staff, user.is_superuser = True, False
    user.save(update_fields=["is_staff", "is_superuser"])
    user.groups.add(Group.objects.get(name=SUPPORT))


ROLES = ("support", "superuser")


def add_staff(email: str, role: str) -> tuple[object, str | None]:
    """Give the user with `email` the staff `role` ("support" or "superuser"), creating them if
    needed. Returns the user and, for a new user only, a random password to hand over once (the
    portal's password reset needs a usable password, and the first login must work before mail
    does). Recorded as a platform-wide staff event."""
    if role not in ROLES:
        raise ValidationError(f"{role!r} is not a staff role; choose one of {', '.join(ROLES)}.")
    validate_email(email)
    User = get_user_model()
    with transaction.atomic():
        user = User.objects.select_for_update().filter(email__iexact=email).first()
        password = None
        if user is None:
            password = secrets.token_urlsafe(15)
            user = User.objects.create_user(username=email.lower(), email=email.lower(), password=password)
        if role == "support":
            make_support_staff(user)
        else:
            user.is_staff, user.is_superuser = True, True
            user.save(update_fields=["is_staff", "is_superuser"])
        audit.record(None, "staff.add_staff", user.email, role=role, created=password is not None)
    return user, password
