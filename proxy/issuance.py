"""Issuing certificates now (run by proxy.tasks) and choosing which to try again."""
from __future__ import annotations

import logging

from django.db.models import F
from django.utils import timezone

from proxy.applying import apply_edge
from proxy.certificates import RENEW_WITHIN, Certbot, IssuanceFailed
from proxy.models import Certificate

log = logging.getLogger(__name__)

FIRST_RETRY = timezone.timedelta(hours=1)
LONGEST_RETRY = timezone.timedelta(days=7)


def issue_certificate(hostname: str) -> None:
    """Run the issuance now; a failure is recorded on the certificate for the customer and
    touches no other site."""
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


def retry_delay(failed_attempts: int) -> timezone.timedelta:
    """How long a failed certificate waits before its next try: 1 h, 2 h, 4 h ... at most a week.

    A name that does not point at the platform fails every time; trying it hourly forever would
    spend the ACME server's rate limit (and be refused by it) for nothing."""
    if failed_attempts <= 1:
        return FIRST_RETRY
    return min(FIRST_RETRY * 2 ** min(failed_attempts - 1, 16), LONGEST_RETRY)


def certificates_to_renew() -> list[str]:
    """Issued certificates within 30 days of expiry, and failed ones whose backoff has passed."""
    now = timezone.now()
    due = Certificate.objects.filter(state=Certificate.State.ISSUED, expires_at__lt=now + RENEW_WITHIN)
    failed = Certificate.objects.filter(state=Certificate.State.FAILED)
    retry = [c.hostname for c in failed if c.attempted_at is None or c.attempted_at <= now - retry_delay(c.failed_attempts)]
    return list(due.values_list("hostname", flat=True)) + retry
