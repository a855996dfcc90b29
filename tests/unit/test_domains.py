from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError

from accounts.services import create_organization
from proxy.models import Route, VerificationToken
from sites.domains import add_domain, normalise_hostname, remove_domain, verify_domain
from sites.services import create_site

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("raw, expected", [
    ("WWW.Example.COM.", "www.example.com"),
    ("bücher.example", "xn--bcher-kva.example"),
    ("example.com", "example.com"),  # apex domains are allowed
])
def test_it_normalises_hostnames(raw, expected):
    assert normalise_hostname(raw) == expected


@pytest.mark.parametrize("raw, message", [
    ("*.example.com", "Wildcard"), ("shop.apps.localhost", "belong to the platform"), ("localhost", "not a valid"), ("x.localhost", "belong"),
    ("192.0.2.1", "IP address"), ("example", "not a valid"), ("exa mple.com", "not a valid"),
    ("a.com;", "not a valid"), ("a.com{", "not a valid"), ("$x.com", "not a valid"), ("", "Give a domain"),
])
def test_it_explains_refused_hostnames(raw, message):
    with pytest.raises(ValidationError, match=message.replace("*", r"\*")):
        normalise_hostname(raw)


def test_it_refuses_the_portals_hostname_even_outside_the_platforms_domain(settings):
    settings.PORTAL_HOSTNAME = "panel.hosting-company.example"
    with pytest.raises(ValidationError, match="the platform's portal"):
        normalise_hostname("Panel.Hosting-Company.example")


@pytest.fixture
def site(settings, tmp_path):
    settings.EDGE_DIR = tmp_path / "edge"  # no edge runs: changes go to its routes file only
    return create_site(create_organization("acme", "owner@example.com"), "shop")


def test_an_unverified_domain_is_not_routed_and_verification_says_why(site, settings):
    settings.DOMAIN_VERIFICATION_ADDRESS = "127.0.0.1:1"  # nothing answers there
    domain = add_domain(site, "www.example.com")
    assert VerificationToken.objects.filter(hostname="www.example.com", token=domain.verification_token).exists()
    assert not Route.objects.filter(hostname="www.example.com").exists()
    with pytest.raises(ValidationError, match="not verified yet"):
        verify_domain(domain)
    remove_domain(domain)
    assert not VerificationToken.objects.exists()


def test_the_default_domain_stays(site):
    with pytest.raises(ValidationError, match="cannot be removed"):
        remove_domain(site.domains.get(is_default=True))


@pytest.mark.parametrize("hostname, registrable", [
    ("www.shop.example.co.uk", "example.co.uk"), ("example.com", "example.com"), ("a.b.example.com", "example.com"),
    ("alice.github.io", "alice.github.io"),  # a public suffix of the private section: each user's own
])
def test_it_knows_registrable_domains_from_the_public_suffix_list(hostname, registrable):
    from sites.domains import registrable_domain

    assert registrable_domain(hostname) == registrable


@pytest.fixture
def http_and_dns(monkeypatch, settings, tmp_path):
    """Both proofs faked at our own interface: the HTTP token always shows, the TXT record as set."""
    from sites import domains

    settings.EDGE_DIR = tmp_path / "edge"
    dns = {"ok": False}
    monkeypatch.setattr(domains, "_http_matches", lambda domain: True)
    monkeypatch.setattr(domains, "_txt_matches", lambda domain: dns["ok"])
    return dns


def test_http_proof_is_refused_next_to_another_organizations_verified_name(http_and_dns):
    victim = create_site(create_organization("victim", "v@example.com"), "victim")
    attacker = create_site(create_organization("attacker", "a@example.com"), "attacker")
    verify_domain(add_domain(victim, "shop.example.co.uk"))

    claim = add_domain(attacker, "www.example.co.uk")
    with pytest.raises(ValidationError, match="DNS TXT record only"):
        verify_domain(claim)
    http_and_dns["ok"] = True  # the owner of the zone can still prove it
    assert verify_domain(claim).verified_at is not None


def test_http_proof_still_works_for_the_same_organization_and_for_other_registrable_domains(http_and_dns):
    org = create_organization("acme", "o@example.com")
    site = create_site(org, "shop")
    other = create_site(create_organization("globex", "g@example.com"), "other")
    verify_domain(add_domain(site, "alice.github.io"))

    assert verify_domain(add_domain(create_site(org, "blog"), "blog.alice.github.io")).verified_at is not None
    assert verify_domain(add_domain(other, "bob.github.io")).verified_at is not None


def test_pending_claims_expire_after_seven_days_with_their_tokens(site):
    from datetime import timedelta

    from django.utils import timezone

    from sites.domains import expire_pending_domains
    from sites.models import Domain

    old, fresh = add_domain(site, "old.example.com"), add_domain(site, "fresh.example.com")
    Domain.objects.filter(pk=old.pk).update(created_at=timezone.now() - timedelta(days=7, minutes=1))
    Domain.objects.filter(pk=fresh.pk).update(created_at=timezone.now() - timedelta(days=6))

    assert expire_pending_domains() == 1

    assert sorted(site.domains.values_list("hostname", flat=True)) == ["fresh.example.com", "shop.apps.localhost"]
    assert list(VerificationToken.objects.values_list("hostname", flat=True)) == ["fresh.example.com"]
