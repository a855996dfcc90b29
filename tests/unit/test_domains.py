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
