"""The edge's service: other apps change routes only through these functions."""
from __future__ import annotations

from django.db import transaction

from proxy.edge import EdgeNginx
from proxy.models import Route
from proxy.validation import validate_group, validate_hostname, validate_upstream


def set_routes(group: str, hostnames: list[str], upstreams: list[str], status: str) -> None:
    """Point `hostnames` of a site (its route group) at `upstreams` with `status`; others of the group go."""
    validate_group(group)
    hostnames = [validate_hostname(h) for h in hostnames]
    upstreams = [validate_upstream(u) for u in upstreams]
    if status not in Route.Status.values:
        raise ValueError(f"{status!r} is not a route status")
    with transaction.atomic():
        Route.objects.filter(group=group).exclude(hostname__in=hostnames).delete()
        for hostname in hostnames:
            Route.objects.update_or_create(
                hostname=hostname, defaults={"group": group, "upstreams": upstreams, "status": status}
            )


def remove_routes(group: str) -> None:
    Route.objects.filter(group=validate_group(group)).delete()


def apply_edge() -> None:
    """Make the running edge serve the routing table as it is now."""
    EdgeNginx.from_settings().apply()
