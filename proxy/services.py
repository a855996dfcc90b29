"""The edge's service: other apps change routes, verification tokens and certificates only here."""
from __future__ import annotations

import logging

from django.db import transaction
from django.utils import timezone

from proxy.edge import EdgeConfigInvalid, EdgeNginx, route_line, verification_line
from proxy.models import EdgeState, Route, VerificationToken
from proxy.validation import validate_group, validate_hostname, validate_upstream

log = logging.getLogger(__name__)


def _push(changed: list[str], removed: list[str]) -> None:
    """After commit: the routes file and the running edge follow the table."""
    if changed or removed:
        transaction.on_commit(lambda: EdgeNginx.from_settings().update_routes(changed, removed), robust=False)


def set_routes(group: str, hostnames: list[str], upstreams: list[str], status: str,
               https_redirect: bool | None = None, hsts: bool | None = None) -> None:
    """Point `hostnames` of a site (its route group) at `upstreams` with `status`; the group's
    other hostnames are removed. The running edge serves the change once the transaction commits."""
    validate_group(group)
    hostnames = [validate_hostname(h) for h in hostnames]
    upstreams = [validate_upstream(u) for u in upstreams]
    if status not in Route.Status.values:
        raise ValueError(f"{status!r} is not a route status")
    with transaction.atomic():
        stale = list(Route.objects.filter(group=group).exclude(hostname__in=hostnames).values_list("hostname", flat=True))
        Route.objects.filter(hostname__in=stale).delete()
        changed = []
        for hostname in hostnames:
            route = Route.objects.filter(hostname=hostname).first() or Route(hostname=hostname)
            route.group, route.upstreams, route.status = group, upstreams, status
            if https_redirect is not None:
                route.https_redirect = https_redirect
            if hsts is not None:
                route.hsts = hsts
            route.save()
            changed.append(route_line(route))
        _push(changed, stale)


def set_status(group: str, status: str) -> None:
    """Change the status of every route of a site, keeping its upstreams (stop, suspend)."""
    with transaction.atomic():
        routes = list(Route.objects.select_for_update().filter(group=validate_group(group)))
        for route in routes:
            route.status = status
            route.save(update_fields=["status", "updated_at"])
        _push([route_line(r) for r in routes], [])


def set_tls_options(group: str, https_redirect: bool, hsts: bool) -> None:
    with transaction.atomic():
        routes = list(Route.objects.select_for_update().filter(group=validate_group(group)))
        for route in routes:
            route.https_redirect, route.hsts = https_redirect, hsts
            route.save(update_fields=["https_redirect", "hsts", "updated_at"])
        _push([route_line(r) for r in routes], [])


def remove_routes(group: str) -> None:
    with transaction.atomic():
        hostnames = list(Route.objects.filter(group=validate_group(group)).values_list("hostname", flat=True))
        Route.objects.filter(hostname__in=hostnames).delete()
        _push([], hostnames)


def publish_verification_token(hostname: str, token: str) -> None:
    with transaction.atomic():
        item, _ = VerificationToken.objects.update_or_create(hostname=validate_hostname(hostname), defaults={"token": token})
        _push([verification_line(item)], [])


def withdraw_verification_token(hostname: str) -> None:
    with transaction.atomic():
        VerificationToken.objects.filter(hostname=hostname).delete()
        _push([], [f"verify:{hostname}"])


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
        hostname=validate_hostname(hostname), defaults={"group": validate_group(group), "state": Certificate.State.PENDING,
                                                        "error": ""},
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
        Certificate.objects.filter(pk=cert.pk).update(state=Certificate.State.FAILED, error=str(exc))
        log.warning("certificate issuance failed for %s: %s", hostname, exc)
        return
    if not Certificate.objects.filter(pk=cert.pk).exists():
        Certbot().delete(hostname)  # removed while it was being issued
        return
    Certificate.objects.filter(pk=cert.pk).update(
        state=Certificate.State.ISSUED, error="", issued_at=timezone.now(), expires_at=issued.expires_at
    )
    apply_edge()


def remove_certificate(hostname: str) -> None:
    from proxy import tasks
    from proxy.models import Certificate

    if Certificate.objects.filter(hostname=hostname).delete()[0]:
        tasks.delete_certificate_files.delay_on_commit(hostname)


def certificates_to_renew():
    from proxy.certificates import RENEW_WITHIN
    from proxy.models import Certificate

    now = timezone.now()
    due = Certificate.objects.filter(state=Certificate.State.ISSUED, expires_at__lt=now + RENEW_WITHIN)
    retry = Certificate.objects.filter(state=Certificate.State.FAILED, attempted_at__lt=now - timezone.timedelta(hours=1))
    return list(due.values_list("hostname", flat=True)) + list(retry.values_list("hostname", flat=True))
