"""The edge's service: other apps change routes, verification tokens and certificates only here.

Route changes reach the running edge on commit; certificate work is sent to proxy.tasks (the edge's
root worker), which runs proxy.issuance and proxy.applying."""
from __future__ import annotations

import logging

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from core import timeseries
from proxy import tasks
from proxy.applying import apply_edge
from proxy.edge import EdgeNginx, EdgeUnreachable
from proxy.models import Certificate, Route, SiteTraffic, Upstream, VerificationToken
from proxy.validation import validate_group, validate_hostname, validate_upstream

log = logging.getLogger(__name__)


def _push(keys: list[str]) -> None:
    """After commit, the running edge follows the table for these keys (hostnames, `verify:<name>`).

    The edge re-reads them from the database under its lock (EdgeNginx.sync), so two changes that
    commit in one order and reach the edge in the other still leave it equal to the database. A
    change the edge does not take falls back to a full apply (a reload re-reads every route); if
    that fails too the caller hears of it, because a route the database no longer has may still
    be served.
    """
    if not keys:
        return

    def push() -> None:
        try:
            EdgeNginx.from_settings().sync(keys)
        except EdgeUnreachable as exc:
            log.error("the edge did not take a route change (%s); applying the whole config", exc)
            apply_edge()

    transaction.on_commit(push, robust=False)


def _claim_upstreams(group: str, upstreams: list[str], release_others: bool = True) -> list[str]:
    """Make `upstreams` this group's and no other's; returns the other groups' hostnames that lost
    an address (their routes are changed here, in the caller's transaction).

    An address belongs to the instance that has it now; Docker hands a freed container address
    (and the platform a freed port) to the next container, which may be another site's.
    """
    if release_others:
        Upstream.objects.filter(group=group).exclude(address__in=upstreams).delete()
    previous = {u.address: u.group for u in Upstream.objects.select_for_update().filter(address__in=upstreams)}
    losers = {g for a, g in previous.items() if g != group}
    touched = []
    for route in Route.objects.select_for_update().filter(group__in=losers):
        route.upstreams = [u for u in route.upstreams if u not in upstreams]
        route.save(update_fields=["upstreams", "updated_at"])
        touched.append(route.hostname)
    if losers:
        log.warning("addresses %s passed to site %s; the routes of %s no longer use them",
                    ",".join(sorted(a for a, g in previous.items() if g != group)), group, ",".join(sorted(losers)))
    for address in upstreams:
        Upstream.objects.update_or_create(address=address, defaults={"group": group})
    return touched


def claim_upstreams(group: str, upstreams: list[str]) -> None:
    """A new instance of the site was just given these addresses, before it answers: every other
    site's route stops naming them now, so a stale route cannot reach the new container while it
    starts. The site's own routes change at its switch (set_routes)."""
    validate_group(group)
    upstreams = [validate_upstream(u) for u in upstreams]
    with transaction.atomic():
        _push(_claim_upstreams(group, upstreams, release_others=False))


def set_routes(group: str, hostnames: list[str], upstreams: list[str], status: str,
               https_redirect: bool | None = None, hsts: bool | None = None) -> None:
    """Point `hostnames` of a site (its route group, the site's uuid) at `upstreams` with `status`;
    the group's other hostnames are removed, and so are its older upstreams (a switch replaces them).
    The running edge serves the change once the transaction commits."""
    validate_group(group)
    hostnames = [validate_hostname(h) for h in hostnames]
    upstreams = [validate_upstream(u) for u in upstreams]
    if status not in Route.Status.values:
        raise ValueError(f"{status!r} is not a route status")
    with transaction.atomic():
        stale = list(Route.objects.filter(group=group).exclude(hostname__in=hostnames).values_list("hostname", flat=True))
        Route.objects.filter(hostname__in=stale).delete()
        changed = _claim_upstreams(group, upstreams)
        for hostname in hostnames:
            route = Route.objects.filter(hostname=hostname).first() or Route(hostname=hostname)
            route.group, route.upstreams, route.status = group, upstreams, status
            if https_redirect is not None:
                route.https_redirect = https_redirect
            if hsts is not None:
                route.hsts = hsts
            route.save()
            changed.append(hostname)
        _push(changed + stale)


def set_status(group: str, status: str) -> None:
    """Change the status of every route of a site, keeping its upstreams (stop, suspend)."""
    if status not in Route.Status.values:
        raise ValueError(f"{status!r} is not a route status")
    with transaction.atomic():
        routes = list(Route.objects.select_for_update().filter(group=validate_group(group)))
        for route in routes:
            route.status = status
            route.save(update_fields=["status", "updated_at"])
        _push([r.hostname for r in routes])


def set_tls_options(group: str, https_redirect: bool, hsts: bool) -> None:
    with transaction.atomic():
        routes = list(Route.objects.select_for_update().filter(group=validate_group(group)))
        for route in routes:
            route.https_redirect, route.hsts = https_redirect, hsts
            route.save(update_fields=["https_redirect", "hsts", "updated_at"])
        _push([r.hostname for r in routes])


def remove_routes(group: str) -> list[str]:
    """Remove every route of a site and give up its addresses; the edge stops serving them when
    the transaction commits (before a request that deleted the site is answered)."""
    with transaction.atomic():
        hostnames = list(Route.objects.select_for_update().filter(group=validate_group(group))
                         .values_list("hostname", flat=True))
        Route.objects.filter(hostname__in=hostnames).delete()
        Upstream.objects.filter(group=group).delete()
        _push(hostnames)
    return hostnames


def route_of(group: str) -> Route | None:
    """One route of the site (they share upstreams and status), or None when nothing is routed."""
    return Route.objects.filter(group=validate_group(group)).first()


def publish_verification_token(hostname: str, token: str) -> None:
    if not token.isalnum():
        raise ValueError("bad verification token")
    with transaction.atomic():
        VerificationToken.objects.update_or_create(hostname=validate_hostname(hostname), defaults={"token": token})
        _push([f"verify:{hostname}"])


def withdraw_verification_token(hostname: str) -> None:
    with transaction.atomic():
        VerificationToken.objects.filter(hostname=hostname).delete()
        _push([f"verify:{validate_hostname(hostname)}"])


def request_apply() -> None:
    """Ask for an apply; a burst of requests ends in one apply (see proxy.tasks.apply_edge_config)."""
    tasks.request_apply()


# --- certificates ----------------------------------------------------------------------------------


def tls_enabled() -> bool:
    return bool(settings.ACME_DIRECTORY_URL)


def request_certificate(hostname: str, group: str) -> None:
    """Issue (in the background) a certificate for a verified custom domain."""
    if not tls_enabled():
        return
    Certificate.objects.update_or_create(
        hostname=validate_hostname(hostname),
        defaults={"group": validate_group(group), "state": Certificate.State.PENDING, "error": "", "failed_attempts": 0},
    )
    tasks.issue_certificate.delay_on_commit(hostname)


def remove_certificate(hostname: str) -> None:
    if Certificate.objects.filter(hostname=hostname).delete()[0]:
        tasks.delete_certificate_files.delay_on_commit(hostname)


def certificate_summary(hostname: str) -> dict | None:
    """The state of `hostname`'s certificate as customers see it, or None when none was asked for."""
    return certificate_summaries([hostname]).get(hostname)


def certificate_summaries(hostnames: list[str]) -> dict[str, dict]:
    """`certificate_summary` of several names in one query (a page of domains): missing names had none asked for."""
    return {certificate.hostname: {"state": certificate.state, "error": certificate.error,
                                   "expires_at": certificate.expires_at}
            for certificate in Certificate.objects.filter(hostname__in=hostnames)}


def traffic_of(group: str, minutes: int) -> list[dict]:
    """Requests and bytes through the edge for `group`'s names over the last `minutes`: per minute
    for the last two hours, beyond that in the finest buckets still kept (`seconds` says their length)."""
    resolution = timeseries.resolution_for(minutes)
    since = timezone.now() - timezone.timedelta(minutes=minutes)
    rows = SiteTraffic.objects.filter(group=group, resolution=resolution.seconds, minute__gte=since).order_by("minute")
    return [{"minute": row.minute, "seconds": row.resolution, "requests": row.requests, "bytes": row.bytes_sent}
            for row in rows]


def traffic_buckets(group: str, resolution: int, since) -> dict:
    """{bucket start: (requests, bytes)} of `group` in buckets of `resolution` seconds from `since` on."""
    rows = SiteTraffic.objects.filter(group=group, resolution=resolution, minute__gte=since)
    return {start: (requests, sent) for start, requests, sent in rows.values_list("minute", "requests", "bytes_sent")}

