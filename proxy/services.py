"""The edge's service: other apps change routes, verification tokens and certificates only here."""
from __future__ import annotations

import logging

from django.db import transaction
from django.db.models import F
from django.utils import timezone

from proxy.edge import EdgeConfigInvalid, EdgeNginx, EdgeUnreachable
from proxy.models import Certificate, EdgeState, Route, SiteTraffic, Upstream, VerificationToken
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


def apply_edge() -> None:
    """Render, check and reload the whole edge config now, recording how it went for staff."""
    state, _ = EdgeState.objects.get_or_create(pk=1)
    started = timezone.now()
    try:
        EdgeNginx.from_settings().apply()
    except EdgeConfigInvalid as exc:
        EdgeState.objects.filter(pk=1).update(failed_at=timezone.now(), error=str(exc))
        log.error("edge config refused; the previous one keeps serving: %s", exc)
        raise
    EdgeState.objects.filter(pk=1).update(
        applied_at=timezone.now(), apply_seconds=(timezone.now() - started).total_seconds(), error=""
    )


def request_apply() -> None:
    """Ask for an apply; a burst of requests ends in one apply (see proxy.tasks.apply_edge_config)."""
    from proxy import tasks

    tasks.request_apply()


# --- certificates ----------------------------------------------------------------------------------


def tls_enabled() -> bool:
    from django.conf import settings

    return bool(settings.ACME_DIRECTORY_URL)


def request_certificate(hostname: str, group: str) -> None:
    """Issue (in the background) a certificate for a verified custom domain."""
    from proxy import tasks
    from proxy.models import Certificate

    if not tls_enabled():
        return
    Certificate.objects.update_or_create(
        hostname=validate_hostname(hostname),
        defaults={"group": validate_group(group), "state": Certificate.State.PENDING, "error": "", "failed_attempts": 0},
    )
    tasks.issue_certificate.delay_on_commit(hostname)


def issue_certificate(hostname: str) -> None:
    """Run the issuance now; a failure is recorded on the certificate for the customer and
    touches no other site."""
    from proxy.certificates import Certbot, IssuanceFailed
    from proxy.models import Certificate

    cert = Certificate.objects.filter(hostname=hostname).first()
    if cert is None:
        return  # the domain went meanwhile
    Certificate.objects.filter(pk=cert.pk).update(attempted_at=timezone.now())
    try:
        certbot = Certbot()
        issued = certbot.issue_wildcard(hostname[2:]) if hostname.startswith("*.") else certbot.issue_http01(hostname)
    except IssuanceFailed as exc:
        Certificate.objects.filter(pk=cert.pk).update(state=Certificate.State.FAILED, error=str(exc),
                                                      failed_attempts=F("failed_attempts") + 1)
        log.warning("certificate issuance failed for %s: %s", hostname, exc)
        return
    if not Certificate.objects.filter(pk=cert.pk).exists():
        Certbot().delete(hostname)  # removed while it was being issued
        return
    Certificate.objects.filter(pk=cert.pk).update(
        state=Certificate.State.ISSUED, error="", issued_at=timezone.now(), expires_at=issued.expires_at, failed_attempts=0
    )
    apply_edge()


def remove_certificate(hostname: str) -> None:
    from proxy import tasks
    from proxy.models import Certificate

    if Certificate.objects.filter(hostname=hostname).delete()[0]:
        tasks.delete_certificate_files.delay_on_commit(hostname)


FIRST_RETRY = timezone.timedelta(hours=1)
LONGEST_RETRY = timezone.timedelta(days=7)


def retry_delay(failed_attempts: int) -> timezone.timedelta:
    """How long a failed certificate waits before its next try: 1 h, 2 h, 4 h ... at most a week.

    A name that does not point at the platform fails every time; trying it hourly forever would
    spend the ACME server's rate limit (and be refused by it) for nothing."""
    if failed_attempts <= 1:
        return FIRST_RETRY
    return min(FIRST_RETRY * 2 ** min(failed_attempts - 1, 16), LONGEST_RETRY)


def certificates_to_renew() -> list[str]:
    """Issued certificates within 30 days of expiry, and failed ones whose backoff has passed."""
    from proxy.certificates import RENEW_WITHIN
    from proxy.models import Certificate

    now = timezone.now()
    due = Certificate.objects.filter(state=Certificate.State.ISSUED, expires_at__lt=now + RENEW_WITHIN)
    failed = Certificate.objects.filter(state=Certificate.State.FAILED)
    retry = [c.hostname for c in failed if c.attempted_at is None or c.attempted_at <= now - retry_delay(c.failed_attempts)]
    return list(due.values_list("hostname", flat=True)) + retry


def certificate_summary(hostname: str) -> dict | None:
    """The state of `hostname`'s certificate as customers see it, or None when none was asked for."""
    certificate = Certificate.objects.filter(hostname=hostname).first()
    if certificate is None:
        return None
    return {"state": certificate.state, "error": certificate.error, "expires_at": certificate.expires_at}


def traffic_of(group: str, minutes: int) -> list[dict]:
    """Requests and bytes per minute through the edge for `group`'s names, over the last `minutes`."""
    since = timezone.now() - timezone.timedelta(minutes=minutes)
    rows = SiteTraffic.objects.filter(group=group, minute__gte=since).order_by("minute")
    return [{"minute": row.minute, "requests": row.requests, "bytes": row.bytes_sent} for row in rows]
