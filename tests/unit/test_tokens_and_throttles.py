"""API tokens (revocation, expiry, last use) and throttles (per token, per address, failed auth)."""
from __future__ import annotations

import base64
from datetime import timedelta
from types import SimpleNamespace

import pytest
from django.core.management import call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from rest_framework.test import APIClient

from accounts import throttling
from accounts.models import ApiToken
from accounts.services import create_organization, get_or_create_user, issue_token, token_for
from sites.services import create_site

pytestmark = pytest.mark.django_db


@pytest.fixture
def owner():
    org = create_organization("acme", "owner@example.com")
    create_site(org, "shop")
    create_organization("globex", "other@example.com")
    return get_or_create_user("owner@example.com")


def bearer(token: str, **extra) -> APIClient:
    client = APIClient(**extra)
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
    return client


def git_refs(client, token: str, **extra):
    basic = base64.b64encode(f"user:{token}".encode()).decode()
    return client.get("/git/shop.git/info/refs", {"service": "git-upload-pack"}, HTTP_AUTHORIZATION=f"Basic {basic}",
                      **extra)


# --- tokens --------------------------------------------------------------------------------------

def test_it_revokes_one_token_and_keeps_the_others(owner, client):
    kept, revoked = issue_token(owner, "ci"), issue_token(owner, "laptop")
    listed = bearer(kept).get("/api/v1/tokens/").json()
    assert {t["name"] for t in listed} == {"ci", "laptop"} and all("digest" not in t for t in listed)
    assert bearer(kept).delete(f"/api/v1/tokens/{revoked[:12]}/").status_code == 204

    assert bearer(revoked).get("/api/v1/sites/").status_code == 401
    assert git_refs(client, revoked).status_code == 401
    assert bearer(kept).get("/api/v1/sites/").status_code == 200
    assert git_refs(client, kept).status_code == 200
    assert bearer(kept).delete(f"/api/v1/tokens/{revoked[:12]}/").status_code == 404  # already revoked


def test_it_does_not_let_one_user_revoke_anothers_token(owner):
    other = issue_token(get_or_create_user("other@example.com"))
    assert bearer(issue_token(owner)).delete(f"/api/v1/tokens/{other[:12]}/").status_code == 404
    assert bearer(other).get("/api/v1/sites/").status_code == 200


def test_an_expired_token_is_refused_on_the_api_and_git(owner, client):
    token = issue_token(owner, expires_days=1)
    assert bearer(token).get("/api/v1/sites/").status_code == 200
    ApiToken.objects.filter(prefix=token[:12]).update(expires_at=timezone.now() - timedelta(seconds=1))
    assert bearer(token).get("/api/v1/sites/").status_code == 401
    assert git_refs(client, token).status_code == 401


def test_operators_issue_expiring_tokens_and_revoke_them(owner, capsys):
    call_command("create_token", "owner@example.com", "--expires-days", "30")
    token = capsys.readouterr().out.strip()
    stored = ApiToken.objects.get(prefix=token[:12])
    assert timedelta(days=29) < stored.expires_at - timezone.now() <= timedelta(days=30)
    call_command("revoke_token", token[:12])
    assert token_for(token) is None
    with pytest.raises(Exception, match="1 to 3650 days"):
        call_command("create_token", "owner@example.com", "--expires-days", "0")


def test_last_used_is_written_at_most_once_a_minute(owner):
    token = issue_token(owner)
    token_for(token)
    first = ApiToken.objects.get(prefix=token[:12]).last_used_at
    assert first is not None
    with CaptureQueriesContext(connection) as queries:
        token_for(token)
    assert not [q for q in queries if q["sql"].startswith("UPDATE")]
    assert ApiToken.objects.get(prefix=token[:12]).last_used_at == first
    ApiToken.objects.filter(prefix=token[:12]).update(last_used_at=first - timedelta(seconds=61))
    token_for(token)
    assert ApiToken.objects.get(prefix=token[:12]).last_used_at > first - timedelta(seconds=1)


# --- throttles -----------------------------------------------------------------------------------

def test_failed_authentications_per_address_get_429_and_a_good_token_still_works(owner, settings, client):
    settings.AUTH_FAILURES_PER_ADDRESS = "5/min"
    statuses = [bearer(f"hst_guess{n}").get("/api/v1/sites/").status_code for n in range(8)]
    assert statuses == [401] * 5 + [429] * 3
    # Spoofed X-Forwarded-For headers do not make new addresses.
    assert bearer("hst_guess", HTTP_X_FORWARDED_FOR="203.0.113.9").get("/api/v1/sites/").status_code == 429
    assert git_refs(client, "hst_guess").status_code == 429
    other = issue_token(get_or_create_user("other@example.com"))
    assert bearer(other).get("/api/v1/sites/").status_code == 200


def test_it_counts_failures_on_both_sides_of_a_minute_boundary_in_one_window(owner, settings, monkeypatch):
    # CI once sent the first two guesses at 20:41:59.99 and the rest after 20:42:00: a window fixed
    # to the clock counted them in two windows and let a sixth guess through.
    settings.AUTH_FAILURES_PER_ADDRESS = "5/min"
    clock = SimpleNamespace(now=0.0)
    monkeypatch.setattr(throttling, "time", SimpleNamespace(time=lambda: clock.now))
    statuses = []
    for n, clock.now in enumerate([119.98, 119.99] + [120.0 + step / 100 for step in range(6)]):
        statuses.append(bearer(f"hst_guess{n}").get("/api/v1/sites/"))
    assert [response.status_code for response in statuses] == [401] * 5 + [429] * 3
    assert statuses[-1]["Retry-After"] == "60"  # the window opened at the first guess, 119.98


def test_git_failures_count_towards_the_same_limit(owner, settings, client):
    settings.AUTH_FAILURES_PER_ADDRESS = "3/min"
    statuses = [git_refs(client, f"hst_guess{n}").status_code for n in range(5)]
    assert statuses == [401] * 3 + [429] * 2
    assert client.get("/git/shop.git/info/refs", {"service": "git-upload-pack"}).status_code == 401  # the challenge


def test_api_calls_are_throttled_per_token(owner, settings):
    settings.API_RATE_PER_TOKEN = "4/min"
    busy, other = issue_token(owner), issue_token(owner)
    assert [bearer(busy).get("/api/v1/sites/").status_code for _ in range(6)] == [200] * 4 + [429] * 2
    assert bearer(other).get("/api/v1/sites/").status_code == 200


def test_api_calls_are_throttled_per_address(owner, settings):
    settings.API_RATE_PER_ADDRESS = "4/min"
    statuses = [bearer(issue_token(owner)).get("/api/v1/sites/").status_code for _ in range(5)]
    assert statuses == [200] * 4 + [429]
    elsewhere = APIClient(REMOTE_ADDR="198.51.100.7")
    elsewhere.credentials(HTTP_AUTHORIZATION=f"Bearer {issue_token(owner)}")
    assert elsewhere.get("/api/v1/sites/").status_code == 200
