"""The audit log: every write to an organization's objects, by a member, by staff or by the platform.

Services call `record` where they write; who did it and from which address come from the request
being served (`AuditMiddleware` puts them in a context variable), so an API call, a portal form, a
git push and an admin action are recorded the same way. Outside a request (tasks, commands) the
actor is the platform unless the caller names one.
"""
from __future__ import annotations

import contextvars
import ipaddress
from dataclasses import dataclass

from accounts.models import AuditEvent, Organization
from accounts.throttling import client_address


@dataclass(frozen=True)
class Actor:
    user: object | None
    address: str | None


_current: contextvars.ContextVar[Actor | None] = contextvars.ContextVar("audit_actor", default=None)


def _address_of(request) -> str | None:
    address = client_address(request)
    try:
        return str(ipaddress.ip_address(address))
    except ValueError:
        return None


class AuditMiddleware:
    """Remembers the request's user and client address for the services' `record` calls."""

    def __init__(self, get_response) -> None:
        self.get_response = get_response

    def __call__(self, request):
        token = _current.set(Actor(_LazyUser(request), _address_of(request)))
        try:
            return self.get_response(request)
        finally:
            _current.reset(token)


class _LazyUser:
    # The user is known only after authentication (the session's, or the API token's inside DRF).
    def __init__(self, request) -> None:
        self.request = request

    def resolve(self):
        user = getattr(self.request, "user", None)
        return user if user is not None and user.is_authenticated else None


def record(organization: Organization | None, action: str, target: str = "", site: str = "", by=None,
           **detail) -> AuditEvent:
    """Record that `action` was done to `target` (of `site`) in `organization`, by `by` or by the
    user of the request being served. `organization` None: a platform-wide staff action."""
    actor = _current.get()
    user = by
    if user is None and actor is not None:
        user = actor.user.resolve() if isinstance(actor.user, _LazyUser) else actor.user
    if user is not None and not getattr(user, "is_authenticated", False):
        user = None
    return AuditEvent.objects.create(
        organization=organization,
        actor=user,
        actor_label=(user.email or user.username) if user else "",
        by_staff=bool(user and user.is_staff and not _is_member(user, organization)),
        action=action,
        target=target[:300],
        site_name=site[:40],
        address=actor.address if actor else None,
        detail=detail,
    )


def _is_member(user, organization: Organization | None) -> bool:
    return organization is not None and organization.memberships.filter(user=user).exists()


def events_of(organization: Organization, site: str = ""):
    """The organization's events, newest first, optionally of one site."""
    events = AuditEvent.objects.filter(organization=organization).select_related("actor")
    return events.filter(site_name=site) if site else events
