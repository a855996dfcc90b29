"""Issuance failures are recorded for the customer, with certbot faked at our interface (its binary)."""
from __future__ import annotations

import pytest

from proxy.models import Certificate
from proxy.issuance import certificates_to_renew, issue_certificate
from proxy.services import request_certificate

pytestmark = pytest.mark.django_db


def test_a_failed_issuance_is_recorded_with_its_reason(tmp_path, settings):
    fake = tmp_path / "certbot"
    fake.write_text(
        "#!/bin/sh\n"
        "echo 'Saving debug log to /var/log/letsencrypt/letsencrypt.log' >&2\n"
        "echo 'Certbot failed to authenticate some domains (authenticator: webroot).' >&2\n"
        "echo '  Domain: shop.example.com' >&2\n"
        "echo '  Type:   connection' >&2\n"
        "echo '  Detail: 203.0.113.5: Fetching http://shop.example.com/.well-known/acme-challenge/x: Timeout' >&2\n"
        "exit 1\n"
    )
    fake.chmod(0o755)
    settings.CERTBOT_BINARY = str(fake)
    settings.ACME_DIRECTORY_URL = "https://acme.invalid/directory"
    Certificate.objects.create(hostname="shop.example.com", group="a" * 32)

    issue_certificate("shop.example.com")

    cert = Certificate.objects.get(hostname="shop.example.com")
    assert cert.state == "failed" and cert.attempted_at is not None
    assert "Timeout" in cert.error and "Domain: shop.example.com" in cert.error
    assert "Saving debug log" not in cert.error


@pytest.mark.parametrize("failures, wait_hours", [(1, 1), (2, 2), (3, 4), (4, 8), (8, 128), (9, 168), (40, 168)])
def test_a_failed_certificate_waits_twice_as_long_after_each_failure_up_to_a_week(failures, wait_hours):
    from datetime import timedelta

    from django.utils import timezone

    now = timezone.now()
    Certificate.objects.create(hostname="early.example.com", group="a" * 32, state="failed", failed_attempts=failures,
                               attempted_at=now - timedelta(hours=wait_hours) + timedelta(minutes=5))
    Certificate.objects.create(hostname="due.example.com", group="a" * 32, state="failed", failed_attempts=failures,
                               attempted_at=now - timedelta(hours=wait_hours) - timedelta(minutes=5))

    assert certificates_to_renew() == ["due.example.com"]


def test_failures_are_counted_and_a_new_request_starts_again(tmp_path, settings):
    fake = tmp_path / "certbot"
    fake.write_text("#!/bin/sh\necho 'Type: connection' >&2\nexit 1\n")
    fake.chmod(0o755)
    settings.CERTBOT_BINARY = str(fake)
    settings.ACME_DIRECTORY_URL = "https://acme.invalid/directory"
    Certificate.objects.create(hostname="shop.example.com", group="a" * 32)

    issue_certificate("shop.example.com")
    issue_certificate("shop.example.com")
    assert Certificate.objects.get().failed_attempts == 2

    request_certificate("shop.example.com", "a" * 32)
    assert Certificate.objects.get().failed_attempts == 0
