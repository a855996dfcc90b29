"""Cordon: a host placement gives no new work (hosting/placement.py skips it), while what runs
there keeps running. Drain (sites/drain.py) cordons first, then moves the sites off.

Every change is a platform-wide staff event in the audit log, whoever made it (admin or manage.py).
"""
from __future__ import annotations

from django.core.exceptions import ValidationError
from django.utils import timezone

from accounts import audit
from hosting.models import Host

REASON_MAX = Host._meta.get_field("cordon_reason").max_length


def find_host(name: str) -> Host:
    """The host named `name`, or a ValidationError naming the hosts there are."""
    host = Host.objects.filter(name=name).first()
    if host is None:
        known = ", ".join(Host.objects.values_list("name", flat=True)[:20]) or "none registered"
        raise ValidationError(f"There is no host named {name!r} (hosts: {known}).")
    return host


def cordon(host: Host, reason: str = "", by=None) -> bool:
    """No new work for `host` from now on. Returns False when it was cordoned already (its
    first reason and time are kept)."""
    reason = " ".join(reason.split())
    if len(reason) > REASON_MAX:
        raise ValidationError(f"The reason is at most {REASON_MAX} characters.")
    changed = Host.objects.filter(pk=host.pk, cordoned_at__isnull=True).update(
        cordoned_at=timezone.now(), cordon_reason=reason)
    host.refresh_from_db(fields=["cordoned_at", "cordon_reason"])
    if changed:
        audit.record(None, "staff.host_cordon", host.name, by=by, reason=reason)
    return bool(changed)


def uncordon(host: Host, by=None, action: str = "staff.host_uncordon") -> bool:
    """Placement may give `host` work again; a drain under way stops asking for more moves
    (moves already sent finish). Returns False when it was not cordoned."""
    changed = Host.objects.filter(pk=host.pk).exclude(cordoned_at__isnull=True, draining_since__isnull=True).update(
        cordoned_at=None, cordon_reason="", draining_since=None)
    host.refresh_from_db(fields=["cordoned_at", "cordon_reason", "draining_since"])
    if changed:
        audit.record(None, action, host.name, by=by)
    return bool(changed)
